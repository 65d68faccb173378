"""The longest values Telegram documents, fed through aiogram: nobody is locked out by them.

Telegram allows a first and a last name of 64 characters each, a username of 32, message
texts of 4096, captions of 1024, file names of 255; every stored copy must fit (on
PostgreSQL a too-narrow varchar fails the whole update).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.config import Settings
from bot.sender import MessageSender
from db.media_store import MediaStore
from db.models import Review, User
from tests.bot.conftest import bot_settings
from tests.bot.telegram_driver import Tracker, running_bot
from tests.factories import submitted_product
from tests.fakes.telegram import FakeTelegram
from tests.support import FakeClock, make_photo

GROUP = -100778
ADMIN = 1
PRODUCER = 5550042
CURATOR = 8801

# Astral-plane letters: 64 characters that are 128 UTF-16 units and 256 UTF-8 bytes.
FIRST = "𝓐" * 63 + "é"
LAST = "Ñ" * 64
USERNAME = "u" * 32
FULL = f"{FIRST} {LAST}"
APOLOGIES = ("something went wrong", "ada gangguan di sistem kami")


@pytest.fixture
def settings(fake: FakeTelegram, database_url: str, sessionmaker, tmp_path: Path) -> Settings:
    return bot_settings(
        fake,
        database_url,
        tmp_path,
        telegram={"admin_ids": [ADMIN]},
        review={"chats": [{"chat_id": GROUP}]},
    )


LONGEST: dict[str, Any] = {
    "first_name": FIRST,
    "last_name": LAST,
    "username": USERNAME,
    "language_code": "zh-Hant-TW-x-private-longest",
}


async def test_longest_telegram_fields_are_answered_and_stored(
    fake: FakeTelegram, settings: Settings, sessionmaker
) -> None:
    clock = FakeClock()
    store = MediaStore(settings.media.dir)
    await submitted_product(
        sessionmaker, now=clock.now, store=store, chat_id=str(GROUP), channel="telegram"
    )
    async with running_bot(settings, fake, clock=clock) as (runtime, tracker):

        async def push(update: dict[str, Any]) -> str:
            before = len(fake.calls)
            await Tracker.wait(tracker, fake.push_update(update))
            said = [c.params.get("text") or "" for c in fake.calls[before:] if c.ok]
            assert said and not any(a in t.lower() for t in said for a in APOLOGIES), said
            return "\n".join(said)

        def message(text: str | None = None, **fields: Any) -> dict[str, Any]:
            return fake.message(PRODUCER, text, **{**LONGEST, **fields})

        await push(message("/start"))
        choose = fake.sent("sendMessage", chat_id=PRODUCER)[-1]
        [[first_language, *_], *_] = choose.params["reply_markup"]["inline_keyboard"]
        await push(fake.callback(PRODUCER, first_language["callback_data"], **LONGEST))
        await push(message("x" * 4096))  # the longest text message
        await push(message(photo=make_photo(), caption="c" * 1024))
        doc = fake.add_document(b"%PDF-1.4 minimal", file_name="n" * 251 + ".pdf")
        await push(message(document=doc, caption="d" * 1024))
        await push(message(contact=fake.contact("+6281234567890", PRODUCER, FIRST, LAST)))
        await push(message("/bantuan"))

        # A curator with the longest name claims a card: the card says who holds it.
        await MessageSender(runtime.app).run_until_idle()
        await push(
            fake.message(ADMIN, f"/kurator_tambah {CURATOR}", chat_id=GROUP, chat_type="supergroup")
        )
        card = fake.sent("sendMessage", chat_id=GROUP)[0]
        claim = card.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        claimed = await push(
            fake.callback(
                CURATOR,
                claim,
                message_id=card.result["message_id"],
                chat_id=GROUP,
                chat_type="supergroup",
                **LONGEST,
            )
        )
        assert FIRST in claimed

    async with sessionmaker() as session:
        producer = await session.scalar(select(User).where(User.external_id == str(PRODUCER)))
        review = await session.scalar(select(Review))
    assert producer is not None and review is not None
    assert (producer.display_name, producer.username) == (FULL, USERNAME)
    assert review.curator_name == FULL
