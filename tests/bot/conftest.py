"""Fixtures for tests that drive the real aiogram client against the fake Bot API server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.config import Settings, load_settings
from tests.fakes.telegram import FakeTelegram


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


@pytest.fixture
def settings(fake: FakeTelegram, database_url: str, sessionmaker, tmp_path: Path) -> Settings:
    """The bot pointed at the fake server and the test database, with an empty schema."""
    return load_settings(
        None,
        database={"url": database_url},
        telegram={"token": fake.token, "api_base": fake.base_url},
        media={"dir": tmp_path / "media"},
        limits={"flood_messages": 10_000},  # tests type faster than people
    )
