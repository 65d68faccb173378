"""/pameran_baru reads the dates admins type (month names in both languages), says which
day does not exist, refuses a past start at once; a closed registration takes no interest."""

from __future__ import annotations

from datetime import date

import pytest

from handlers.kit.forms.dates import NoSuchDay, read_date
from handlers.kit.payload import Payload
from tests.handlers import test_fairs
from tests.handlers.test_fairs import data, fairs_in_db, store
from tests.handlers.test_registration import register
from tests.support import Chat

app, admin = test_fairs.app, test_fairs.admin  # today is 2026-11-25


@pytest.mark.parametrize(
    ("typed", "day"),
    [("3 jan 2027", date(2027, 1, 3)), ("3 Januari 2027", date(2027, 1, 3)),
     ("January 3, 2027", date(2027, 1, 3)), ("17 agustus 2027", date(2027, 8, 17)),
     ("5 Mei 2027", date(2027, 5, 5)), ("5 May 2027", date(2027, 5, 5)),
     ("21-04-2027", date(2027, 4, 21)), ("30-02-2027", NoSuchDay(30, 2, 2027)),
     ("31 apr 2027", NoSuchDay(31, 4, 2027)), ("3 foo 2027", None), ("besok", None)],
)  # fmt: skip
def test_read_date(typed: str, day: object) -> None:
    assert read_date(typed) == day


async def to_the_start(admin: Chat, lang: str) -> None:
    if lang == "en":
        admin.language = "en"
        await admin.send("/language")
        await admin.press("English")
    await admin.send("/pameran_baru")
    await admin.send("Trade Expo Indonesia 2027")
    await admin.send("ICE BSD")
    await admin.send("Indonesia")


@pytest.mark.parametrize("lang", ["id", "en"])
async def test_the_dates_of_a_new_fair(admin: Chat, sessionmaker, lang: str) -> None:
    await to_the_start(admin, lang)
    await admin.send("3 jan 2025")  # read, and in the past: refused at once
    assert ("sudah lewat" if lang == "id" else "already passed") in admin.text
    await admin.send("30-02-2027")
    said = admin.text
    assert (
        "Tanggal 30 Februari 2027 tidak ada" if lang == "id" else "February 2027 has no day 30"
    ) in said
    await admin.send("3 jan 2027" if lang == "id" else "January 3, 2027")
    await admin.send("7 Januari 2027" if lang == "id" else "7 January 2027")
    assert ("pendaftaran" if lang == "id" else "registration") in admin.text
    for answer in ("-", "semua" if lang == "id" else "all", "-", "-"):
        await admin.send(answer)
    await admin.press("Simpan" if lang == "id" else "Save")
    (fair,) = await fairs_in_db(sessionmaker)
    assert (fair.start_date, fair.end_date) == (date(2027, 1, 3), date(2027, 1, 7))


@pytest.mark.parametrize("lang", ["id", "en"])
async def test_a_closed_registration_takes_no_interest(
    chat: Chat, sessionmaker, clock, lang: str
) -> None:
    (closed,) = await store(
        sessionmaker,
        clock,
        data(
            "INACRAFT",
            date(2027, 4, 10),
            date(2027, 4, 14),
            registration_deadline=date(2026, 11, 1),
        ),
    )
    await register(chat)
    if lang == "en":
        await chat.send("/bahasa")
        await chat.press("English")
    await chat.send("/pameran")
    assert "INACRAFT" in chat.text
    assert not any("tertarik" in x or "interested" in x for x in chat.labels())
    await chat.press_payload(Payload("fair", "interest", str(closed)).pack())
    assert ("sudah ditutup" if lang == "id" else "closed on 1 Nov 2026") in chat.text, chat.text
    assert await test_fairs.interests(sessionmaker) == 0
