"""/hapusdata reaches the review chats: the producer's card and photos leave the group
(Telegram deleteMessage), or, once Telegram keeps them (over 48 hours), say they were erased.
End to end through aiogram, the durable outbox and the fake Bot API."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.config import Settings
from bot.scheduler import release_stale_claims
from bot.sender import MessageSender
from db.media_store import MediaStore
from db.models import OutboxItem, Product
from tests.bot.conftest import bot_settings
from tests.bot.telegram_driver import Person, Tracker, running_bot
from tests.factories import submitted_product
from tests.fakes.telegram import FakeTelegram
from tests.support import FakeClock

GROUP = -100779
PRODUCER = 5550077
CURATOR = 8800
NOTICE = "dihapus atas permintaan produsen"


@pytest.fixture
def settings(fake: FakeTelegram, database_url: str, sessionmaker, tmp_path: Path) -> Settings:
    return bot_settings(fake, database_url, tmp_path, review={"chats": [{"chat_id": GROUP}]})


async def post_cards(settings: Settings, sessionmaker, clock: FakeClock) -> list[Product]:
    store = MediaStore(settings.media.dir)
    common = {"now": clock.now, "store": store, "chat_id": str(GROUP), "channel": "telegram"}
    return [
        await submitted_product(sessionmaker, owner=str(PRODUCER), photos=2, **common),
        await submitted_product(sessionmaker, owner="5550078", photos=1, **common),
    ]


def group_messages(fake: FakeTelegram) -> dict[int, str]:
    """What the group shows now: message id -> its text or caption."""
    shown = {}
    for call in fake.sent(chat_id=GROUP):
        results = call.result if isinstance(call.result, list) else [call.result]
        for result in results:
            if isinstance(result, dict) and "message_id" in result:
                message = fake.message_in(GROUP, result["message_id"])
                if message is not None:
                    shown[result["message_id"]] = message.get("text") or message.get("caption", "")
    return shown


async def add_the_curator(sessionmaker, clock: FakeClock) -> None:
    from db.reviews import add_curator

    async with sessionmaker() as session, session.begin():
        await add_curator(
            session, external_id=str(CURATOR), chat_id=None, added_by="test", now=clock.now
        )


def card_of(fake: FakeTelegram, product: Product) -> int:
    return next(
        c.result["message_id"]
        for c in fake.sent("sendMessage", chat_id=GROUP)
        if f"#{product.id}" in c.params["text"]
    )


async def curator_says(fake: FakeTelegram, tracker: Tracker, update: dict) -> None:
    await Tracker.wait(tracker, fake.push_update(update))


async def curator_presses(
    fake: FakeTelegram, tracker: Tracker, card_id: int, labels: tuple[str, ...]
) -> None:
    """The curator presses each labelled button of the card, in the group."""
    for label in labels:
        message = fake.message_in(GROUP, card_id)
        assert message is not None
        rows = message["reply_markup"]["inline_keyboard"]
        data = next(b["callback_data"] for row in rows for b in row if label in b["text"])
        update = fake.callback(
            CURATOR, data, message_id=card_id, chat_id=GROUP, chat_type="supergroup"
        )
        await curator_says(fake, tracker, update)


async def erase_after(
    fake: FakeTelegram, settings: Settings, clock: FakeClock, *, hours: int
) -> dict[int, str]:
    """Post the cards, let `hours` pass, erase the producer; what the group showed before."""
    async with running_bot(settings, fake, clock=clock) as (runtime, tracker):
        assert await MessageSender(runtime.app).run_until_idle() == 2
        before = group_messages(fake)
        clock.advance(hours=hours)
        person = Person(fake, tracker, PRODUCER)
        await person.say("/hapusdata")
        await person.press("🗑")
        assert await MessageSender(runtime.app).run_until_idle() == 1
    return before


async def test_erased_producer_leaves_the_review_chat(
    fake: FakeTelegram, settings: Settings, sessionmaker, clock: FakeClock
) -> None:
    erased, kept = await post_cards(settings, sessionmaker, clock)
    before = await erase_after(fake, settings, clock, hours=47)  # within Telegram's 48 hours
    assert len(before) == 5  # two photos and a card, one photo and a card
    after = group_messages(fake)
    assert len(fake.sent("deleteMessage", chat_id=GROUP)) == 3
    assert len(after) == 2 and not any(f"#{erased.id}" in text for text in after.values())
    assert any(f"#{kept.id}" in text for text in after.values())  # the other producer's
    async with sessionmaker() as session:
        [item] = await session.scalars(select(OutboxItem).where(OutboxItem.kind == "erase"))
    assert item.sent_at is not None and item.failed_at is None


async def test_too_old_to_delete_the_card_says_erased_instead(
    fake: FakeTelegram, settings: Settings, sessionmaker, clock: FakeClock
) -> None:
    erased, kept = await post_cards(settings, sessionmaker, clock)
    before = await erase_after(fake, settings, clock, hours=49)  # too old to delete
    after = group_messages(fake)
    assert set(after) == set(before)  # nothing could be deleted...
    redacted = [i for i, text in after.items() if NOTICE in text]
    assert len(redacted) == 3  # ...so the card and both photos now say so
    shown = "\n".join(after.values())
    assert f"#{erased.id}" not in shown and f"#{kept.id}" in shown
    card = fake.message_in(GROUP, max(redacted))
    assert "reply_markup" not in card  # no buttons left to act on an erased product


async def test_a_typed_reasons_preview_leaves_with_the_card(
    fake: FakeTelegram, settings: Settings, sessionmaker, clock: FakeClock
) -> None:
    """The words a curator wrote about the product ("ini yang akan dibaca produsen: …")
    were a message of their own and stayed in the group after the card and album left."""
    reason = "Kemasan belakang Bu Tini belum terlihat, mohon difoto ulang di siang hari."
    await add_the_curator(sessionmaker, clock)
    erased = (await post_cards(settings, sessionmaker, clock))[0]
    async with running_bot(settings, fake, clock=clock) as (runtime, tracker):
        assert await MessageSender(runtime.app).run_until_idle() == 2
        card_id = card_of(fake, erased)
        await curator_presses(fake, tracker, card_id, ("Ambil", "Minta revisi", "Tulis alasan"))
        typed = fake.message(CURATOR, reason, chat_id=GROUP, chat_type="supergroup")
        await curator_says(fake, tracker, typed)
        shown = "\n".join(group_messages(fake).values())
        assert "akan dibaca produsen" in shown and reason in shown
        person = Person(fake, tracker, PRODUCER)
        await person.say("/hapusdata")
        await person.press("🗑")
        assert await MessageSender(runtime.app).run_until_idle() == 1
    shown = "\n".join(group_messages(fake).values())
    assert reason not in shown and "akan dibaca produsen" not in shown


async def test_the_reason_prompt_leaves_with_the_card(
    fake: FakeTelegram, settings: Settings, sessionmaker, clock: FakeClock
) -> None:
    """The bot's force-reply prompt ("@sari: #12: balas pesan ini dengan alasan …") names the
    product and stayed in the group after the producer erased their data, while the card
    and album left; so did the "at least n characters" prompt after a too-short reason."""
    await add_the_curator(sessionmaker, clock)
    erased, kept = await post_cards(settings, sessionmaker, clock)
    async with running_bot(settings, fake, clock=clock) as (runtime, tracker):
        assert await MessageSender(runtime.app).run_until_idle() == 2
        card_id = card_of(fake, erased)
        await curator_presses(fake, tracker, card_id, ("Ambil", "Minta revisi", "Tulis alasan"))
        short = fake.message(CURATOR, "kurang", chat_id=GROUP, chat_type="supergroup")
        await curator_says(fake, tracker, short)
        prompts = [
            c.result["message_id"]
            for c in fake.sent("sendMessage", chat_id=GROUP)
            if c.params.get("reply_markup", {}).get("force_reply")
        ]
        assert len(prompts) == 2  # the question, and "please write at least …"
        assert any(f"#{erased.id}" in fake.message_in(GROUP, p)["text"] for p in prompts)
        # The claim lapses: "⏰ #n … returns to the queue" goes out through the outbox.
        clock.advance(hours=49)
        timeout = timedelta(hours=48)
        assert await release_stale_claims(runtime.app, claim_timeout=timeout, language="id")
        assert await MessageSender(runtime.app).run_until_idle() == 2  # the card and the notice
        [lapsed] = [
            c.result["message_id"]
            for c in fake.sent("sendMessage", chat_id=GROUP)
            if "⏰" in c.params["text"]
        ]
        prompts.append(lapsed)
        clock.advance(hours=-48)  # still within Telegram's 48 hours to delete
        person = Person(fake, tracker, PRODUCER)
        await person.say("/hapusdata")
        await person.press("🗑")
        assert await MessageSender(runtime.app).run_until_idle() == 1
    after = group_messages(fake)
    assert not set(prompts) & set(after)
    shown = "\n".join(after.values())
    assert f"#{erased.id}" not in shown and f"#{kept.id}" in shown
