"""/pameran: a producer withdraws interest; an admin edits and deletes fairs, and the
interested producers are told (issue 13)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from db.models import Conversation, Fair, Notification
from tests.handlers.test_fairs import admin, app, data, interests, store
from tests.handlers.test_producer_answers import english
from tests.handlers.test_registration import register
from tests.support import Chat

__all__ = ["admin", "app"]

LABELS = {
    "id": ("Saya tertarik", "Batal tertarik", "tidak lagi tercatat"),
    "en": ("I'm interested", "Not interested any more", "no longer on the list"),
}


async def notices(sessionmaker, kind: str) -> list[Notification]:
    async with sessionmaker() as session:
        return list(await session.scalars(select(Notification).where(Notification.kind == kind)))


@pytest.mark.parametrize("lang", ["id", "en"])
async def test_a_producer_withdraws_interest(chat: Chat, sessionmaker, clock, lang: str) -> None:
    await register(chat)
    if lang == "en":
        await english(chat)
    await store(sessionmaker, clock, data("Kuliner", date(2027, 3, 1), date(2027, 3, 3)))
    interested, withdraw, done = LABELS[lang]
    await chat.send("/pameran")
    await chat.press(interested)
    assert await interests(sessionmaker) == 1
    await chat.press(withdraw)  # under the confirmation
    assert done in chat.text and await interests(sessionmaker) == 0
    await chat.press(interested)
    await chat.send("/pameran")
    assert withdraw in " ".join(chat.labels())  # /pameran offers it where one is interested
    await chat.press(withdraw)
    assert await interests(sessionmaker) == 0


async def test_producers_see_no_admin_buttons(chat: Chat, sessionmaker, clock) -> None:
    await register(chat)
    await store(sessionmaker, clock, data("Kuliner", date(2027, 3, 1), date(2027, 3, 3)))
    await chat.send("/pameran")
    assert not any("Ubah" in label or "Hapus" in label for label in chat.labels())


async def interested_producer(chat: Chat, sessionmaker, clock) -> int:
    await register(chat)
    (fair_id,) = await store(
        sessionmaker, clock, data("Kuliner", date(2027, 3, 1), date(2027, 3, 3))
    )
    await chat.send("/pameran")
    await chat.press("Saya tertarik")
    return fair_id


async def test_an_admin_moves_a_fair_and_the_interested_are_told(
    chat: Chat, admin: Chat, sessionmaker, clock
) -> None:
    fair_id = await interested_producer(chat, sessionmaker, clock)
    await admin.send("/pameran")
    await admin.press("Ubah")
    await admin.press("Selesai")  # the end date
    await admin.send("28-02-2027")  # before the start: refused with the reason
    assert "tidak bisa berakhir sebelum dimulai (1 Mar 2027)" in admin.text
    await admin.send("05/03/2027")
    assert "Peminat yang diberi tahu: 1" in admin.text
    async with sessionmaker() as session:
        assert (await session.get(Fair, fair_id)).end_date == date(2027, 3, 5)
    (note,) = await notices(sessionmaker, "fair_changed")
    assert note.subject_id == fair_id and note.chat_id == chat.user_id


async def test_an_admin_deletes_a_fair_and_the_interested_are_told(
    chat: Chat, admin: Chat, sessionmaker, clock
) -> None:
    await interested_producer(chat, sessionmaker, clock)
    await admin.send("/pameran")
    await admin.press("Hapus")
    await admin.press("Simpan saja")  # kept
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Fair)) == 1
    await admin.send("/pameran")
    await admin.press("Hapus")
    await admin.press("Ya, hapus")
    assert "Peminat yang diberi tahu: 1" in admin.text
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Fair)) == 0
    (note,) = await notices(sessionmaker, "fair_cancelled")
    assert note.chat_id == chat.user_id


@pytest.mark.parametrize(("typed", "stored"), [("indonesa", "Indonesia"), ("India", "India")])
async def test_a_typed_country_near_the_button_is_the_button(
    admin: Chat, sessionmaker, typed: str, stored: str
) -> None:
    await admin.send("/pameran_baru")
    await admin.send("Trade Expo Indonesia")
    await admin.send("ICE BSD")
    await admin.send(typed)
    async with sessionmaker() as session:
        conversation = await session.scalar(select(Conversation))
    assert conversation.data["fair"]["country"] == stored


async def test_an_admin_changes_a_fair_with_the_forms_own_inputs(
    admin: Chat, sessionmaker, clock
) -> None:
    """A change asks the field's own question: its skip button clears a value, a checklist
    ticks sectors, "kembali" goes back to the choice; the admin is answered even when no
    producer is interested."""
    (fair_id,) = await store(
        sessionmaker,
        clock,
        data("Kuliner", date(2027, 3, 1), date(2027, 3, 3), registration_deadline=date(2027, 2, 1)),
    )
    await admin.send("/pameran")
    await admin.press("Ubah")
    await admin.press("Batas pendaftaran")
    await admin.send("kembali")
    assert "Apa yang perlu diubah" in admin.text
    await admin.press("Batas pendaftaran")
    await admin.press("Tanpa batas waktu")
    assert "Peminat yang diberi tahu: 0" in admin.text
    await admin.press("Ubah")
    await admin.press("Sektor")
    await admin.press("Makanan")
    await admin.press("Selesai")
    assert "Peminat yang diberi tahu: 0" in admin.text
    async with sessionmaker() as session:
        fair = await session.get(Fair, fair_id)
        assert fair.registration_deadline is None and fair.sectors == ["food"]
