"""Curators move from one decision to the next: a typed reason is shown before it goes,
approve and reject can be undone for 30 seconds (the producer is told only after), and
/ambil or "Ambil berikutnya" claims the oldest waiting product of the chat (issue 13)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.runtime import Kurasi
from bot.sender import MessageSender
from db.media_store import MediaStore
from db.models import AuditEvent, Notification, Product, Review
from db.stats import curator_load, decisions_per_week, grades
from tests.factories import submitted_product
from tests.handlers.test_review import (
    FOOD_CHAT,
    after_undo_window,
    app,
    curator,
    make_curator,
    poster,
    review_app,
)
from tests.support import Chat, FakeClock, RecordingChannel

__all__ = ["app", "poster"]


async def two_waiting(sessionmaker, clock: FakeClock, media_store, poster) -> list[Product]:
    first = await submitted_product(
        sessionmaker, now=clock.now, store=media_store, chat_id=FOOD_CHAT, owner="p1", name="Satu"
    )
    clock.advance(minutes=5)
    second = await submitted_product(
        sessionmaker, now=clock.now, store=media_store, chat_id=FOOD_CHAT, owner="p2", name="Dua"
    )
    await poster.run_until_idle()
    return [first, second]


async def state(sessionmaker, product_id: int) -> tuple[str, Review]:
    async with sessionmaker() as session:
        product = await session.get(Product, product_id)
        review = await session.scalar(
            select(Review).where(Review.product_id == product_id).order_by(Review.id.desc())
        )
        return product.status, review


async def scored(sari: Chat, channel: RecordingChannel, score: int = 3) -> None:
    for criterion in range(7):
        rows = [r for c, r in channel.sent if c == FOOD_CHAT][-1].buttons
        await sari.press_payload_in_chat(rows[criterion][score].payload)


def to(channel: RecordingChannel, chat_id: str) -> list[str]:
    return [r.text for c, r in channel.sent if c == chat_id]


async def approved_by_sari(
    app: Kurasi, channel: RecordingChannel, poster, sessionmaker, clock, media_store
) -> tuple[Chat, Product]:
    """Two products wait; Sari takes the oldest with /ambil, scores it all 3s, approves."""
    first, _second = await two_waiting(sessionmaker, clock, media_store, poster)
    await make_curator(sessionmaker, clock, "c1")
    sari = curator(app, channel, "c1", "Sari")
    await sari.send("/ambil")
    await scored(sari, channel)
    await sari.press("Setujui")
    return sari, first


async def test_ambil_claims_the_oldest_then_next_after_a_decision(
    app: Kurasi, channel: RecordingChannel, poster: MessageSender, sessionmaker, clock, media_store
) -> None:
    first, second = await two_waiting(sessionmaker, clock, media_store, poster)
    await make_curator(sessionmaker, clock, "c1")
    sari = curator(app, channel, "c1", "Sari")
    await sari.send("/ambil")
    status, review = await state(sessionmaker, first.id)
    assert status == "in_review" and review.curator_name == "Sari"
    assert f"#{first.id}" in sari.text
    await scored(sari, channel)
    await sari.press("Setujui")
    await sari.press("Ambil berikutnya")
    status, review = await state(sessionmaker, second.id)
    assert status == "in_review" and review.curator_name == "Sari"
    # The first card keeps its decision; the second card now shows the score buttons.
    assert (await state(sessionmaker, first.id))[0] == "approved"
    await sari.send("/ambil")
    assert "kosong" in sari.text  # nothing else waits


async def test_undo_within_30_seconds_restores_claim_and_scores(
    app: Kurasi, channel: RecordingChannel, poster: MessageSender, sessionmaker, clock, media_store
) -> None:
    sari, first = await approved_by_sari(app, channel, poster, sessionmaker, clock, media_store)
    assert (await state(sessionmaker, first.id))[0] == "approved"
    told_before = len(to(channel, "p1"))
    clock.advance(seconds=20)
    await sari.press("Urungkan")
    assert any("Diurungkan" in a for a in sari.alerts)
    status, review = await state(sessionmaker, first.id)
    assert status == "in_review" and review.curator_name == "Sari"
    assert len(review.scores) == 7 and review.decision is None and review.grade is None
    # The window passes: the producer hears nothing of the undone approval.
    assert await after_undo_window(app, clock) == 0
    assert len(to(channel, "p1")) == told_before
    # Decided again, the producer is told once, after the window.
    await sari.press("Tolak")
    await sari.press("Foto kurang jelas")
    await sari.press("Kirim penolakan")
    assert (await state(sessionmaker, first.id))[0] == "rejected"
    assert len(to(channel, "p1")) == told_before
    assert await after_undo_window(app, clock) == 1
    rejected = [r for c, r in channel.sent if c == "p1"][-1]
    assert "belum lolos" in rejected.text
    assert "📄 Buat produk baru dari ini" in [b.label for row in rejected.buttons for b in row]
    async with sessionmaker() as session:
        actions = list(await session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
        notes = list(await session.scalars(select(Notification.result)))
    assert actions[-3:] == ["approve", "undo", "reject"]
    assert sorted(n or "" for n in notes) == ["cancelled", "sent"]
    # The statistics count the decision that stands, not the one taken back.
    async with sessionmaker() as session:
        weeks = await decisions_per_week(
            session,
            since=clock.now - timedelta(days=1),
            until=clock.now + timedelta(days=1),
            offset_hours=7,
        )
        given = await grades(
            session, since=clock.now - timedelta(days=1), until=clock.now + timedelta(days=1)
        )
        [load] = await curator_load(session, since=clock.now - timedelta(days=1))
    assert [(w.approve, w.reject) for w in weeks if w.approve or w.reject] == [(0, 1)]
    assert sum(given.values()) == 1
    assert (load.approve, load.reject) == (0, 1)


async def test_undo_after_the_window_is_too_late(
    app: Kurasi, channel: RecordingChannel, poster: MessageSender, sessionmaker, clock, media_store
) -> None:
    sari, first = await approved_by_sari(app, channel, poster, sessionmaker, clock, media_store)
    assert await after_undo_window(app, clock) == 1
    assert "disetujui" in to(channel, "p1")[-1]
    await sari.press("Urungkan")
    assert any("terlambat" in a for a in sari.alerts)
    assert (await state(sessionmaker, first.id))[0] == "approved"


async def test_only_the_decider_may_undo(
    app: Kurasi, channel: RecordingChannel, poster: MessageSender, sessionmaker, clock, media_store
) -> None:
    _sari, first = await approved_by_sari(app, channel, poster, sessionmaker, clock, media_store)
    await make_curator(sessionmaker, clock, "c2")
    budi = curator(app, channel, "c2", "Budi")
    await budi.press("Urungkan")
    assert (await state(sessionmaker, first.id))[0] == "approved"


@pytest.fixture
def english_app(sessionmaker, clock: FakeClock, media_store: MediaStore) -> Kurasi:
    return review_app(sessionmaker, clock, media_store, review_language="en")


async def test_a_typed_reason_is_shown_before_it_is_sent_in_english(
    english_app: Kurasi, sessionmaker, clock, media_store
) -> None:
    channel = RecordingChannel(english_app)
    await two_waiting(sessionmaker, clock, media_store, MessageSender(english_app))
    await make_curator(sessionmaker, clock, "c1")
    sari = curator(english_app, channel, "c1", "Sari")
    await sari.send("/ambil")
    await sari.press("Revise")
    await sari.press("Write a reason")
    await sari.send("Please photograph the pack in daylight.")
    assert "this is what the producer will read" in sari.text
    assert "Please photograph the pack in daylight." in sari.text
    async with sessionmaker() as session:
        assert await session.scalar(select(Product.status).where(Product.name == "Satu")) == (
            "in_review"
        )
    await sari.press("Write again")
    await sari.send("Please photograph the pack in daylight, front and back.")
    await sari.press("Send revision request")
    async with sessionmaker() as session:
        review = await session.scalar(select(Review).where(Review.decision.is_not(None)))
    assert review.decision == "revision_requested"
    assert review.reason_text == "Please photograph the pack in daylight, front and back."
    await sari.press("Take the next one")
    async with sessionmaker() as session:
        assert await session.scalar(select(Product.status).where(Product.name == "Dua")) == (
            "in_review"
        )
