"""`kurasi run` migrates on start; workers starting together must not trip over each other."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from db.engine import make_engine
from db.migrate import current_revision, head_revision, upgrade
from tests.support import create_database, drop_database

WORKERS = 3


async def start_together(url: str, tmp_path: Path) -> list[tuple[int, str]]:
    """Three `kurasi run` processes on the terminal console (stdin closed: each migrates,
    starts, reads end of input and exits)."""
    procs = []
    for n in range(WORKERS):
        config = tmp_path / f"worker{n}.toml"
        config.write_text(
            f'[database]\nurl = "{url}"\n[media]\ndir = "{tmp_path / "media"}"\n'
            '[log]\nlevel = "WARNING"\n'
        )
        procs.append(
            await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", "--config", str(config),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
                env={**os.environ, "KURASI_CONFIG": ""},
            )
        )  # fmt: skip
    results = []
    for proc in procs:
        _out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
        results.append((proc.returncode or 0, err.decode(errors="replace")))
    return results


@pytest.mark.parametrize("start_from", [None, "0004"], ids=["empty", "outdated"])
async def test_three_workers_starting_at_once_migrate_once(
    server_url: str | None, tmp_path: Path, start_from: str | None
) -> None:
    if server_url is None:
        pytest.skip("the advisory lock is PostgreSQL's (SQLite has one writer anyway)")
    url = await create_database(server_url)
    try:
        if start_from is not None:
            engine = make_engine(url)
            try:
                await upgrade(engine, start_from)
            finally:
                await engine.dispose()
        results = await start_together(url, tmp_path)
        for code, err in results:
            assert code == 0 and "Traceback" not in err, err
        engine = make_engine(url)
        try:
            assert await current_revision(engine) == head_revision()
        finally:
            await engine.dispose()
    finally:
        await drop_database(server_url, url)
