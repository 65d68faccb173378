"""Decisions reach producers even when Telegram fails for a while: notices to other
people go through the durable outbox and are retried, each delivered once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from db.base import utcnow
from db.media_store import MediaStore
from db.reviews import add_curator
from tests.bot.processes import BotProcess, free_port, wait_until, write_config
from tests.factories import submitted_product
from tests.fakes.telegram import FakeTelegram

GROUP = -100_4242
CURATOR = 4400
PRODUCERS = [551_001, 551_002, 551_003]


async def test_every_producer_hears_every_decision_once_despite_failing_sends(
    fake: FakeTelegram, database_url: str, sessionmaker, tmp_path: Path
) -> None:
    media = tmp_path / "media"
    store = MediaStore(media)
    products = [
        await submitted_product(
            sessionmaker,
            now=utcnow(),
            store=store,
            chat_id=str(GROUP),
            channel="telegram",
            owner=str(producer),
        )
        for producer in PRODUCERS
    ]
    async with sessionmaker() as session, session.begin():
        await add_curator(
            session, external_id=str(CURATOR), chat_id=None, added_by="test", now=utcnow()
        )
    config = write_config(
        tmp_path / "config.toml",
        {
            "database": {"url": database_url},
            "telegram": {"token": fake.token, "api_base": fake.base_url},
            "http": {"port": free_port()},
            "media": {"dir": str(media)},
            "limits": {"flood_messages": 10_000},
        },
    )
    # The review chat is a list of tables in TOML.
    with config.open("a") as f:
        f.write(f"[[review.chats]]\nchat_id = {GROUP}\nsectors = []\n")
    # Telegram fails every message to the producers for a while, longer than the
    # channel's own quick retries: the outbox must try again later.
    for producer in PRODUCERS:
        fake.fail_next("sendMessage", 502, times=5, chat_id=producer)
        fake.fail_next("sendMessage", 500, times=1, chat_id=producer)
    bot = BotProcess(config, tmp_path / "bot.log")
    await bot.start()
    try:
        cards = await _cards(fake, len(products))
        for product, card in zip(products, cards, strict=True):
            message_id = card.result["message_id"]
            await _press(fake, card.params["reply_markup"], "claim", message_id)
            for criterion in range(7):
                markup = await _latest_markup(fake, message_id)
                data = markup["inline_keyboard"][criterion][3]["callback_data"]
                await _push_press(fake, data, message_id)
            await _press(fake, await _latest_markup(fake, message_id), "approve", message_id)
            assert product.id
        await wait_until(lambda: _told(fake), within=90)
    finally:
        await bot.terminate()
    for producer in PRODUCERS:
        texts = [c.params["text"] for c in fake.sent("sendMessage", chat_id=producer)]
        failed = fake.sent("sendMessage", chat_id=producer, include_failed=True)
        assert len(failed) - len(texts) == 6  # the failures happened
        assert sum("meninjau" in t for t in texts) == 1, texts  # claimed, once
        assert sum("disetujui" in t for t in texts) == 1, texts  # approved, once
    assert "Logging error" not in bot.stderr


async def _cards(fake: FakeTelegram, n: int) -> list[Any]:
    async def posted() -> bool:
        return len(_group_cards(fake)) >= n

    await wait_until(posted, within=60)
    return _group_cards(fake)[:n]


def _group_cards(fake: FakeTelegram) -> list[Any]:
    return [
        c
        for c in fake.sent("sendMessage", chat_id=GROUP)
        if (c.params.get("reply_markup") or {}).get("inline_keyboard")
    ]


async def _latest_markup(fake: FakeTelegram, message_id: int) -> dict[str, Any]:
    message = fake.message_in(GROUP, message_id) or {}
    return message.get("reply_markup") or {}


async def _press(fake: FakeTelegram, markup: dict[str, Any], step: str, message_id: int) -> None:
    for row in markup["inline_keyboard"]:
        for button in row:
            if f"|{step}|" in button["callback_data"]:
                await _push_press(fake, button["callback_data"], message_id)
                return
    raise AssertionError(f"no {step} button in {markup}")


async def _push_press(fake: FakeTelegram, data: str, message_id: int) -> None:
    before = len(fake.sent("answerCallbackQuery"))
    edits = len(fake.sent("editMessageText", chat_id=GROUP))
    fake.push_update(
        fake.callback(CURATOR, data, message_id=message_id, chat_id=GROUP, chat_type="supergroup")
    )

    async def answered() -> bool:
        # Answered, and the card edited to show the press (claim, score, decision).
        return (
            len(fake.sent("answerCallbackQuery")) > before
            and len(fake.sent("editMessageText", chat_id=GROUP)) > edits
        )

    await wait_until(answered, within=30, every=0.05)


async def _told(fake: FakeTelegram) -> bool:
    return all(
        any("disetujui" in c.params["text"] for c in fake.sent("sendMessage", chat_id=p))
        for p in PRODUCERS
    )
