"""Run `kurasi run` as a real subprocess against the fake servers, as an operator would."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import ProcessedUpdate

KURASI = [sys.executable, "-m", "bot"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_config(path: Path, sections: dict[str, dict[str, Any]]) -> Path:
    lines: list[str] = []
    for name, values in sections.items():
        lines.append(f"[{name}]")
        lines += [f"{key} = {_toml(value)}" for key, value in values.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def webhook_section(fake: Any, secret: str) -> dict[str, Any]:
    """[telegram] for webhook mode against the fake Bot API server."""
    return {
        "token": fake.token,
        "api_base": fake.base_url,
        "mode": "webhook",
        "webhook_url": "https://kurasi.example/telegram/webhook",
        "webhook_secret": secret,
    }


class BotProcess:
    """One `kurasi run`; its stderr goes to a file the test reads afterwards."""

    def __init__(self, config: Path, log: Path, *, stdin_closed: bool = True) -> None:
        self.config = config
        self.log = log
        self.stdin_closed = stdin_closed
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("KURASI_")}
        env["PYTHONUNBUFFERED"] = "1"
        with self.log.open("ab") as err:
            self.proc = await asyncio.create_subprocess_exec(
                *KURASI,
                "run",
                "--config",
                str(self.config),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=err,
                stderr=err,
                env=env,
                cwd=str(self.config.parent),
            )

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def kill(self) -> None:
        self.signal(signal.SIGKILL)

    async def wait(self, within: float = 30) -> int:
        assert self.proc is not None
        return await asyncio.wait_for(self.proc.wait(), within)

    async def terminate(self, within: float = 30) -> int:
        """SIGTERM, as systemd stops a service; the exit code (killed if it hangs)."""
        self.signal(signal.SIGTERM)
        try:
            return await self.wait(within)
        finally:
            await self.stop()

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()

    @property
    def stderr(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


async def processed(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(ProcessedUpdate)) or 0)


async def wait_until(check: Any, *, within: float = 60, every: float = 0.1) -> None:
    """Poll `check` (the database, another process's doing) until it holds."""
    async with asyncio.timeout(within):
        while not await check():  # noqa: ASYNC110 (state in another process)
            await asyncio.sleep(every)
