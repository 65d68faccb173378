"""The real flows through the runtime on channels with WhatsApp's and the console's
capabilities: onboarding and a product, every reply within the platform's limits."""

from __future__ import annotations

from handlers.kit.capabilities import CONSOLE, WHATSAPP, Capabilities
from handlers.kit.events import ButtonPress, Reply
from tests.handlers.test_forms import check_limits
from tests.handlers.test_registration import business_of
from tests.support import Chat, RecordingChannel


async def choose(chat: Chat, label: str) -> list[Reply]:
    """Tap a reply button or a list row whose title contains `label`."""
    for reply in reversed(chat.last):
        options = [(b.label, b.payload) for row in reply.buttons for b in row]
        options += [(r.title, r.payload) for r in (reply.menu.rows if reply.menu else ())]
        for title, payload in options:
            if label.lower() in title.lower():
                return await chat.send_event(ButtonPress(payload))
    raise AssertionError(f"no {label!r} in {chat.last}")


def within(caps: Capabilities, channel: RecordingChannel) -> None:
    for _chat, reply in channel.sent:
        if reply.to is None:
            check_limits(caps, reply)


async def test_onboarding_on_whatsapp_uses_lists_and_typed_numbers(app, sessionmaker) -> None:
    channel = RecordingChannel(app, name="whatsapp")
    chat = Chat(app, channel, user_id="62811")
    await chat.send("/start")
    await choose(chat, "Bahasa Indonesia")
    await choose(chat, "setuju")
    await chat.send("Keripik Tempe Bu Tini")
    await chat.send("Tini Rahayu")
    assert not chat.last[0].ask_contact  # no one-tap contact button on WhatsApp
    await chat.send("0812 3456 7890")
    await chat.send("banyuwangi")
    sector_question = chat.last[-1]
    assert sector_question.menu is not None and len(sector_question.menu.rows) == 7
    await chat.send("mAkanan")  # the typed label works
    await chat.send("1234567890123")
    assert "1 3 4" in chat.text  # a checklist offers typed numbers where nothing is edited
    await choose(chat, "PIRT")
    assert chat.last[0].edit is False and chat.last[0].menu is not None  # re-sent, not edited
    await chat.send("1 3")  # typed numbers replace the ticks: PIRT and Halal
    await chat.send("500")
    await choose(chat, "kg")
    await choose(chat, "Belum")
    (summary,) = chat.last
    assert summary.menu is not None and len(summary.menu.rows) == 10
    await choose(chat, "Nama usaha")
    await chat.send("Keripik Tempe Bu Tini Banyuwangi")
    await choose(chat, "Simpan")
    assert "terdaftar" in chat.text
    business = await business_of(sessionmaker, chat.user_id)
    assert business.name == "Keripik Tempe Bu Tini Banyuwangi"
    assert (business.sector, business.legal_docs) == ("food", ["pirt", "halal"])
    assert (business.capacity_amount, business.capacity_unit) == (500, "kg")
    within(WHATSAPP, channel)


async def test_the_console_gets_buttons_it_numbers_and_never_an_edit(app, sessionmaker) -> None:
    channel = RecordingChannel(app, name="console")
    chat = Chat(app, channel, user_id="local")
    await chat.send("/start")
    await chat.press("Bahasa Indonesia")
    await chat.press("setuju")
    for answer in ("Batik Sekar", "Sekar", "0812 3456 7890", "kota malang"):
        await chat.send(answer)
    await chat.press("Fesyen")
    await chat.press("Belum punya")
    await chat.press("SNI")
    assert chat.last[0].edit is False
    await chat.press("Selesai")
    await chat.send("200 set")
    await chat.press("Belum")
    await chat.press("Simpan")
    business = await business_of(sessionmaker, chat.user_id)
    assert business.registered_at is not None and business.legal_docs == ["sni"]
    within(CONSOLE, channel)
