"""Review chats over Telegram: paced card posting into a group, and curators' buttons there."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.config import Settings, load_settings
from bot.sender import MessageSender
from db.media_store import MediaStore
from tests.bot.telegram_driver import Tracker, running_bot
from tests.factories import submitted_product
from tests.fakes.telegram import FakeTelegram
from tests.support import FakeClock

GROUP = -100777
CURATOR = 8800


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def fake(clock: FakeClock) -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(clock=lambda: clock.now.timestamp()) as server:
        yield server


@pytest.fixture
def settings(fake: FakeTelegram, database_url: str, sessionmaker, tmp_path: Path) -> Settings:
    return load_settings(
        None,
        database={"url": database_url},
        telegram={"token": fake.token, "api_base": fake.base_url, "admin_ids": [1]},
        media={"dir": tmp_path / "media"},
        limits={"flood_messages": 10_000},
        review={"chats": [{"chat_id": GROUP, "sectors": []}], "group_rate_per_minute": 20},
    )


async def test_thirty_submissions_reach_the_group_paced_and_in_order(
    fake: FakeTelegram, settings: Settings, sessionmaker, clock: FakeClock
) -> None:
    store = MediaStore(settings.media.dir)
    products = [
        await submitted_product(
            sessionmaker, now=clock.now, store=store, chat_id=str(GROUP), channel="telegram"
        )
        for _ in range(30)
    ]
    async with running_bot(settings, fake, clock=clock) as (runtime, _tracker):
        slept: list[float] = []

        async def fake_sleep(seconds: float) -> None:
            slept.append(seconds)
            clock.advance(seconds=seconds)

        poster = MessageSender(runtime.app, rate_per_minute=20, clock=clock, sleep=fake_sleep)
        assert await poster.run_until_idle() == 30

    into_group = [c for c in fake.sent(chat_id=GROUP) if c.method in ("sendMessage", "sendPhoto")]
    assert len(into_group) == 60  # each card: its photo, then the card itself
    times = sorted(c.at for c in into_group)
    for i, start in enumerate(times):
        in_window = [t for t in times[i:] if t < start + 60]
        assert len(in_window) <= 20, f"{len(in_window)} messages within a minute"
    cards = [c.params["text"] for c in into_group if c.method == "sendMessage"]
    ids = [int(re.search(r"#(\d+)", text).group(1)) for text in cards]
    assert ids == [p.id for p in products]  # every card, in submission order
    assert sum(slept) >= 120  # 60 messages at 20 a minute take at least two more minutes


async def test_curator_claims_in_the_group_and_a_stranger_is_refused(
    fake: FakeTelegram, settings: Settings, sessionmaker, clock: FakeClock
) -> None:
    store = MediaStore(settings.media.dir)
    product = await submitted_product(
        sessionmaker, now=clock.now, store=store, chat_id=str(GROUP), channel="telegram"
    )
    async with running_bot(settings, fake, clock=clock) as (runtime, tracker):
        await MessageSender(runtime.app).run_until_idle()
        card = fake.sent("sendMessage", chat_id=GROUP)[-1]
        claim = card.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        message_id = card.result["message_id"]

        async def press(user_id: int) -> None:
            update_id = fake.push_update(
                fake.callback(
                    user_id, claim, message_id=message_id, chat_id=GROUP, chat_type="supergroup"
                )
            )
            await Tracker.wait(tracker, update_id)

        await press(4321)  # not a curator
        refused = fake.sent("answerCallbackQuery")[-1]
        assert refused.params.get("show_alert") and "kurator" in refused.params["text"].lower()
        assert not fake.sent("editMessageText")

        admin_add = fake.push_update(
            fake.message(1, f"/kurator_tambah {CURATOR}", chat_id=GROUP, chat_type="supergroup")
        )
        await Tracker.wait(tracker, admin_add)
        await press(CURATOR)
        edited = fake.sent("editMessageText", chat_id=GROUP)[-1]
        assert int(edited.params["message_id"]) == message_id
        keyboard = edited.params["reply_markup"]["inline_keyboard"]
        # Seven criteria, the assist's one-tap suggestions, the decisions, release.
        assert len(keyboard) == 10
        assert keyboard[7][0]["text"].startswith("✨ Legal")
    async with sessionmaker() as session:
        from db.models import Product

        assert (await session.get(Product, product.id)).status == "in_review"
