"""Every button anywhere can be typed: its label, its number, or a yes/no said the usual
ways, in both languages and on every channel (handlers/kit/typed.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.runtime import Kurasi
from bot.sender import MessageSender
from db.models import Business, User
from tests.handlers import test_review
from tests.handlers.test_registration import business_of
from tests.handlers.test_review import (
    after_undo_window,
    curator,
    make_curator,
    score_all,
    submit_via_chat,
)
from tests.support import Chat, RecordingChannel

app = test_review.app  # the review chat's fixtures
poster = test_review.poster

CHANNELS = ("test", "whatsapp", "console")


async def register_by_typing(chat: Chat, lang: str = "id") -> None:
    """Registration answered by typing only, as on WhatsApp."""
    await chat.send("daftar")
    await chat.send("bahasa indonesia" if lang == "id" else "english")
    await chat.send("setuju" if lang == "id" else "agree")
    await chat.send("Keripik Tempe Bu Tini")
    await chat.send("Tini Rahayu")
    await chat.send("0812 3456 7890")
    await chat.send("kota malang")
    await chat.send("makanan")
    await chat.send("1234567890123")
    await chat.send("pirt, halal")
    await chat.send("500 pcs")
    await chat.send("Malaysia")
    await chat.send("simpan" if lang == "id" else "save")
    assert ("terdaftar" if lang == "id" else "registered") in chat.text, chat.text


def on(app: Kurasi, name: str, *, user_id: str = "6281100") -> Chat:
    channel = RecordingChannel(app, name=name)
    return Chat(app, channel, user_id=user_id, name="Tini")


async def user_of(sessionmaker, chat: Chat) -> User:
    async with sessionmaker() as session:
        user = await session.scalar(select(User).where(User.external_id == chat.user_id))
        assert user is not None
        return user


@pytest.mark.parametrize("where", CHANNELS)
async def test_english_typed_after_bahasa(app: Kurasi, sessionmaker, where: str) -> None:
    chat = on(app, where)
    await register_by_typing(chat)
    await chat.send("/bahasa")
    await chat.send("english")
    assert "Language set to English" in chat.text
    await chat.send("bahasa")
    await chat.send("indonesia")
    assert (await user_of(sessionmaker, chat)).language == "id"


@pytest.mark.parametrize("where", CHANNELS)
@pytest.mark.parametrize(
    ("lang", "off", "on_"),
    [("id", "matikan pengumuman", "nyalakan pengumuman"),
     ("en", "turn off announcements", "turn on announcements")],
)  # fmt: skip
async def test_switches_in_pengingat_typed(
    app: Kurasi, sessionmaker, where: str, lang: str, off: str, on_: str
) -> None:
    chat = on(app, where)
    await register_by_typing(chat, lang)
    await chat.send("pengingat" if lang == "id" else "reminders")
    await chat.send(off)
    assert (await user_of(sessionmaker, chat)).reminder_optouts == ["announcements"]
    await chat.send(off)  # said twice, still off (a typed switch is not a toggle)
    assert (await user_of(sessionmaker, chat)).reminder_optouts == ["announcements"]
    await chat.send(on_)
    assert (await user_of(sessionmaker, chat)).reminder_optouts == []
    await chat.send("2")  # the second switch by its number: revisions
    assert (await user_of(sessionmaker, chat)).reminder_optouts == ["revisions"]


@pytest.mark.parametrize("where", CHANNELS)
@pytest.mark.parametrize(
    ("lang", "yes", "no"), [("id", "ya hapus semuanya", "gak"), ("en", "yes", "no")]
)
async def test_the_erasure_confirmation_typed(
    app: Kurasi, sessionmaker, where: str, lang: str, yes: str, no: str
) -> None:
    chat = on(app, where)
    await register_by_typing(chat, lang)
    await chat.send("hapus data" if lang == "id" else "delete data")
    await chat.send(no)
    assert ("Tidak ada yang dihapus" if lang == "id" else "Nothing was deleted") in chat.text
    await chat.send("hapus data")
    await chat.send("produk" if lang == "id" else "products")  # not trapped: /produk answers
    assert "Delete everything" not in chat.text and "Hapus semuanya?" not in chat.text
    assert await business_of(sessionmaker, chat.user_id) is not None
    await chat.send("/hapusdata")
    await chat.send(yes)
    assert await business_of(sessionmaker, chat.user_id) is None


@pytest.mark.parametrize("where", CHANNELS)
@pytest.mark.parametrize(("lang", "hello"), [("id", "halo"), ("en", "Hi")])
async def test_a_registered_producer_says_hello(app: Kurasi, where: str, lang: str, hello) -> None:
    chat = on(app, where)
    await register_by_typing(chat, lang)
    await chat.send(hello)
    assert ("Halo, Keripik Tempe Bu Tini" if lang == "id" else "Hello, Keripik") in chat.text
    assert "mengerti" not in chat.text and "understand" not in chat.text


@pytest.mark.parametrize(("lang", "yes"), [("id", "ya boleh"), ("en", "yes")])
async def test_the_consent_question_of_an_approval_typed(
    app: Kurasi, channel: RecordingChannel, chat: Chat, poster: MessageSender, sessionmaker, clock,
    lang: str, yes: str,
) -> None:  # fmt: skip
    from tests.handlers.test_catalogue_consent import _approve

    await _approve(app, channel, chat, poster, sessionmaker, clock)
    if lang == "en":
        async with sessionmaker() as session, session.begin():
            user = await session.scalar(select(User).where(User.external_id == chat.user_id))
            user.language = "en"
    await chat.send(yes)
    assert ("tombol WhatsApp" if lang == "id" else "WhatsApp button") in chat.text, chat.text
    async with sessionmaker() as session:
        assert (await session.scalar(select(Business))).contact_consent is True


@pytest.mark.parametrize(("lang", "typed"), [("id", "perbaiki"), ("en", "edit")])
async def test_perbaiki_typed_on_a_revision_notice(
    app: Kurasi, channel: RecordingChannel, chat: Chat, poster: MessageSender, sessionmaker, clock,
    lang: str, typed: str,
) -> None:  # fmt: skip
    await submit_via_chat(chat)
    if lang == "en":
        await chat.send("/bahasa")
        await chat.press("English")
    await poster.run_until_idle()
    await make_curator(sessionmaker, clock, "c1")
    sari = curator(app, channel, "c1", "Sari")
    await sari.press("Ambil")
    await score_all(sari, channel)
    await sari.press("Revisi")
    await sari.press("Foto kurang jelas")
    await sari.press("Kirim permintaan revisi")
    await after_undo_window(app, clock)
    await chat.send(typed)
    assert ("Ubah data" if lang == "id" else "Edit") in " ".join(chat.labels()), chat.text


@pytest.mark.parametrize(("lang", "said"), [("id", "Ketik daftar"), ("en", "Type register")])
async def test_whatsapp_texts_say_what_to_type(app: Kurasi, lang: str, said: str) -> None:
    chat = on(app, "whatsapp")
    chat.language = lang
    await chat.send("apa ini")  # a stranger: the nudge says how to register
    assert said in chat.text and "/start" not in chat.text, chat.text
    await chat.send("/bantuan")
    assert "/produk_baru" not in chat.text
    assert ("produk baru –" if lang == "id" else "new product –") in chat.text
    telegram = on(app, "test", user_id="555")
    telegram.language = lang
    await telegram.send("apa ini")
    assert "/start" in telegram.text  # where commands have a menu, they are named


@pytest.mark.parametrize("where", CHANNELS)
@pytest.mark.parametrize(
    ("lang", "verdict", "typed", "then"),
    [("id", "revise", "perbaiki", "Ubah data"), ("en", "revise", "edit", "Edit"),
     ("id", "approve", "ya boleh", "tombol WhatsApp"), ("en", "approve", "yes", "WhatsApp button")],
)  # fmt: skip
async def test_a_notice_answered_by_typing_on_each_channel(
    app: Kurasi, channel: RecordingChannel, poster: MessageSender, sessionmaker, clock,
    media_store, where: str, lang: str, verdict: str, typed: str, then: str,
) -> None:  # fmt: skip
    from tests.factories import submitted_product
    from tests.handlers.test_review import FOOD_CHAT

    await submitted_product(
        sessionmaker, now=clock.now, store=media_store, chat_id=FOOD_CHAT, channel="test",
        owner="62877",
    )  # fmt: skip
    async with sessionmaker() as session, session.begin():
        user = await session.scalar(select(User).where(User.external_id == "62877"))
        user.channel, user.language = where, lang  # the producer writes from there
    on_channel = channel if where == channel.name else RecordingChannel(app, name=where)
    producer = Chat(app, on_channel, user_id="62877", language=lang)
    await poster.run_until_idle()
    await make_curator(sessionmaker, clock, "c1")
    sari = curator(app, channel, "c1", "Sari")
    await sari.press("Ambil")
    await score_all(sari, channel, column=3 if verdict == "approve" else 2)
    if verdict == "revise":
        await sari.press("Revisi")
        await sari.press("Foto kurang jelas")
        await sari.press("Kirim permintaan revisi")
    else:
        await sari.press("Setujui")
        assert await after_undo_window(app, clock) == 1
    assert any(chat == "62877" for chat, _ in on_channel.sent)  # told on their channel
    await producer.send(typed)
    shown = producer.text + " ".join(
        [b.label for r in producer.last for row in r.buttons for b in row]
        + [row.title for r in producer.last if r.menu for row in r.menu.rows]
    )
    assert then in shown, shown
