"""The approval message asks the producer's consent to be contacted and offers an English
description; both land on the business/product and on the catalogue."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.i18n import translator
from bot.runtime import Kurasi
from bot.sender import MessageSender
from db.models import Business, Notification, Product
from handlers.features.reminders import render
from tests.handlers import test_review
from tests.handlers.test_review import (
    FOOD_CHAT,
    after_undo_window,
    curator,
    make_curator,
    submit_via_chat,
)
from tests.support import Chat, RecordingChannel
from tests.world import NOW, build_world

app = test_review.app  # the review chat's fixtures
poster = test_review.poster


async def _approve(
    app: Kurasi, channel: RecordingChannel, chat: Chat, poster: MessageSender, sessionmaker, clock
) -> None:
    await submit_via_chat(chat)
    await poster.run_until_idle()
    await make_curator(sessionmaker, clock, "c1")
    sari = curator(app, channel, "c1", "Sari")
    await sari.press("Ambil")
    for criterion in range(7):
        rows = [r for c, r in channel.sent if c == FOOD_CHAT][-1].buttons
        await sari.press_payload_in_chat(rows[criterion][3].payload)
    await sari.press("Setujui")
    assert await after_undo_window(app, clock) == 1


async def test_producer_consents_and_writes_an_english_description(
    app: Kurasi, channel: RecordingChannel, chat: Chat, poster: MessageSender, sessionmaker, clock
) -> None:
    await _approve(app, channel, chat, poster, sessionmaker, clock)
    told = [r for c, r in channel.sent if c == chat.user_id][-1]
    assert "disetujui" in told.text and "WhatsApp" in told.text
    chat.last = [told]
    assert chat.labels() == ["✅ Ya, boleh", "Tidak", "✍️ Tambah deskripsi bahasa Inggris"]
    await chat.press("Ya, boleh")
    assert "tombol WhatsApp" in chat.text
    chat.last = [told]
    await chat.press("deskripsi bahasa Inggris")
    assert "bahasa Inggris" in chat.text
    await chat.send("Crispy tempeh chips, made by hand in Malang.")
    assert "Tersimpan" in chat.text
    # Buyers search by name too: the English name is asked next, as the product form does.
    assert "nama produk dalam bahasa Inggris" in chat.text and chat.labels() == ["Lewati"]
    await chat.send("Crispy Tempeh Chips")
    assert "“Crispy Tempeh Chips”" in chat.text
    async with sessionmaker() as session:
        product = await session.scalar(select(Product))
        business = await session.scalar(select(Business))
    assert product.description_en == "Crispy tempeh chips, made by hand in Malang."
    assert product.name_en == "Crispy Tempeh Chips"
    assert business.contact_consent is True


async def test_the_english_name_can_be_skipped_or_added_alone(
    app: Kurasi, channel: RecordingChannel, chat: Chat, poster: MessageSender, sessionmaker, clock
) -> None:
    await _approve(app, channel, chat, poster, sessionmaker, clock)
    told = [r for c, r in channel.sent if c == chat.user_id][-1]
    chat.last = [told]
    await chat.press("deskripsi bahasa Inggris")
    await chat.send("Crispy tempeh chips, made by hand in Malang.")
    await chat.press("Lewati")
    assert "nama yang Anda berikan" in chat.text
    await chat.send("produk")  # the flow is over: a plain word works again
    async with sessionmaker() as session:
        product = await session.scalar(select(Product))
    assert product.name_en is None
    # With a description but no English name, the approval offers the name alone.
    from handlers.features.catalogue import approval_extras

    async with sessionmaker() as session:
        product = await session.scalar(select(Product))
        business = await session.scalar(select(Business))
    text, rows = approval_extras(translator("id"), product, business)
    assert "nama bahasa Inggris" in text
    assert [b.label for row in rows for b in row][-1] == "✍️ Tambah nama bahasa Inggris"
    await chat.press_payload(rows[-1][0].payload)
    await chat.send("x" * 101)
    assert "100" in chat.text
    await chat.send("Tempeh Chips")
    async with sessionmaker() as session:
        assert (await session.scalar(select(Product))).name_en == "Tempeh Chips"


async def test_declining_and_forged_consent(
    app: Kurasi, channel: RecordingChannel, chat: Chat, poster: MessageSender, sessionmaker, clock
) -> None:
    await _approve(app, channel, chat, poster, sessionmaker, clock)
    async with sessionmaker() as session:
        product_id = (await session.scalar(select(Product))).id
    stranger = Chat(app, channel, user_id="777", name="Orang Lain")
    await stranger.press_payload(f"catalog|consent|yes.{product_id}")
    assert "tidak berlaku" in stranger.text.lower()
    await stranger.press_payload(f"catalog|en|{product_id}")
    assert "tidak berlaku" in stranger.text.lower()
    told = [r for c, r in channel.sent if c == chat.user_id][-1]
    chat.last = [told]
    await chat.press("Tidak")
    async with sessionmaker() as session:
        business = await session.scalar(select(Business))
    assert business.contact_consent is False


async def test_review_digest_shows_the_chats_backlog_trend(sessionmaker, media_store) -> None:
    await build_world(sessionmaker, media_store)
    note = Notification(
        kind="review_digest", dedupe_key="d", channel="test", chat_id="review-a", due_at=NOW
    )
    async with sessionmaker() as session:
        reply = await render(
            session,
            note,
            translator=translator,
            now=NOW,
            zone=ZoneInfo("Asia/Jakarta"),
            recipient=None,
            review_language="en",
            review_chats=(("review-a", ()),),
        )
    assert reply is not None
    # review-a at 10:00 on 19…25 Nov: P4 arrived on the 24th; P3 and P2 were decided by the 18th.
    assert "Backlog over 7 days: ▁▁▁▁▁██ (0 → 1, +1)" in reply.text
    assert datetime(2026, 11, 24, 3, tzinfo=UTC) < NOW
