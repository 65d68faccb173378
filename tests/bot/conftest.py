"""Fixtures for tests that drive the real aiogram client against the fake Bot API server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings, load_settings
from tests.fakes.telegram import FakeTelegram
from tests.support import FakeClock


@pytest.fixture
async def fake(clock: FakeClock) -> AsyncIterator[FakeTelegram]:
    """The fake Bot API on the tests' clock (call times, Telegram's 48-hour delete rule)."""
    async with FakeTelegram(clock=lambda: clock.now.timestamp()) as server:
        yield server


def bot_settings(
    fake: FakeTelegram, database_url: str, tmp_path: Path, **sections: dict[str, Any]
) -> Settings:
    """The bot pointed at the fake server and the test database; `sections` add to config."""
    telegram = {"token": fake.token, "api_base": fake.base_url, **sections.pop("telegram", {})}
    return load_settings(
        None,
        database={"url": database_url},
        telegram=telegram,
        media={"dir": tmp_path / "media"},
        limits={"flood_messages": 10_000},  # tests type faster than people
        **sections,
    )


@pytest.fixture
def settings(fake: FakeTelegram, database_url: str, sessionmaker, tmp_path: Path) -> Settings:
    """The bot pointed at the fake server and the test database, with an empty schema."""
    return bot_settings(fake, database_url, tmp_path)
