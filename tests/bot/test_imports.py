"""`kurasi run` imports a channel's library only when that channel is configured: the
console (the default) needs neither aiogram (~165 MB of pydantic models) nor pywa; Alembic
is imported only when the database is behind."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HEAVY = ("aiogram", "pywa", "pywa_async", "jinja2", "matplotlib", "openpyxl")
MIGRATIONS = "alembic"  # needed only when the database is behind

# Build the runtime as `kurasi run` does, then list which heavy libraries got imported.
PROBE = """
import asyncio, json, sys
from bot.app import build
from bot.config import load_settings

async def main():
    settings = load_settings(None, **json.loads(sys.argv[1]))
    runtime = await build(settings)
    await runtime.close()
    print(json.dumps(sorted(m for m in {heavy} if m in sys.modules)))

asyncio.run(main())
"""


def loaded(tmp_path: Path, **settings: object) -> list[str]:
    settings = {
        "database": {"url": f"sqlite+aiosqlite:///{tmp_path / 'k.db'}"},
        "media": {"dir": str(tmp_path / "media")},
        **settings,
    }
    done = subprocess.run(  # noqa: S603 - our own interpreter and probe
        [sys.executable, "-c", PROBE.format(heavy=(*HEAVY, MIGRATIONS)), json.dumps(settings)],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "KURASI_CONFIG": ""},
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def chat_libraries(tmp_path: Path, **settings: object) -> list[str]:
    return [m for m in loaded(tmp_path, **settings) if m != MIGRATIONS]


def test_the_console_imports_no_chat_library(tmp_path: Path) -> None:
    assert chat_libraries(tmp_path) == []


def test_alembic_is_imported_only_to_migrate(tmp_path: Path) -> None:
    assert MIGRATIONS in loaded(tmp_path)  # a new database: migrated
    assert MIGRATIONS not in loaded(tmp_path)  # the same one again: already at the head


def test_telegram_imports_aiogram_only(tmp_path: Path) -> None:
    telegram = {"token": "123456:" + "A" * 35, "api_base": "http://127.0.0.1:9"}
    assert chat_libraries(tmp_path, telegram=telegram) == ["aiogram"]
