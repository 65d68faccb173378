"""1 vs 2 webhook workers on one PostgreSQL: updates/s and the ratio.

    .venv/bin/python -m bench.workers [--users 60] [--url postgresql+asyncpg://...]

Each run starts N `kurasi run` processes in webhook mode on one fresh database (they migrate
together, under the advisory lock), all talking to the fake Bot API here. This script plays
the reverse proxy: it posts each update, with the secret header, to the workers in turn.
--users people go through the same 7-step script as bench/updates, waiting for each answer.
It also checks each update was answered once (no double answers across workers).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp

from bench.updates import TOKEN, BenchTelegram, person

SECRET = "bench-webhook-secret"  # noqa: S105 - for the fake


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def run(workers: int, url: str, users: int, base: Path) -> tuple[float, int, int]:
    """(updates/s, updates, answers) for `workers` processes on a fresh database."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from db.engine import make_engine

    database = f"kurasi_bench_{uuid.uuid4().hex[:8]}"
    admin = make_engine(url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{database}"'))
    db_url = make_url(url).set(database=database).render_as_string(hide_password=False)
    procs = []
    try:
        async with BenchTelegram() as fake, aiohttp.ClientSession() as http:
            ports = [free_port() for _ in range(workers)]
            for n, port in enumerate(ports):
                config = base / f"w{workers}-{n}.toml"
                config.write_text(
                    f'[database]\nurl = "{db_url}"\n'
                    f'[telegram]\ntoken = "{TOKEN}"\napi_base = "{fake.base_url}"\n'
                    'mode = "webhook"\nwebhook_url = "https://kurasi.example/telegram/webhook"\n'
                    f'webhook_secret = "{SECRET}"\n'
                    f'[http]\nport = {port}\n[media]\ndir = "{base / "media"}"\n'
                    '[limits]\nflood_messages = 100000\n[log]\nlevel = "WARNING"\n'
                )
                procs.append(
                    await asyncio.create_subprocess_exec(
                        sys.executable, "-m", "bot", "run", "--config", str(config),
                        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
                        env={**os.environ, "KURASI_CONFIG": ""},
                    )
                )  # fmt: skip
            await fake.wait_for("setWebhook", count=workers, timeout=180)
            await asyncio.sleep(1.0)
            turn = itertools.cycle(ports)
            headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}

            async def deliver(update: dict[str, Any]) -> None:
                endpoint = f"http://127.0.0.1:{next(turn)}/telegram/webhook"
                async with http.post(endpoint, json=update, headers=headers) as response:
                    response.raise_for_status()

            fake.deliver = deliver
            started = time.perf_counter()
            counts = await asyncio.gather(*(person(fake, n) for n in range(users)))
            seconds = time.perf_counter() - started
            answers = len(fake.sent("sendMessage")) + len(fake.sent("editMessageText"))
            return sum(counts) / seconds, sum(counts), answers
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            await proc.wait()
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        await admin.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=60)
    parser.add_argument("--url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        one = await run(1, args.url, args.users, Path(tmp))
        two = await run(2, args.url, args.users, Path(tmp))
    print(
        f"\n{args.users} people x 7 updates over webhooks. Machine: {os.cpu_count()} cores, shared."
    )
    print(f"  1 worker : {one[0]:6.0f} updates/s ({one[1]} updates, {one[2]} answers)")
    print(f"  2 workers: {two[0]:6.0f} updates/s ({two[1]} updates, {two[2]} answers)")
    print(f"  ratio    : {two[0] / one[0]:.2f}x")


if __name__ == "__main__":
    asyncio.run(main())
