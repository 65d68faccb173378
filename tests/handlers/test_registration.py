"""Onboarding as a producer experiences it, on the recording channel (no Telegram involved)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.runtime import Kurasi
from db.models import Business, Conversation, User
from tests.support import Chat, FakeClock, RecordingChannel


async def business_of(sm: async_sessionmaker[AsyncSession], external_id: str) -> Business | None:
    async with sm() as session:
        return await session.scalar(
            select(Business).join(User).where(User.external_id == external_id)
        )


async def start_registration(chat: Chat) -> None:
    await chat.send("/start")
    assert "Pilih bahasa" in chat.text
    await chat.press("Bahasa Indonesia")
    assert "UU 27/2022" in chat.text
    await chat.press("setuju")


async def register(chat: Chat) -> None:
    await start_registration(chat)
    await chat.send("Keripik Tempe Bu Tini")
    await chat.send("Tini Rahayu")
    await chat.share_contact("6281234567890")
    await chat.send("malang")
    await chat.press("Kota Malang")
    await chat.press("Makanan")
    await chat.send("1234 5678 90123")
    await chat.press("PIRT")
    await chat.press("Halal")
    await chat.press("Selesai")
    await chat.send("500 pcs")
    await chat.send("Malaysia, Jepang")
    assert "Keripik Tempe Bu Tini" in chat.text  # the summary
    await chat.press("Simpan")


async def test_producer_completes_onboarding(chat: Chat, sessionmaker, clock: FakeClock) -> None:
    await register(chat)
    assert "terdaftar" in chat.text
    business = await business_of(sessionmaker, chat.user_id)
    assert business is not None
    assert (business.name, business.owner_name, business.phone) == (
        "Keripik Tempe Bu Tini",
        "Tini Rahayu",
        "+6281234567890",
    )
    assert (business.region_code, business.sector) == ("35.73", "food")
    assert (business.nib, business.has_nib) == ("1234567890123", True)
    assert business.legal_docs == ["pirt", "halal"]
    assert (business.capacity_amount, business.capacity_unit) == (500, "pcs")
    assert business.export_markets == ["Malaysia", "Jepang"]
    assert business.registered_at == clock.now
    async with sessionmaker() as session:
        user = await session.scalar(select(User).where(User.external_id == chat.user_id))
        conv = await session.get(Conversation, user.id)
    assert user.language == "id" and user.consented_at is not None
    assert user.phone == "+6281234567890"  # shared their own contact
    assert conv.flow is None


async def test_english_speaker_types_answers_and_skips_optional_ones(chat: Chat, sessionmaker):
    chat.language = "en"
    await chat.send("/start")
    await chat.press("English")
    assert "Do you agree?" in chat.text
    await chat.send("yes")
    await chat.send("Rattan Works")
    await chat.press("Tini Rahayu")  # offered the Telegram name as the owner's name
    await chat.send("+62 31-555-1234")
    await chat.send("sby")
    await chat.send("furniture")
    await chat.send("belum punya")
    await chat.press("None of these")
    await chat.send("1.000")
    assert "of what" in chat.text
    await chat.press("set")
    await chat.press("Not yet")
    assert "Please check your answers" in chat.text
    await chat.press("Save")
    assert "is registered" in chat.text
    business = await business_of(sessionmaker, chat.user_id)
    assert business.owner_name == "Tini Rahayu"
    assert business.phone == "+62315551234"
    assert business.region_code == "35.78"
    assert (business.nib, business.has_nib, business.legal_docs) == (None, False, [])
    assert (business.capacity_amount, business.capacity_unit) == (1000, "set")
    assert business.export_markets == []


async def test_restart_mid_flow_resumes_where_the_producer_was(
    chat: Chat, sessionmaker, clock: FakeClock
) -> None:
    await start_registration(chat)
    await chat.send("Batik Tulis Sekar")
    # A new process: new runtime, new channel, same database.
    fresh = Kurasi(sessionmaker=sessionmaker, clock=clock)
    again = Chat(fresh, RecordingChannel(fresh), user_id=chat.user_id)
    await again.send("Sekar Arum")
    assert "nomor" in again.text.lower()  # the phone question comes next
    business = await business_of(sessionmaker, chat.user_id)
    assert (business.name, business.owner_name) == ("Batik Tulis Sekar", "Sekar Arum")


async def test_duplicate_update_is_handled_once(chat: Chat, sessionmaker) -> None:
    await start_registration(chat)
    from handlers.kit.events import Text

    first = await chat.send_event(Text("Kopi Ijen"), update_key="dup-1")
    again = await chat.send_event(Text("Something else"), update_key="dup-1")
    assert first and not again
    assert (await business_of(sessionmaker, chat.user_id)).name == "Kopi Ijen"
    assert (await business_of(sessionmaker, chat.user_id)).owner_name is None


async def test_bad_input_is_refused_and_the_flow_stays(chat: Chat, sessionmaker) -> None:
    await start_registration(chat)
    await chat.send("x" * 5000)
    assert "terlalu panjang" in chat.text.lower() or "too long" in chat.text.lower()
    assert "nama usaha" in chat.text.lower() or "name of your business" in chat.text
    await chat.send_unsupported("sticker")
    await chat.send_unsupported("voice")
    await chat.send_unsupported("location")
    assert (await business_of(sessionmaker, chat.user_id)).name is None
    await chat.send("UD Maju Jaya")
    await chat.send("Pak Slamet")
    await chat.send("nomor saya rahasia")
    await chat.send_unsupported("sticker")
    await chat.send("0812-3456-7890")
    await chat.send("Atlantis")
    await chat.send("Banyuwangi")
    await chat.send("bukan sektor")
    await chat.press("Kerajinan")
    await chat.send("12345")
    assert "13" in chat.text
    await chat.send("1234567890123")
    await chat.send("halal, sesuatu")
    await chat.send("tidak ada")
    await chat.send("banyak sekali")
    await chat.send("-5 pcs")
    await chat.send("300 lembar")
    business = await business_of(sessionmaker, chat.user_id)
    assert business.name == "UD Maju Jaya"
    assert business.phone == "+6281234567890"
    assert business.region_code == "35.10"
    assert business.sector == "handicraft"
    assert business.nib == "1234567890123"
    assert business.legal_docs == []
    assert (business.capacity_amount, business.capacity_unit) == (300, "lembar")


async def test_every_refusal_repeats_the_question(chat: Chat) -> None:
    await start_registration(chat)
    for _ in range(2):
        await chat.send("Toko")
    # now at the phone step
    replies = await chat.send("abc")
    assert len(replies) == 2  # what was wrong, then the question again
    assert replies[1].ask_contact


async def test_old_button_from_a_finished_flow(chat: Chat) -> None:
    await register(chat)
    stale = chat.channel.sent[0][1]  # the very first language question
    await chat.press_payload(stale.buttons[0][0].payload)
    assert chat.last  # not silence
    await chat.send("/batal")
    await chat.press_payload("reg|sector|food")
    assert "langkah sebelumnya" in chat.text.lower() or "earlier step" in chat.text
    await chat.press_payload("garbage-that-we-never-made")
    assert chat.last


async def test_cancel_keeps_the_draft_and_start_continues(chat: Chat, sessionmaker) -> None:
    await start_registration(chat)
    await chat.send("Sambal Pecel Mbok Yem")
    await chat.send("/batal")
    assert (await business_of(sessionmaker, chat.user_id)).name == "Sambal Pecel Mbok Yem"
    await chat.send("halo")
    assert "/start" in chat.text
    await chat.send("/start")
    assert chat.last
    await chat.send("Mbok Yem")
    assert (await business_of(sessionmaker, chat.user_id)).owner_name == "Mbok Yem"


async def test_summary_fixes_a_field_then_returns(chat: Chat, sessionmaker) -> None:
    await register(chat)
    await chat.send("/profil")
    assert "Keripik Tempe Bu Tini" in chat.text
    await chat.press("Nama usaha")
    await chat.send("Keripik Tempe Bu Tini Malang")
    assert "Keripik Tempe Bu Tini Malang" in chat.text  # back at the profile
    await chat.press("Selesai")
    assert (await business_of(sessionmaker, chat.user_id)).name == "Keripik Tempe Bu Tini Malang"


async def test_declining_privacy_stores_nothing(chat: Chat, sessionmaker) -> None:
    await chat.send("/start")
    await chat.press("Bahasa Indonesia")
    await chat.press("Tidak")
    assert "/start" in chat.text
    assert await business_of(sessionmaker, chat.user_id) is None
    await chat.send("Toko saya")
    assert "/start" in chat.text


async def test_help_and_unknown_command_never_leave_silence(chat: Chat) -> None:
    await chat.send("/bantuan")
    assert "/profil" in chat.text and "/batal" in chat.text
    await chat.send("/entahlah")
    assert "/bantuan" in chat.text
    await start_registration(chat)
    await chat.send("/bantuan")
    # Two messages: the help, which ends by pointing at the open question, then the question.
    help_reply, question = chat.last
    assert "/batal" in help_reply.text and help_reply.text.endswith("/batal untuk berhenti.")
    assert question.text == "Apa nama usaha Anda?"


async def test_switching_language(chat: Chat) -> None:
    await register(chat)
    await chat.send("/bahasa")
    await chat.press("English")
    assert "English" in chat.text
    await chat.send("/profil")
    assert "Business name" in chat.text
