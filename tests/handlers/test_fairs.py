"""Export fairs in chat: an admin adds one, producers see theirs and say they are interested."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import func, select

from bot.runtime import FloodGuard, Kurasi
from db.fairs import FairData, import_fairs
from db.media_store import MediaStore
from db.models import Fair, FairInterest
from handlers.features.fairs import fair_text, interest_button, parse_date
from handlers.kit.context import FlowSettings
from handlers.kit.payload import Payload
from tests.factories import producer
from tests.handlers.test_registration import register
from tests.support import Chat, FakeClock, RecordingChannel

ADMIN = "9000"  # today is 2026-11-25 on the FakeClock


@pytest.fixture
def app(sessionmaker, clock: FakeClock, media_store: MediaStore) -> Kurasi:
    return Kurasi(
        sessionmaker=sessionmaker,
        clock=clock,
        media_store=media_store,
        debounce_seconds=60,
        flood=FloodGuard(limit=10_000),
        flow_settings=FlowSettings(review_channel="test", admin_ids=frozenset({ADMIN})),
    )


@pytest.fixture
def admin(app: Kurasi, channel: RecordingChannel) -> Chat:
    return Chat(app, channel, user_id=ADMIN, name="Admin Dinas")


def data(name: str, start: date, end: date, sectors: tuple[str, ...] = (), **more) -> FairData:
    return FairData(
        name=name, place="JIExpo Kemayoran", country="Indonesia", start_date=start,
        end_date=end, sectors=sectors, **more,
    )  # fmt: skip


async def store(sessionmaker, clock: FakeClock, *rows: FairData) -> list[int]:
    async with sessionmaker() as session, session.begin():
        fairs = await import_fairs(session, rows=rows, created_by=None, now=clock.now)
        return [f.id for f in fairs]


async def fairs_in_db(sessionmaker) -> list[Fair]:
    async with sessionmaker() as session:
        return list(await session.scalars(select(Fair).order_by(Fair.id)))


async def interests(sessionmaker) -> int:
    async with sessionmaker() as session:
        return await session.scalar(select(func.count()).select_from(FairInterest))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2027-04-21", date(2027, 4, 21)),
        (" 21-04-2027 ", date(2027, 4, 21)),
        ("21/4/2027", date(2027, 4, 21)),
        ("21.04.2027", date(2027, 4, 21)),
        ("2027/04/21", date(2027, 4, 21)),
        ("30-02-2027", None),
        ("21-04-27", None),
        ("besok", None),
        ("2027-04-21 sampai 25", None),
    ],
)
def test_parse_date(text: str, expected: date | None) -> None:
    assert parse_date(text) == expected


async def test_admin_adds_a_fair_step_by_step(admin: Chat, sessionmaker, clock) -> None:
    await admin.send("/pameran_baru")
    assert "nama pamerannya" in admin.text
    await admin.send("INACRAFT 2027")
    await admin.send("JCC Senayan, Jakarta")
    await admin.press("Indonesia")
    await admin.send("kapan-kapan")
    assert "2027-04-21" in admin.text and "tanggal" in admin.text  # re-asked with an example
    await admin.send("21-04-2027")
    await admin.send("20/04/2027")
    assert "tidak bisa berakhir sebelum dimulai" in admin.text
    await admin.send("25/04/2027")
    await admin.send("2027-04-30")
    assert "paling lambat" in admin.text
    await admin.send("2027-03-01")
    await admin.press("Kerajinan")
    await admin.press("Fesyen")
    await admin.press("Mebel")
    await admin.press("Mebel")  # untick
    assert "✅ Fesyen" in admin.labels() and "▫️ Mebel" in admin.labels()
    await admin.press("Selesai")
    await admin.send("bukan link")
    assert "https://" in admin.text
    await admin.send("inacraft.co.id")
    await admin.send("Pameran kerajinan terbesar di Asia Tenggara.")
    summary = admin.text
    assert "INACRAFT 2027" in summary and "21–25 Apr 2027" in summary
    assert "JCC Senayan, Jakarta, Indonesia" in summary and "1 Mar 2027" in summary
    assert "Fesyen, Kerajinan tangan" in summary and "https://inacraft.co.id" in summary
    await admin.press("Simpan")
    assert "Tersimpan sebagai pameran nomor" in admin.text
    (fair,) = await fairs_in_db(sessionmaker)
    assert (fair.name, fair.place, fair.country) == (
        "INACRAFT 2027",
        "JCC Senayan, Jakarta",
        "Indonesia",
    )
    assert (fair.start_date, fair.end_date) == (date(2027, 4, 21), date(2027, 4, 25))
    assert fair.registration_deadline == date(2027, 3, 1)
    assert fair.sectors == ["fashion", "handicraft"]
    assert fair.link == "https://inacraft.co.id"
    assert fair.description == "Pameran kerajinan terbesar di Asia Tenggara."
    assert fair.created_by is not None and fair.created_at == clock.now


async def test_optional_answers_skipped_and_every_sector(admin: Chat, sessionmaker) -> None:
    admin.language = "en"
    await admin.send("/language")
    await admin.press("English")
    await admin.send("/newfair")
    await admin.send("FOODEX Japan 2027")
    await admin.send("Makuhari Messe, Chiba")
    await admin.send("Japan")
    await admin.send("2027-03-09")
    await admin.send("2027-03-12")
    await admin.press("No deadline")
    await admin.press("All sectors")
    await admin.press("Skip")
    await admin.send("-")
    assert "not announced" in admin.text and "all sectors" in admin.text
    await admin.press("Save")
    (fair,) = await fairs_in_db(sessionmaker)
    assert fair.registration_deadline is None and fair.sectors == []
    assert fair.link is None and fair.description is None


async def test_an_end_date_in_the_past_and_cancel(admin: Chat, sessionmaker) -> None:
    await admin.send("/pameran_baru")
    for answer in ("TEI 2026", "ICE BSD", "Indonesia", "2026-10-14"):
        await admin.send(answer)
    assert "sudah lewat" in admin.text  # the start, at once (not after the end)
    for answer in ("2026-12-14", "2026-12-18", "tidak", "semua", "lewati", "lewati"):
        await admin.send(answer)
    assert "Silakan periksa" in admin.text
    await admin.press("Batal")
    assert await fairs_in_db(sessionmaker) == []


async def test_the_same_fair_twice_is_not_saved_twice(admin: Chat, sessionmaker, clock) -> None:
    await store(sessionmaker, clock, data("TEI 2026", date(2026, 12, 14), date(2026, 12, 18)))
    await admin.send("/pameran_baru")
    for answer in ("tei 2026", "ICE BSD", "Indonesia", "14-12-2026", "18-12-2026", "-", "semua"):
        await admin.send(answer)
    await admin.press("Lewati")
    await admin.press("Lewati")
    await admin.press("Simpan")
    assert "sudah tersimpan" in admin.text
    assert len(await fairs_in_db(sessionmaker)) == 1


async def test_non_admins_are_refused(chat: Chat, sessionmaker, clock) -> None:
    await chat.send("/pameran_baru")
    assert "hanya untuk admin" in chat.text
    await chat.send("/pameran_peminat")
    assert "hanya untuk admin" in chat.text
    await chat.send("INACRAFT 2027")  # no flow was opened
    assert await fairs_in_db(sessionmaker) == []


async def test_producer_sees_upcoming_fairs_of_their_sector(
    chat: Chat, sessionmaker, clock: FakeClock
) -> None:
    await store(
        sessionmaker,
        clock,
        data("Pameran Kuliner Jatim", date(2027, 1, 10), date(2027, 1, 12), ("food",),
             registration_deadline=date(2026, 12, 20), link="https://kuliner.example.id"),
        data("INACRAFT 2027", date(2027, 4, 21), date(2027, 4, 25), ("handicraft",)),
        data("SIAL Interfood 2026", date(2026, 11, 11), date(2026, 11, 14), ("food",)),
        data("Trade Expo Indonesia", date(2026, 11, 20), date(2026, 11, 26),
             registration_deadline=date(2026, 10, 1)),
    )  # fmt: skip
    await register(chat)  # a food business
    await chat.send("/pameran")
    texts = [r.text for r in chat.last]
    assert "Makanan & minuman" in texts[0]
    shown = texts[1:]
    assert len(shown) == 2
    assert shown[0].startswith("🌏 Trade Expo Indonesia")  # still running, sooner first
    assert "Pendaftaran sudah ditutup 1 Okt 2026" in shown[0]
    assert "🌏 Pameran Kuliner Jatim" in shown[1]
    assert "10–12 Jan 2027" in shown[1] and "JIExpo Kemayoran, Indonesia" in shown[1]
    assert "Daftar paling lambat 20 Des 2026" in shown[1]
    assert "https://kuliner.example.id" in shown[1]
    assert all("INACRAFT" not in t and "SIAL" not in t for t in texts)
    assert chat.labels() == ["Saya tertarik"]  # its registration closed: no button


async def test_without_a_business_every_upcoming_fair_shows(
    chat: Chat, sessionmaker, clock
) -> None:
    await store(
        sessionmaker,
        clock,
        data("Kuliner", date(2027, 1, 10), date(2027, 1, 12), ("food",)),
        data("INACRAFT", date(2027, 4, 21), date(2027, 4, 25), ("handicraft",)),
    )
    await chat.send("/pameran")
    assert len(chat.labels()) == 2


async def test_no_fairs_says_so(chat: Chat) -> None:
    await chat.send("/pameran")
    assert "belum ada pameran" in chat.text.lower()
    assert chat.labels() == []


async def test_interest_button_is_idempotent(chat: Chat, sessionmaker, clock) -> None:
    (fair_id,) = await store(
        sessionmaker, clock, data("Kuliner", date(2027, 1, 10), date(2027, 1, 12))
    )
    await register(chat)
    await chat.send("/pameran")
    payload = chat.button("Saya tertarik")
    assert Payload.unpack(payload) == Payload("fair", "interest", str(fair_id))
    await chat.press("Saya tertarik")
    assert "Dicatat" in chat.text and "Kuliner" in chat.text
    await chat.press_payload(payload)
    assert "sudah tercatat" in chat.text
    assert await interests(sessionmaker) == 1
    await chat.send("/pameran")
    assert "Anda sudah tercatat di daftar pameran ini" in chat.text
    await chat.send("/datasaya")
    exported = json.loads(chat.last[0].attachment.data)
    assert [i["fair"] for i in exported["fair_interests"]] == ["Kuliner"]


async def test_interest_in_a_gone_or_finished_fair(chat: Chat, sessionmaker, clock) -> None:
    (over,) = await store(sessionmaker, clock, data("Lama", date(2026, 10, 1), date(2026, 10, 3)))
    await chat.press_payload(Payload("fair", "interest", str(over)).pack())
    assert "sudah selesai" in chat.text
    await chat.press_payload(Payload("fair", "interest", "999").pack())
    assert "sudah tidak ada" in chat.text
    assert await interests(sessionmaker) == 0


async def test_interest_mid_flow_keeps_the_flow(chat: Chat, sessionmaker, clock) -> None:
    (fair_id,) = await store(
        sessionmaker, clock, data("Kuliner", date(2027, 1, 10), date(2027, 1, 12))
    )
    await chat.send("/start")
    await chat.press("Bahasa Indonesia")
    await chat.press_payload(Payload("fair", "interest", str(fair_id)).pack())
    assert "Dicatat" in chat.last[0].text
    assert "UU 27/2022" in chat.last[-1].text  # the open question is asked again


async def test_admin_lists_who_is_interested(
    app: Kurasi, channel: RecordingChannel, admin: Chat, chat: Chat, sessionmaker, clock
) -> None:
    kuliner, craft, _old = await store(
        sessionmaker,
        clock,
        data("Kuliner", date(2027, 1, 10), date(2027, 1, 12)),
        data("INACRAFT", date(2027, 4, 21), date(2027, 4, 25)),
        data("Lama", date(2026, 10, 1), date(2026, 10, 3)),
    )
    await register(chat)
    await chat.press_payload(Payload("fair", "interest", str(kuliner)).pack())
    async with sessionmaker() as session, session.begin():
        await producer(session, external_id="p2", now=clock.now)
    other = Chat(app, channel, user_id="p2")
    await other.press_payload(Payload("fair", "interest", str(kuliner)).pack())

    await admin.send("/pameran_peminat")
    assert len(admin.last) == 2  # upcoming fairs only
    first, second = (r.text for r in admin.last)
    assert first.startswith(f"#{kuliner} · Kuliner · 10–12 Jan 2027")
    assert "Produsen yang berminat: 2" in first
    assert "1. Keripik Tempe Bu Tini — Kota Malang — +6281234567890" in first
    assert "2. UD Usaha" in first and "Kabupaten Malang" in first
    assert f"#{craft} · INACRAFT" in second and "Belum ada yang berminat" in second

    await admin.send(f"/fairinterest {craft}")
    assert len(admin.last) == 1 and "INACRAFT" in admin.text
    await admin.send("/pameran_peminat 999")
    assert "Tidak ada pameran nomor 999" in admin.text
    await admin.send("/pameran_peminat kuliner")
    assert "/pameran_peminat 3" in admin.text


def test_shared_pieces_for_the_reminders() -> None:
    from bot.i18n import translator

    t = translator("id")
    fair = data("Kuliner", date(2026, 12, 30), date(2027, 1, 2), ("food", "spa"))
    text = fair_text(t, fair)
    assert "30 Des 2026 – 2 Jan 2027" in text
    assert "Makanan & minuman, Spa, jamu & kosmetik" in text
    assert "belum diumumkan" in text
    b = interest_button(translator("en"), 42)
    assert b.label == "I'm interested" and b.payload == "fair|interest|42"
