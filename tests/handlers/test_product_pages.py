"""/produk shows each product's state and its next step; no page is a dead end."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.sender import MessageSender
from db.models import Photo, Product
from tests.handlers.test_producer_answers import english
from tests.handlers.test_review import (  # the review chats' runtime
    app,
    curator,
    make_curator,
    poster,
    score_all,
    submit_via_chat,
)
from tests.support import Chat, RecordingChannel

__all__ = ["app", "poster"]


async def claimed(chat: Chat, poster: MessageSender, sessionmaker, clock) -> Chat:
    await submit_via_chat(chat)
    await poster.run_until_idle()
    await make_curator(sessionmaker, clock, "c1")
    sari = curator(chat.app, chat.channel, "c1", "Sari")
    await sari.press("Ambil")
    await score_all(sari, chat.channel)  # scored: a picked reason is enough to decide
    return sari


async def open_first(chat: Chat) -> None:
    await chat.send("/produk")
    await chat.press("1.")


def assert_not_a_dead_end(chat: Chat) -> None:
    assert chat.labels(), "the page has no buttons"


@pytest.mark.parametrize("lang", ["id", "en"])
async def test_a_waiting_product_shows_its_place_in_the_queue(
    chat: Chat, poster: MessageSender, lang: str
) -> None:
    await submit_via_chat(chat)
    if lang == "en":
        await english(chat)
    await chat.send("/produk")
    expected = "urutan ke-1 dari 1" if lang == "id" else "number 1 of 1 in the queue"
    assert expected in chat.text and "25 Nov" in chat.text
    await chat.press("1.")
    assert expected in chat.text
    assert_not_a_dead_end(chat)


@pytest.mark.parametrize("lang", ["id", "en"])
async def test_a_revision_shows_the_reasons_and_edit_and_submit_again(
    chat: Chat, poster: MessageSender, sessionmaker, clock, lang: str
) -> None:
    sari = await claimed(chat, poster, sessionmaker, clock)
    await sari.press("Revisi")
    await sari.press("Foto kurang jelas")
    await sari.press("Kirim permintaan revisi")
    if lang == "en":
        await english(chat)
    await open_first(chat)
    assert ("Alasan kurator" if lang == "id" else "curator's reasons") in chat.text
    assert ("Foto kurang jelas" if lang == "id" else "hoto") in chat.text
    await chat.press("Ubah & ajukan lagi" if lang == "id" else "Edit & submit again")
    assert ("Ajukan" if lang == "id" else "Submit") in " ".join(chat.labels())  # the card


@pytest.mark.parametrize("lang", ["id", "en"])
async def test_an_approved_product_shows_grade_scores_and_date(
    chat: Chat, channel: RecordingChannel, poster: MessageSender, sessionmaker, clock, lang: str
) -> None:
    sari = await claimed(chat, poster, sessionmaker, clock)
    for criterion in range(7):
        rows = [r for c, r in channel.sent if c == sari.chat_id][-1].buttons
        await sari.press_payload_in_chat(rows[criterion][3].payload)
    await sari.press("Setujui")
    clock.advance(seconds=60)
    if lang == "en":
        await english(chat)
    await open_first(chat)
    if lang == "id":
        assert "Disetujui dengan nilai A pada 25 Nov 2026" in chat.text
        assert "Legalitas 3" in chat.text
    else:
        assert "Approved with grade A on 25 Nov 2026" in chat.text
        assert "Legality 3" in chat.text
    assert_not_a_dead_end(chat)


async def test_a_rejected_product_becomes_a_new_draft(
    chat: Chat, poster: MessageSender, sessionmaker, clock
) -> None:
    sari = await claimed(chat, poster, sessionmaker, clock)
    await sari.press("Tolak")
    await sari.press("Foto kurang jelas")
    await sari.press("Kirim penolakan")
    await open_first(chat)
    assert "Alasan kurator" in chat.text and "Foto kurang jelas" in chat.text
    await chat.press("Buat produk baru dari ini")
    assert "Ajukan" in " ".join(chat.labels())  # the new draft's card, ready to submit
    async with sessionmaker() as session:
        products = list(await session.scalars(select(Product).order_by(Product.id)))
        photos = list(await session.scalars(select(Photo).order_by(Photo.id)))
    assert [p.status for p in products] == ["rejected", "draft"]
    assert products[1].name == products[0].name and products[1].price == products[0].price
    assert [p.product_id for p in photos] == [products[0].id] * 2 + [products[1].id] * 2
    await chat.press("Ajukan")
    if any("Tetap ajukan" in label for label in chat.labels()):
        await chat.press("Tetap ajukan")
    async with sessionmaker() as session:
        assert (await session.get(Product, products[1].id)).status == "submitted"
