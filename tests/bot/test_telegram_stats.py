"""/statistik and /ekspor over Telegram: charts arrive as photos, exports as documents,
through the real aiogram client and the fake Bot API server (which checks every call)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.config import Settings, load_settings
from db.media_store import MediaStore
from tests.bot.telegram_driver import Person, running_bot, texts
from tests.fakes.telegram import FakeTelegram
from tests.support import FakeClock
from tests.world import NOW, build_world

ADMIN = 1


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
async def fake(clock: FakeClock) -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(clock=lambda: clock.now.timestamp()) as server:
        yield server


@pytest.fixture
def settings(fake: FakeTelegram, database_url: str, sessionmaker, tmp_path: Path) -> Settings:
    return load_settings(
        None,
        database={"url": database_url},
        telegram={"token": fake.token, "api_base": fake.base_url, "admin_ids": [ADMIN]},
        media={"dir": tmp_path / "media"},
        limits={"flood_messages": 10_000},
    )


async def test_admin_gets_charts_as_photos_and_exports_as_documents(
    fake: FakeTelegram, settings: Settings, sessionmaker, clock: FakeClock
) -> None:
    await build_world(sessionmaker, MediaStore(settings.media.dir))
    async with running_bot(settings, fake, clock=clock) as (_runtime, tracker):
        admin = Person(fake, tracker, ADMIN, language="en")
        calls = await admin.say("/statistik")
        [album] = [c for c in calls if c.method == "sendMediaGroup"]
        assert len(album.files) == 3  # the tile map, the heat map, the decisions
        assert all(data[:8] == b"\x89PNG\r\n\x1a\n" for data in album.files.values())
        assert "7 producers registered" in texts(calls)

        before = len(fake.calls)
        calls = await admin.say("/ekspor produk")
        # Answered at once; the files follow from the background job.
        assert "Preparing the" in texts(calls)
        await _runtime.app.exports.drain()
        calls = fake.calls[before:]
        documents = [c for c in calls if c.method == "sendDocument"]
        names = sorted(name for c in documents for name in c.filenames.values())
        assert [n.rsplit(".", 1)[1] for n in names] == ["csv", "xlsx"]

        someone = Person(fake, tracker, 2, language="en")
        calls = await someone.say("/statistik")
        assert "for admins only" in texts(calls)
        assert not [c for c in calls if c.method in ("sendMediaGroup", "sendPhoto")]
