"""Issue 8 item 3: a review action counts only when pressed in the chat holding that review's
card, by a curator of that chat or an admin. Each refusal, with forged button data."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.sender import MessageSender
from db.models import Review
from handlers.features.review.card import Act, ReviewPayload
from handlers.kit.events import ButtonPress, Text
from tests.factories import submitted_product
from tests.handlers.test_review import (
    ADMIN,
    CRAFT_CHAT,
    FOOD_CHAT,
    app,  # noqa: F401  (the review chats' app fixture)
    curator,
    make_curator,
    product_status,
)
from tests.support import Chat, FakeClock, RecordingChannel


async def _food_product(sessionmaker, clock, media_store, poster: MessageSender) -> Review:
    await submitted_product(
        sessionmaker, now=clock.now, store=media_store, sector="food", chat_id=FOOD_CHAT
    )
    await poster.run_until_idle()
    async with sessionmaker() as session:
        review = await session.scalar(select(Review))
    assert review is not None and review.chat_id == FOOD_CHAT and review.card_message_id
    return review


@pytest.fixture
def poster(app) -> MessageSender:  # noqa: F811
    return MessageSender(app)


async def forge(chat: Chat, act: Act, review_id: int, **extra: object) -> None:
    payload = ReviewPayload(act, review_id, **extra).pack()  # type: ignore[arg-type]
    await chat.send_event(ButtonPress(payload, message_id="1"))


async def test_a_curator_of_another_chat_cannot_claim_or_decide(
    app,  # noqa: F811
    channel: RecordingChannel,
    poster,
    sessionmaker,
    clock: FakeClock,
    media_store,
) -> None:
    review = await _food_product(sessionmaker, clock, media_store, poster)
    await make_curator(sessionmaker, clock, "c-craft", chat=CRAFT_CHAT)  # all sectors there
    outsider = curator(app, channel, "c-craft", "Rina", chat=CRAFT_CHAT)
    await forge(outsider, Act.claim, review.id)
    assert any("grup kurasi lain" in a for a in outsider.alerts)
    assert await product_status(sessionmaker, review.product_id) == "submitted"
    # The food chat's curator claims; the outsider forges scores, a decision and a release.
    await make_curator(sessionmaker, clock, "c-food", chat=FOOD_CHAT)
    sari = curator(app, channel, "c-food", "Sari")
    await sari.press("Ambil")
    assert await product_status(sessionmaker, review.product_id) == "in_review"
    before = len(channel.sent)
    for act, extra in (
        (Act.score, {"criterion": "legal", "score": 3}),
        (Act.approve, {}),
        (Act.revise, {}),
        (Act.reject, {}),
        (Act.release, {}),
    ):
        await forge(outsider, act, review.id, **extra)
        assert any("grup kurasi lain" in a for a in outsider.alerts), act
    assert await product_status(sessionmaker, review.product_id) == "in_review"
    async with sessionmaker() as session:
        fresh = await session.get(Review, review.id)
    assert fresh.scores == {} and fresh.decision is None
    told = [r for c, r in channel.sent[before:] if c not in (CRAFT_CHAT,)]
    assert told == []  # the producer heard nothing, the food chat's card was not touched


async def test_an_admin_acts_only_in_the_chat_holding_the_card(
    app,  # noqa: F811
    channel: RecordingChannel,
    poster,
    sessionmaker,
    clock: FakeClock,
    media_store,
) -> None:
    review = await _food_product(sessionmaker, clock, media_store, poster)
    admin_elsewhere = curator(app, channel, ADMIN, "Admin", chat=CRAFT_CHAT)
    await forge(admin_elsewhere, Act.claim, review.id)
    assert await product_status(sessionmaker, review.product_id) == "submitted"
    admin_here = curator(app, channel, ADMIN, "Admin", chat=FOOD_CHAT)
    await admin_here.press("Ambil")
    assert await product_status(sessionmaker, review.product_id) == "in_review"


async def test_a_curator_of_another_chat_pressing_in_the_right_chat_is_refused(
    app,  # noqa: F811
    channel: RecordingChannel,
    poster,
    sessionmaker,
    clock: FakeClock,
    media_store,
) -> None:
    review = await _food_product(sessionmaker, clock, media_store, poster)
    await make_curator(sessionmaker, clock, "c-craft", chat=CRAFT_CHAT)
    visitor = curator(app, channel, "c-craft", "Rina", chat=FOOD_CHAT)  # a member, not curator
    await visitor.press("Ambil")
    assert any("kurator terdaftar" in a.lower() for a in visitor.alerts), visitor.alerts
    assert await product_status(sessionmaker, review.product_id) == "submitted"


async def test_a_typed_reason_in_another_chat_decides_nothing(
    app,  # noqa: F811
    channel: RecordingChannel,
    poster,
    sessionmaker,
    clock: FakeClock,
    media_store,
) -> None:
    review = await _food_product(sessionmaker, clock, media_store, poster)
    await make_curator(sessionmaker, clock, "c-all")  # a curator of every chat
    sari = curator(app, channel, "c-all", "Sari")
    await sari.press("Ambil")
    await sari.press("Revisi")
    await sari.press("Tulis alasan")
    elsewhere = curator(app, channel, "c-all", "Sari", chat=CRAFT_CHAT)
    await elsewhere.send_event(Text("Foto kurang terang, mohon foto ulang di siang hari."))
    assert await product_status(sessionmaker, review.product_id) == "in_review"
    await sari.send_event(Text("Foto kurang terang, mohon foto ulang di siang hari."))
    await sari.press("Kirim permintaan revisi")
    assert await product_status(sessionmaker, review.product_id) == "revision_requested"


def test_review_payloads_are_packed_and_checked_in_one_place() -> None:
    from handlers.kit.payload import Payload

    packed = ReviewPayload(Act.score, 12, "legal", 3).pack()
    assert packed == "rv|score|12.legal.3" and len(packed.encode()) <= 64
    unpack = ReviewPayload.unpack
    assert unpack(Payload.unpack(packed)) == ReviewPayload(Act.score, 12, "legal", 3)  # type: ignore[arg-type]
    for forged in ("rv|score|12.legal.9", "rv|score|12.nope.1", "rv|claim|x", "rv|boom|1",
                   "rv|reason|1.nope", "rv|claim|1.2"):  # fmt: skip
        assert unpack(Payload.unpack(forged)) is None, forged  # type: ignore[arg-type]
