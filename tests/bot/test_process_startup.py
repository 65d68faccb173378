"""A start that cannot work says why in one line (password masked) and exits with 2."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from db.engine import is_sqlite
from tests.bot.processes import free_port, write_config
from tests.fakes.telegram import FakeTelegram

PASSWORD = "Never-Print-Me-77"


async def kurasi(config: Path, *args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        "--config",
        str(config),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=str(config.parent),
    )
    out, err = await asyncio.wait_for(proc.communicate(), 90)
    assert proc.returncode is not None
    return proc.returncode, (out + err).decode()


def _config(tmp_path: Path, url: str, **telegram: str) -> Path:
    sections = {
        "database": {"url": url},
        "http": {"port": free_port()},
        "media": {"dir": str(tmp_path / "media")},
    }
    if telegram:
        sections["telegram"] = telegram
    return write_config(tmp_path / "config.toml", sections)


def _one_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output[-3000:]
    assert "Traceback" not in output and PASSWORD not in output
    return lines[0]


async def test_unreachable_database_is_one_line_with_the_password_masked(tmp_path: Path) -> None:
    url = f"postgresql+asyncpg://kurasi:{PASSWORD}@127.0.0.1:{free_port()}/kurasi"
    for args in (("run",), ("fairs", "list")):
        code, output = await kurasi(_config(tmp_path, url), *args)
        line = _one_line(output)
        assert code == 2
        assert "postgresql+asyncpg://kurasi:***@127.0.0.1:" in line and "unreachable" in line


async def test_missing_database_is_one_line(database_url: str, tmp_path: Path) -> None:
    if is_sqlite(database_url):
        url = f"sqlite+aiosqlite:///{tmp_path}/no/such/dir/kurasi.db"
    else:
        url = make_url(database_url).set(database="kurasi_no_such_db", password=PASSWORD)
        url = url.render_as_string(hide_password=False)
    code, output = await kurasi(_config(tmp_path, url), "fairs", "list")
    line = _one_line(output)
    assert (code == 2 and "kurasi_no_such_db" in line) or "unable to open" in line


async def test_unreachable_telegram_is_one_line(database_url: str, tmp_path: Path) -> None:
    fake = FakeTelegram()
    token = fake.token
    config = _config(
        tmp_path, database_url, token=token, api_base=f"http://127.0.0.1:{free_port()}"
    )
    code, output = await kurasi(config, "run")
    line = _one_line(output)
    assert code == 2 and line.startswith("telegram http://127.0.0.1:") and "unreachable" in line
    assert token not in output


async def test_refused_token_is_one_line(database_url: str, tmp_path: Path) -> None:
    async with FakeTelegram(token="123456:AAFakeTokenTheServerExpectsXXXXXXXX") as fake:
        other = "654321:AAFakeTokenTheServerRefusesXXXXXXXX"
        config = _config(tmp_path, database_url, token=other, api_base=fake.base_url)
        code, output = await kurasi(config, "run")
    assert code == 2 and "token was refused" in _one_line(output)
    assert other not in output


# Loaded by the child through PYTHONPATH: aiosqlite's worker thread stops only once the event
# loop has closed (or after a second), the order a busy machine gives 1 time in 3.
_SLOW_AIOSQLITE = """
import asyncio
import threading
import time

import aiosqlite.core

closed = threading.Event()
_close = asyncio.BaseEventLoop.close


def close(self):
    _close(self)
    closed.set()
    time.sleep(0.3)  # the thread's answer lands now, before the interpreter exits


asyncio.BaseEventLoop.close = close
_debug = aiosqlite.core.LOG.debug


def _late(msg, *args, **kwargs):
    if args and getattr(args[0], "__name__", "") == "close_and_stop":
        closed.wait(1.0)
    _debug(msg, *args, **kwargs)


aiosqlite.core.LOG.debug = _late
"""


async def test_missing_sqlite_folder_is_one_line_when_the_driver_thread_is_slow(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The one line and nothing after it: no "RuntimeError: Event loop is closed" from
    aiosqlite's thread, whether the command is `kurasi run` or a CLI command."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(_SLOW_AIOSQLITE, encoding="utf-8")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(site), *sys.path]))
    url = f"sqlite+aiosqlite:///{tmp_path}/no/such/dir/kurasi.db"
    for args in (("fairs", "list"), ("run",)):
        code, output = await kurasi(_config(tmp_path, url), *args)
        assert code == 2 and "unable to open" in _one_line(output), args
        assert "Event loop is closed" not in output
