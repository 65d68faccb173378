"""A WhatsApp producer's whole journey, with curators on Telegram: onboarding and a product with
two photos on WhatsApp (pywa against the fake Graph API), the card and photos in the Telegram
review chat (aiogram against the fake Bot API), a revision request heard on WhatsApp, the edit
and resubmission, and the approval heard on WhatsApp. Both fakes check every call against the
platforms' specifications and limits."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot.app import Runtime
from bot.channels.whatsapp import Template, WhatsAppChannel
from bot.config import load_settings
from bot.http import WHATSAPP_WEBHOOK_PATH, make_http_app
from bot.notify import Notifier
from bot.sender import MessageSender
from db.models import Business, Photo, Product, User
from db.outbox import NOTICE
from db.reviews import add_curator
from tests.bot.telegram_driver import Person, Tracker, running_bot
from tests.factories import submitted_product
from tests.fakes.telegram import FakeTelegram
from tests.fakes.whatsapp import Call, FakeWhatsApp
from tests.support import FakeClock, make_photo

WA = "6281234567890"
GROUP = -100555
CURATOR = 8800


@pytest.fixture
async def tg(clock: FakeClock) -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(clock=lambda: clock.now.timestamp()) as server:
        yield server


@pytest.fixture
async def wa() -> AsyncIterator[FakeWhatsApp]:
    async with FakeWhatsApp() as server:
        yield server
    # Nothing Meta would refuse for its shape or limits (131047, the window, is Meta's to say).
    refused = [c for c in server.calls if c.error and c.error.code != 131047]
    assert not refused, [(c.body, c.error) for c in refused]


@pytest.fixture
async def bot(
    tg: FakeTelegram, wa: FakeWhatsApp, database_url: str, sessionmaker: Any, tmp_path: Path, clock
) -> AsyncIterator[tuple[Runtime, Tracker]]:
    settings = load_settings(
        None,
        database={"url": database_url},
        telegram={"token": tg.token, "api_base": tg.base_url, "admin_ids": [1]},
        whatsapp={
            "phone_number_id": wa.phone_number_id,
            "token": wa.token,
            "app_secret": wa.app_secret,
            "verify_token": "verify",
            "graph_api_base": wa.base_url,
        },
        media={"dir": tmp_path / "media"},
        limits={"flood_messages": 10_000},
        review={"chats": [{"chat_id": GROUP, "sectors": []}]},
    )
    async with running_bot(settings, tg, clock=clock) as (runtime, tracker):
        yield runtime, tracker


class Producer:
    """The producer at a WhatsApp phone: writes, taps buttons and list rows, sends photos."""

    def __init__(self, client: TestClient, wa: FakeWhatsApp, channel: WhatsAppChannel) -> None:
        self.client, self.wa, self.channel = client, wa, channel

    async def send(self, message: dict[str, Any]) -> list[Call]:
        before = len(self.wa.messages(WA))
        status = await self.wa.post(
            str(self.client.make_url(WHATSAPP_WEBHOOK_PATH)), self.wa.webhook(WA, message)
        )
        assert status == 200
        await self.channel.idle()
        return self.wa.messages(WA)[before:]

    async def say(self, text: str) -> list[Call]:
        return await self.send(self.wa.text(text))

    async def press(self, label: str) -> list[Call]:
        """Tap the newest reply button or list row whose title contains `label`."""
        seen = []
        for call in reversed(self.wa.messages(WA)):
            for title, button_id in call.buttons:
                seen.append(title)
                if label.lower() in title.lower():
                    return await self.send(self.wa.button_reply(button_id, title))
        raise AssertionError(f"no button {label!r}; seen: {seen[:20]}")

    @property
    def last(self) -> str:
        return self.wa.messages(WA)[-1].text


class Curator:
    """A curator in the Telegram review chat."""

    def __init__(self, tg: FakeTelegram, tracker: Tracker) -> None:
        self.tg, self.tracker = tg, tracker
        self.chat = Person(tg, tracker, GROUP)  # finds buttons in the group's messages

    @classmethod
    async def appointed(
        cls, tg: FakeTelegram, tracker: Tracker, sessionmaker: Any, clock: FakeClock
    ) -> Curator:
        async with sessionmaker() as session, session.begin():
            await add_curator(
                session,
                external_id=str(CURATOR),
                chat_id=None,
                added_by="1",
                now=clock.now,
                channel="telegram",
            )
        return cls(tg, tracker)

    async def press(self, label: str) -> None:
        message_id, data = self.chat.find_button(label)
        await self.press_data(data, message_id)

    async def press_data(self, data: str, message_id: int) -> None:
        update = self.tg.callback(
            CURATOR, data, message_id=message_id, chat_id=GROUP, chat_type="supergroup"
        )
        await self.tracker.wait(self.tg.push_update(update))

    async def score_all(self, column: int) -> None:
        """Every rubric criterion scored by the button in `column` of its row."""
        message_id, _ = self.chat.find_button("Setujui")
        for criterion in range(7):
            card = self.tg.message_in(GROUP, message_id) or {}
            row = card["reply_markup"]["inline_keyboard"][criterion]
            await self.press_data(row[column]["callback_data"], message_id)


async def onboard(p: Producer) -> None:
    await p.say("halo")  # a stranger's first words: the way in, as buttons
    await p.press("Daftar")
    await p.press("Bahasa Indonesia")
    await p.press("Setuju")
    await p.say("Keripik Tempe Bu Tini")
    await p.press("Tini")  # the WhatsApp profile name, offered
    # The number is known on WhatsApp: offered, not asked.
    offer = p.wa.messages(WA)[-1]
    assert "+6281234567890" in offer.text and offer.type == "interactive"
    await p.press("Pakai nomor ini")
    await p.say("Kota Malang")
    await p.press("Makanan")
    await p.say("1234567890123")
    # The legal documents checklist: WhatsApp cannot edit, so each tap re-sends it compactly,
    # and numbers can be typed instead.
    checklist = p.wa.messages(WA)[-1]
    assert "1 3 4" in checklist.text and checklist.body["interactive"]["type"] == "list"
    ticked = await p.press("PIRT")
    assert len(ticked) == 1 and len(ticked[0].text) < len(checklist.text)
    assert any(title.startswith("✅") and "PIRT" in title for title, _ in ticked[0].buttons)
    await p.press("Selesai")
    await p.say("500 pcs")
    await p.press("Belum")
    await p.press("Simpan")


async def submit_product(p: Producer, runtime: Runtime) -> None:
    await p.say("Produk Baru")
    await p.say("Keripik Tempe Original")
    await p.press("⭐")
    await p.say("Keripik tempe tipis dan renyah dari kedelai lokal.")
    await p.press("Lewati")  # the English description is optional
    await p.say("25rb")
    await p.press("pack")
    for answer in ("10", "500", "tempe, minyak kelapa", "6 bulan"):
        await p.say(answer)
    await p.say("1")  # the documents, typed by number: PIRT
    await p.press("Selesai")
    await p.say("P-IRT 2063573010158-28")  # its number (Kota Malang, until 2028)
    for seed in (41, 42):
        await p.send(p.wa.image(make_photo(seed=seed)))
    await runtime.app.drain()  # the photos' acknowledgement waits out its debounce
    assert "Foto 2" in p.last
    card = await p.press("Selesai")
    assert len([c for c in card if c.type == "image"]) == 2
    replies = await p.press("Ajukan")
    if not any("diajukan" in r.text for r in replies):
        replies = await p.press("Tetap ajukan")
    assert any("diajukan" in r.text for r in replies)


async def test_a_whatsapp_producer_is_curated_on_telegram_from_start_to_approval(
    bot: tuple[Runtime, Tracker],
    tg: FakeTelegram,
    wa: FakeWhatsApp,
    sessionmaker: Any,
    clock: FakeClock,
) -> None:
    runtime, tracker = bot
    assert runtime.whatsapp is not None
    app = make_http_app(runtime.engine, whatsapp=runtime.whatsapp)
    async with TestClient(TestServer(app)) as client:
        p = Producer(client, wa, runtime.whatsapp)
        await onboard(p)
        async with sessionmaker() as session:
            business = await session.scalar(select(Business))
            user = await session.scalar(select(User))
        assert business.registered_at is not None and business.phone == "+6281234567890"
        assert user.channel == "whatsapp" and user.phone == "+6281234567890"
        assert business.legal_docs and "pirt" in [d.lower() for d in business.legal_docs]

        await submit_product(p, runtime)
        poster = MessageSender(runtime.app)
        assert await poster.run_until_idle() == 1
        photos = tg.sent("sendMediaGroup", chat_id=GROUP) or tg.sent("sendPhoto", chat_id=GROUP)
        assert photos, [c.method for c in tg.sent(chat_id=GROUP)]
        card = tg.sent("sendMessage", chat_id=GROUP)[-1]
        assert "Keripik Tempe Original" in card.params["text"]
        assert "Keripik Tempe Bu Tini" in card.params["text"]

        curator = await Curator.appointed(tg, tracker, sessionmaker, clock)
        await curator.press("Ambil")
        await curator.score_all(2)  # scored: a picked reason is enough to decide
        await curator.press("Revisi")
        await curator.press("Foto kurang jelas")
        heard = len(wa.messages(WA))
        await curator.press("Kirim")
        await _settle(runtime)
        notice = wa.messages(WA)[heard:]
        assert notice and "Foto kurang jelas" in notice[-1].text, [n.text for n in notice]

        # The producer follows the notice's button, fixes the price, and submits again.
        await p.press(notice[-1].buttons[0][0])
        fields = (await p.press("Ubah data"))[-1]
        assert fields.type == "text" and "Harga" in fields.text  # more than a list holds
        await p.say("harga")  # typed by name
        await p.say("22.500")
        replies = await p.press("Ajukan")
        if not any("diajukan" in r.text for r in replies):
            await p.press("Tetap ajukan")
        async with sessionmaker() as session:
            product = await session.scalar(select(Product))
        assert (product.status, product.round, product.price) == ("submitted", 2, 22500)

        assert await poster.run_until_idle() == 1
        second = tg.sent("sendMessage", chat_id=GROUP)[-1].params["text"]
        assert "ronde 2" in second.lower() and "harga" in second.lower()
        await curator.press("Ambil")
        await curator.score_all(column=3)
        heard = len(wa.messages(WA))
        await curator.press("Setujui")
        # The approval is told once the curator's 30-second undo window has closed.
        clock.advance(seconds=31)
        schedule = replace(runtime.settings.reminders.schedule(), quiet_hours=None)
        notifier = Notifier(runtime.app, schedule=schedule, timezone="Asia/Jakarta")
        assert await notifier.send_due() == 1
        await _settle(runtime)
        told = wa.messages(WA)[heard:]
        assert told and "disetujui" in told[-1].text.lower(), [t.text for t in told]
        async with sessionmaker() as session:
            product = await session.scalar(select(Product))
            stored = list(await session.scalars(select(Photo)))
        assert product.status == "approved" and len(stored) == 2


async def _settle(runtime: Runtime) -> None:
    """Let messages to others (the decision notice to WhatsApp) go out."""
    await runtime.app.drain()
    assert runtime.whatsapp is not None
    await runtime.whatsapp.idle()
    await asyncio.sleep(0)


async def revision_requested_30_hours_later(
    bot: tuple[Runtime, Tracker],
    tg: FakeTelegram,
    wa: FakeWhatsApp,
    sessionmaker: Any,
    clock: FakeClock,
    templates: dict[str, Template],
) -> None:
    """A WhatsApp producer last wrote 30 hours ago; a curator claims their product and asks
    for a revision (Meta refuses free text outside the 24-hour window)."""
    runtime, tracker = bot
    assert runtime.whatsapp is not None and runtime.app.media_store is not None
    runtime.whatsapp.templates = templates
    wa.enforce_window = True
    wa.last_inbound[WA] = (clock.now - timedelta(hours=30)).timestamp()
    product = await submitted_product(
        sessionmaker,
        now=clock.now,
        store=runtime.app.media_store,
        channel="telegram",  # the review chat's
        owner=WA,
        chat_id=str(GROUP),
        name="Keripik Tempe Sanan",
    )
    async with sessionmaker() as session, session.begin():
        user = await session.scalar(select(User).where(User.external_id == WA))
        user.channel = "whatsapp"  # the producer writes from WhatsApp
        user.last_inbound_at = clock.now - timedelta(hours=30)
    assert await MessageSender(runtime.app).run_until_idle() == 1
    curator = await Curator.appointed(tg, tracker, sessionmaker, clock)
    await curator.press("Ambil")
    await curator.score_all(2)  # scored: a picked reason is enough to decide
    for label in ("Revisi", "Foto kurang jelas", "Kirim"):
        await curator.press(label)
    await _settle(runtime)
    async with sessionmaker() as session:
        assert (await session.get(Product, product.id)).status == "revision_requested"


async def test_a_revision_requested_30_hours_after_they_wrote_goes_as_the_template(
    bot: tuple[Runtime, Tracker],
    tg: FakeTelegram,
    wa: FakeWhatsApp,
    sessionmaker: Any,
    clock: FakeClock,
) -> None:
    template = Template("kurasi_revisi", "id", ("product",))
    await revision_requested_30_hours_later(
        bot, tg, wa, sessionmaker, clock, {"revision": template}
    )
    [sent] = wa.messages(WA)
    assert sent.type == "template" and sent.body["template"]["name"] == "kurasi_revisi"
    [component] = sent.body["template"]["components"]
    assert component["parameters"] == [{"type": "text", "text": "Keripik Tempe Sanan"}]


async def test_without_a_template_the_revision_waits_for_the_producer_to_write(
    bot: tuple[Runtime, Tracker],
    tg: FakeTelegram,
    wa: FakeWhatsApp,
    sessionmaker: Any,
    clock: FakeClock,
) -> None:
    await revision_requested_30_hours_later(bot, tg, wa, sessionmaker, clock, {})
    assert wa.messages(WA) == []  # outside the window, no template: held, not lost
    runtime, _tracker = bot
    assert runtime.whatsapp is not None
    app = make_http_app(runtime.engine, whatsapp=runtime.whatsapp)
    async with TestClient(TestServer(app)) as client:
        await Producer(client, wa, runtime.whatsapp).say("halo")
    await MessageSender(runtime.app, kinds=frozenset({NOTICE})).run_until_idle()
    texts = [call.text for call in wa.messages(WA)]
    # Writing opens the window: the held notices go out as ordinary messages, in order.
    assert any("Foto kurang jelas" in text or "foto" in text.lower() for text in texts), texts
    assert sum("Keripik Tempe Sanan" in text for text in texts) >= 2, texts  # claimed + revision
