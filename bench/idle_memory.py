"""Idle memory of `kurasi run` by what it serves: prints RSS a few seconds after start.

    .venv/bin/python -m bench.idle_memory

Each case is its own `kurasi run` on an SQLite file migrated beforehand (`kurasi db upgrade`,
as on any restart): the terminal console (stdin held open), Telegram long polling against
the fake Bot API on 127.0.0.1, and Telegram with WhatsApp configured; the bare aiogram echo
bot (bench/echo.py) for comparison. A chat library is imported only when its channel is
configured, so the console carries neither.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path

from bench.updates import TOKEN, BenchTelegram, proc_stats

SETTLE = 3.0  # seconds after the first getUpdates (or start, for the console)


def config(base: Path, api: str, *, telegram: bool, whatsapp: bool) -> Path:
    text = (
        f'[database]\nurl = "sqlite+aiosqlite:///{base / "k.db"}"\n'
        f'[media]\ndir = "{base / "media"}"\n[http]\nport = 0\n[log]\nlevel = "WARNING"\n'
    )
    if telegram:
        text += f'[telegram]\ntoken = "{TOKEN}"\napi_base = "{api}"\nmode = "polling"\n'
    if whatsapp:
        text += (
            '[whatsapp]\nphone_number_id = "100200300"\ntoken = "wa-token"\n'
            'app_secret = "wa-secret"\nverify_token = "wa-verify"\n'
            'graph_api_base = "http://127.0.0.1:9"\n'
        )
    path = base / "config.toml"
    path.write_text(text)
    return path


async def idle_rss(command: list[str], fake: BenchTelegram | None) -> float:
    proc = await asyncio.create_subprocess_exec(
        *command,
        stdin=asyncio.subprocess.PIPE,  # held open: the console waits for input
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        env={**os.environ, "KURASI_CONFIG": ""},
    )
    try:
        if fake is not None:
            await fake.wait_for("getUpdates", timeout=120)
        await asyncio.sleep(SETTLE)
        return proc_stats(proc.pid)[1]
    finally:
        proc.terminate()
        await proc.wait()


async def main() -> None:
    kurasi = [sys.executable, "-m", "bot", "run", "--config"]
    rows = []
    for name, telegram, whatsapp in (
        ("kurasi run: console", False, False),
        ("kurasi run: telegram", True, False),
        ("kurasi run: telegram + whatsapp", True, True),
    ):
        with tempfile.TemporaryDirectory() as tmp:
            async with BenchTelegram() as fake:
                path = config(Path(tmp), fake.base_url, telegram=telegram, whatsapp=whatsapp)
                # A restart, as nearly every start is: the database is migrated already.
                migrate = [sys.executable, "-m", "bot", "db", "upgrade", "--config", str(path)]
                done = await asyncio.create_subprocess_exec(
                    *migrate,
                    stdout=asyncio.subprocess.DEVNULL,
                    env={**os.environ, "KURASI_CONFIG": ""},
                )
                await done.wait()
                watch = fake if telegram else None
                rows.append((name, await idle_rss([*kurasi, str(path)], watch)))
    async with BenchTelegram() as fake:
        echo = [sys.executable, "-m", "bench.echo", TOKEN, fake.base_url]
        rows.append(("bare aiogram echo", await idle_rss(echo, fake)))
    print(f"\n{'':34} {'idle RSS':>9}")
    for name, rss in rows:
        print(f"{name:34} {rss:8.0f}M")


if __name__ == "__main__":
    asyncio.run(main())
