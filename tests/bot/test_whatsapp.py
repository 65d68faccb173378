"""The WhatsApp channel end to end: Meta's webhook into the HTTP app, the flows, and replies
through pywa's async client to the fake Graph API (which checks every message against Meta's
schema and WhatsApp's interactive limits)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from bot.app import Runtime, build
from bot.channels.base import Undeliverable
from bot.channels.whatsapp import (
    OutsideWindow,
    Template,
    WhatsAppChannel,
)
from bot.config import load_settings
from bot.http import WHATSAPP_WEBHOOK_PATH, make_http_app
from bot.notify import Notifier
from bot.poster import ReviewPoster
from db.models import (
    Conversation,
    Notification,
    Photo,
    ProcessedUpdate,
    Product,
    ProductStatus,
    User,
    WhatsAppMessage,
)
from db.notifications import plan
from db.outbox import NOTICE, TEMPLATE_SENT
from db.whatsapp import WAITING
from handlers.events import MediaRef, Reply
from tests.factories import producer, submitted_product
from tests.fakes.whatsapp import FakeWhatsApp, recorded
from tests.support import FakeClock, RecordingChannel, make_photo

WA = "6281234567890"
VERIFY = "verify-me-please"


@pytest.fixture
async def fake() -> AsyncIterator[FakeWhatsApp]:
    async with FakeWhatsApp() as server:
        yield server
    # Whatever a test did, the bot never sent a message Meta would refuse.
    refused = [c for c in server.calls if c.error and c.error.details != "injected by the test"]
    assert not refused, [(c.body, c.error) for c in refused]


@pytest.fixture
async def runtime(
    fake: FakeWhatsApp, database_url: str, sessionmaker: Any, tmp_path: Path, clock: FakeClock
) -> AsyncIterator[Runtime]:
    settings = load_settings(
        None,
        database={"url": database_url},
        whatsapp={
            "phone_number_id": fake.phone_number_id,
            "token": fake.token,
            "app_secret": fake.app_secret,
            "verify_token": VERIFY,
            "graph_api_base": fake.base_url,
        },
        media={"dir": tmp_path / "media"},
        limits={"flood_messages": 10_000},
    )
    runtime = await build(settings, clock=clock, migrate=False)  # the session fixture did
    yield runtime
    await runtime.close()


@pytest.fixture
def channel(runtime: Runtime) -> WhatsAppChannel:
    assert runtime.whatsapp is not None
    return runtime.whatsapp


@pytest.fixture
def slept(channel: WhatsAppChannel) -> list[float]:
    pauses: list[float] = []

    async def sleep(seconds: float) -> None:
        pauses.append(seconds)

    channel.sleep = sleep
    return pauses


@pytest.fixture
async def client(runtime: Runtime) -> AsyncIterator[TestClient]:
    app = make_http_app(runtime.engine, whatsapp=runtime.whatsapp)
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


async def post(client: TestClient, fake: FakeWhatsApp, payload: Any, **kw: Any) -> int:
    status = await fake.post(str(client.make_url(WHATSAPP_WEBHOOK_PATH)), payload, **kw)
    assert client.app is not None
    return status


async def say(
    client: TestClient, fake: FakeWhatsApp, channel: WhatsAppChannel, message: dict[str, Any]
) -> list[Any]:
    """The producer sends one message; returns what the bot sent back to them."""
    before = len(fake.messages(WA))
    assert await post(client, fake, fake.webhook(WA, message)) == 200
    await channel.idle()
    return fake.messages(WA)[before:]


async def count(sessionmaker: Any, model: Any) -> int:
    async with sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


# --- the webhook's gate ---------------------------------------------------------------


async def test_verify_challenge_needs_the_verify_token(client: TestClient) -> None:
    query = {"hub.mode": "subscribe", "hub.challenge": "1158201444", "hub.verify_token": VERIFY}
    answer = await client.get(WHATSAPP_WEBHOOK_PATH, params=query)
    assert answer.status == 200 and await answer.text() == "1158201444"
    for wrong in ({**query, "hub.verify_token": "guess"}, {"hub.challenge": "1"}):
        refused = await client.get(WHATSAPP_WEBHOOK_PATH, params=wrong)
        assert refused.status == 403
        assert "1158201444" not in await refused.text()


@pytest.mark.parametrize("signature", [None, "sha256=" + "0" * 64, "", "sha256=abc"])
async def test_missing_or_wrong_signature_is_401_and_nothing_happens(
    client: TestClient,
    fake: FakeWhatsApp,
    channel: WhatsAppChannel,
    sessionmaker: Any,
    signature: str | None,
) -> None:
    status = await post(client, fake, fake.webhook(WA, fake.text("/start")), signature=signature)
    await channel.idle()
    assert status == 401
    assert await count(sessionmaker, User) == 0
    assert await count(sessionmaker, ProcessedUpdate) == 0
    assert fake.calls == []


async def test_body_signed_with_another_secret_is_refused(
    client: TestClient, fake: FakeWhatsApp, channel: WhatsAppChannel, sessionmaker: Any
) -> None:
    body = json.dumps(fake.webhook(WA, fake.text("/start"))).encode()
    fake.app_secret, real = "someone-elses-secret", fake.app_secret
    signature = fake.sign(body)
    fake.app_secret = real
    assert await post(client, fake, body, signature=signature) == 401
    await channel.idle()
    assert await count(sessionmaker, User) == 0 and fake.calls == []


async def test_oversize_body_is_413_and_nothing_happens(
    client: TestClient, fake: FakeWhatsApp, channel: WhatsAppChannel, sessionmaker: Any
) -> None:
    payload = fake.webhook(WA, fake.text("/start " + "x" * (1024 * 1024)))
    assert await post(client, fake, payload) == 413
    await channel.idle()
    assert await count(sessionmaker, User) == 0 and fake.calls == []


async def test_signed_body_that_is_not_json_is_400(client: TestClient, fake: FakeWhatsApp) -> None:
    assert await post(client, fake, b"not json{") == 400


# --- messages in, replies out ---------------------------------------------------------


async def test_onboarding_starts_with_whatsapp_buttons_and_goes_on_by_press(
    client: TestClient, fake: FakeWhatsApp, channel: WhatsAppChannel, sessionmaker: Any
) -> None:
    [welcome] = await say(client, fake, channel, fake.text("/start"))
    assert welcome.type == "interactive"
    assert "Pilih bahasa" in welcome.text
    titles = dict(welcome.buttons)
    assert set(titles) == {"Bahasa Indonesia", "English"}
    replies = await say(client, fake, channel, fake.button_reply(titles["Bahasa Indonesia"]))
    consent = replies[-1]
    assert consent.type == "interactive" and len(consent.buttons) == 2  # agree / no
    agree = consent.buttons[0][1]
    replies = await say(client, fake, channel, fake.button_reply(agree))
    assert "nama usaha" in replies[-1].text.lower()
    # The sender is a WhatsApp user known by wa_id, and each message was marked read.
    async with sessionmaker() as session:
        user = await session.scalar(select(User))
    assert (user.channel, user.external_id, user.language) == ("whatsapp", WA, "id")
    assert user.consented_at is not None
    assert len([c for c in fake.calls if c.kind == "read"]) == 3


async def test_same_message_id_twice_is_handled_once(
    client: TestClient, fake: FakeWhatsApp, channel: WhatsAppChannel, sessionmaker: Any
) -> None:
    payload = fake.webhook(WA, fake.text("/start"))
    assert await post(client, fake, payload) == 200
    assert await post(client, fake, payload) == 200  # Meta redelivers when unsure
    await channel.idle()
    assert len(fake.messages(WA)) == 1
    assert await count(sessionmaker, ProcessedUpdate) == 1


async def test_throughput_error_backs_off_and_each_message_goes_once(
    client: TestClient, fake: FakeWhatsApp, runtime: Runtime, clock: FakeClock
) -> None:
    assert runtime.whatsapp is not None
    fake.fail_next(130429, times=2)
    # The reply's first try is refused: it waits in the outbox, the number's budget paused.
    assert await say(client, fake, runtime.whatsapp, fake.text("/start")) == []
    assert runtime.whatsapp.budget.paused_until > 0

    async def sleep(seconds: float) -> None:
        clock.advance(seconds=seconds)

    await ReviewPoster(runtime.app, sleep=sleep).run_until_idle()
    [welcome] = fake.messages(WA)
    assert "Pilih bahasa" in welcome.text
    attempts = fake.messages(WA, include_failed=True)
    assert [c.error.code if c.error else None for c in attempts] == [130429, 130429, None]


@pytest.mark.parametrize("code", [131026, 131051])
async def test_undeliverable_fails_once_without_retrying(
    fake: FakeWhatsApp, channel: WhatsAppChannel, slept: list[float], code: int
) -> None:
    fake.fail_next(code)
    with pytest.raises(Undeliverable):
        await channel.post(WA, Reply("Produk Anda disetujui"))
    assert len(fake.messages(WA, include_failed=True)) == 1 and slept == []


async def test_outside_the_window_is_reported_not_retried(
    fake: FakeWhatsApp, channel: WhatsAppChannel, slept: list[float]
) -> None:
    fake.fail_next(131047)
    with pytest.raises(OutsideWindow):
        await channel.post(WA, Reply("Kurator meminta perbaikan"))
    assert len(fake.messages(WA, include_failed=True)) == 1 and slept == []


async def test_status_webhooks_are_stored_on_the_sent_message(
    client: TestClient, fake: FakeWhatsApp, channel: WhatsAppChannel, sessionmaker: Any
) -> None:
    [message_id] = await channel.post(WA, Reply("Produk Anda disetujui"))
    await channel.idle()
    for status in ("delivered", "sent"):  # late and out of order: delivered stays
        assert await post(client, fake, fake.status(message_id, WA, status)) == 200
        await channel.idle()
    async with sessionmaker() as session:
        row = await session.get(WhatsAppMessage, message_id)
        assert (row.chat_id, row.status) == (WA, "delivered")
    assert await post(client, fake, fake.status(message_id, WA, "failed")) == 200
    await channel.idle()
    async with sessionmaker() as session:
        row = await session.get(WhatsAppMessage, message_id)
        assert row.status == "failed" and row.error.startswith("131026")


async def test_recorded_status_webhook_is_stored(
    client: TestClient, fake: FakeWhatsApp, channel: WhatsAppChannel, sessionmaker: Any
) -> None:
    payload = recorded("status_delivered")
    assert await post(client, fake, payload) == 200
    await channel.idle()
    async with sessionmaker() as session:
        row = await session.scalar(select(WhatsAppMessage))
    assert row.status == "delivered" and row.chat_id == "16505551234"


async def test_media_is_resolved_and_downloaded_through_the_graph_api(
    fake: FakeWhatsApp, channel: WhatsAppChannel
) -> None:
    image = fake.image(b"\xff\xd8\xff jpeg bytes", caption="Keripik")
    ref = MediaRef(file_id=image["image"]["id"], mime="image/jpeg")
    assert await channel.fetch_media(ref) == b"\xff\xd8\xff jpeg bytes"
    assert [c.kind for c in fake.calls] == ["media_url", "download"]


async def test_voice_notes_get_the_polite_what_i_expect_reply(
    client: TestClient, fake: FakeWhatsApp, channel: WhatsAppChannel
) -> None:
    await say(client, fake, channel, fake.text("/start"))
    voice = {"type": "audio", "audio": {"id": "1", "mime_type": "audio/ogg", "voice": True}}
    replies = await say(client, fake, channel, voice)
    assert replies and all(r.ok for r in replies)


async def test_a_photo_reply_is_uploaded_and_sent_by_media_id(
    fake: FakeWhatsApp, channel: WhatsAppChannel, tmp_path: Path
) -> None:
    from handlers.events import MediaOut

    photo = tmp_path / "p.jpg"
    photo.write_bytes(b"\xff\xd8\xff photo")
    await channel.post(WA, Reply("Kartu produk", media=(MediaOut(str(photo), caption="Foto 1"),)))
    upload = [c for c in fake.calls if c.kind == "upload"]
    assert len(upload) == 1
    image, text = fake.messages(WA)
    assert image.body["image"] == {"id": upload[0].message_id, "caption": "Foto 1"}
    assert text.text == "Kartu produk"


# --- WhatsApp's 24-hour window --------------------------------------------------------


async def revision_waiting(runtime: Runtime, sessionmaker: Any, *, wrote_ago: timedelta) -> int:
    """A WhatsApp producer whose product needs changes, last heard from `wrote_ago`, with the
    revision reminder due now; returns the notification's id."""
    now = runtime.app.clock()
    assert runtime.app.media_store is not None
    product = await submitted_product(
        sessionmaker,
        now=now - timedelta(days=6),
        store=runtime.app.media_store,
        channel="whatsapp",
        owner=WA,
        chat_id=None,
        name="Keripik Tempe Sanan",
    )
    async with sessionmaker() as session, session.begin():
        row = await session.get(Product, product.id)
        row.status = ProductStatus.revision_requested
        user = await session.scalar(select(User).where(User.external_id == WA))
        user.last_inbound_at = now - wrote_ago
        await plan(
            session,
            kind="revision",
            dedupe_key=f"revision:{product.id}:1",
            channel="whatsapp",
            chat_id=WA,
            user_id=user.id,
            subject_id=product.id,
            due_at=now,
            now=now,
        )
        note = await session.scalar(select(Notification))
        return note.id


def notifier_for(runtime: Runtime) -> Notifier:
    schedule = replace(runtime.settings.reminders.schedule(), quiet_hours=None)
    return Notifier(runtime.app, schedule=schedule, timezone="Asia/Jakarta")


async def test_outside_the_window_a_notification_goes_as_its_template(
    runtime: Runtime, fake: FakeWhatsApp, channel: WhatsAppChannel, sessionmaker: Any
) -> None:
    fake.enforce_window = True  # Meta refuses free-form text 24 h after their last message
    channel.templates = {"revision": Template("kurasi_revisi", "id", ("product",))}
    note_id = await revision_waiting(runtime, sessionmaker, wrote_ago=timedelta(hours=30))
    assert await notifier_for(runtime).send_due() == 1
    [sent] = fake.messages(WA)
    assert sent.type == "template"
    assert sent.body["template"]["name"] == "kurasi_revisi"
    assert sent.body["template"]["language"]["code"] == "id"
    [component] = sent.body["template"]["components"]
    assert component["parameters"] == [{"type": "text", "text": "Keripik Tempe Sanan"}]
    async with sessionmaker() as session:
        note = await session.get(Notification, note_id)
    # The template says "Balas pesan ini untuk melihat ...": the message waits for that reply.
    assert note.sent_at is None and note.result == TEMPLATE_SENT


async def test_without_a_template_it_waits_and_goes_right_after_they_write(
    runtime: Runtime,
    client: TestClient,
    fake: FakeWhatsApp,
    channel: WhatsAppChannel,
    sessionmaker: Any,
) -> None:
    fake.enforce_window = True
    notifier = notifier_for(runtime)
    channel.after_inbound = notifier.send_due
    note_id = await revision_waiting(runtime, sessionmaker, wrote_ago=timedelta(hours=30))
    assert await notifier.send_due() == 0
    assert fake.messages(WA, include_failed=True) == []  # not even tried: it would be refused
    async with sessionmaker() as session:
        note = await session.get(Notification, note_id)
    assert note.sent_at is None and note.result == WAITING  # kept, and visible why
    assert await notifier.send_due() == 0  # a tick in between changes nothing
    # The producer writes: the reminder follows their answer at once, as a normal message.
    replies = await say(client, fake, channel, fake.text("halo"))
    assert any("Keripik Tempe Sanan" in r.text for r in replies)
    assert all(r.type != "template" for r in replies)
    async with sessionmaker() as session:
        note = await session.get(Notification, note_id)
    assert note.sent_at is not None and note.result == "sent"


async def test_inside_the_window_a_notification_is_a_normal_message(
    runtime: Runtime, fake: FakeWhatsApp, channel: WhatsAppChannel, sessionmaker: Any
) -> None:
    channel.templates = {"revision": Template("kurasi_revisi", "id", ("product",))}
    await revision_waiting(runtime, sessionmaker, wrote_ago=timedelta(hours=2))
    assert await notifier_for(runtime).send_due() == 1
    [sent] = fake.messages(WA)
    assert sent.type == "interactive" and "Keripik Tempe Sanan" in sent.text


# --- one person on two channels -------------------------------------------------------


async def telegram_producer(runtime: Runtime, sessionmaker: Any) -> RecordingChannel:
    """A producer registered on Telegram with this WhatsApp number; returns their Telegram chat."""
    telegram = RecordingChannel(runtime.app, name="telegram")
    async with sessionmaker() as session, session.begin():
        _user, business = await producer(
            session, channel="telegram", external_id="5551", now=runtime.app.clock()
        )
        business.phone = f"+{WA}"
        business.name = "UD Sambal Bu Tini"
    return telegram


async def code_offer(
    runtime: Runtime,
    client: TestClient,
    fake: FakeWhatsApp,
    channel: WhatsAppChannel,
    sessionmaker: Any,
) -> tuple[RecordingChannel, str]:
    telegram = await telegram_producer(runtime, sessionmaker)
    [offer] = await say(client, fake, channel, fake.text("/start"))
    assert "UD Sambal Bu Tini" in offer.text and len(offer.buttons) == 2
    replies = await say(client, fake, channel, fake.button_reply(offer.buttons[0][1]))
    assert "6" in replies[-1].text  # "a 6-digit code"
    # The code goes to the Telegram chat through the outbox, like every message to another chat.
    await ReviewPoster(runtime.app, kinds=frozenset({NOTICE})).run_until_idle()
    [(chat, note)] = telegram.sent
    code = next(word for word in note.text.split() if word.isdigit() and len(word) == 6)
    assert chat == "5551"
    return telegram, code


async def test_linking_by_a_code_sent_on_telegram_makes_one_user(
    runtime: Runtime,
    client: TestClient,
    fake: FakeWhatsApp,
    channel: WhatsAppChannel,
    sessionmaker: Any,
) -> None:
    _telegram, code = await code_offer(runtime, client, fake, channel, sessionmaker)
    replies = await say(client, fake, channel, fake.text(code))
    assert "✅" in replies[-1].text
    # From now on WhatsApp speaks as the Telegram account: the registered profile's menu.
    replies = await say(client, fake, channel, fake.text("/start"))
    assert any("UD Sambal Bu Tini" in r.text for r in replies)


async def test_wrong_codes_are_throttled_five_tries_then_fifteen_minutes(
    runtime: Runtime,
    client: TestClient,
    fake: FakeWhatsApp,
    channel: WhatsAppChannel,
    sessionmaker: Any,
    clock: FakeClock,
) -> None:
    telegram, code = await code_offer(runtime, client, fake, channel, sessionmaker)
    wrong = "000000" if code != "000000" else "111111"
    answers = [(await say(client, fake, channel, fake.text(wrong)))[-1].text for _ in range(5)]
    assert "4" in answers[0] and "1" in answers[3]
    assert "15" in answers[4]  # locked: wait 15 minutes
    # Even the right code is refused while locked.
    locked = await say(client, fake, channel, fake.text(code))
    assert "✅" not in locked[-1].text and "15" in locked[-1].text
    clock.advance(minutes=16)
    # The wait is over, and that code has expired meanwhile: ask for a new one.
    [expired] = await say(client, fake, channel, fake.text(code))
    await say(client, fake, channel, fake.button_reply(expired.buttons[0][1]))
    await ReviewPoster(runtime.app, kinds=frozenset({NOTICE})).run_until_idle()
    new = telegram.sent[-1][1].text
    code = next(word for word in new.split() if word.isdigit() and len(word) == 6)
    replies = await say(client, fake, channel, fake.text(code))
    assert "✅" in replies[-1].text


async def test_no_offer_without_a_telegram_account_with_that_number(
    client: TestClient, fake: FakeWhatsApp, channel: WhatsAppChannel
) -> None:
    [welcome] = await say(client, fake, channel, fake.text("/start"))
    assert "Pilih bahasa" in welcome.text


# --- a product with photos, from WhatsApp ---------------------------------------------


async def press(
    client: TestClient, fake: FakeWhatsApp, channel: WhatsAppChannel, label: str
) -> list[Any]:
    """Tap the newest button or list row whose title contains `label`."""
    for call in reversed(fake.messages(WA)):
        for title, button_id in call.buttons:
            if label in title:
                return await say(client, fake, channel, fake.button_reply(button_id, title))
    refused = [
        (c.text[:80], str(c.error)) for c in fake.messages(WA, include_failed=True) if c.error
    ]
    raise AssertionError(f"no button {label!r} was shown; refused: {refused}")


async def test_product_with_two_photos_from_whatsapp(
    runtime: Runtime,
    client: TestClient,
    fake: FakeWhatsApp,
    channel: WhatsAppChannel,
    sessionmaker: Any,
) -> None:
    async with sessionmaker() as session, session.begin():
        await producer(session, channel="whatsapp", external_id=WA, now=runtime.app.clock())
    await say(client, fake, channel, fake.text("/produk_baru"))
    await say(client, fake, channel, fake.text("Keripik Tempe Original"))
    await press(client, fake, channel, "⭐")
    await say(
        client, fake, channel, fake.text("Keripik tempe tipis dan renyah dari kedelai lokal.")
    )
    await press(client, fake, channel, "Lewati")  # the English description
    await say(client, fake, channel, fake.text("25rb"))
    await press(client, fake, channel, "pack")
    for answer in ("10", "500", "tempe, minyak kelapa", "6 bulan"):
        await say(client, fake, channel, fake.text(answer))
    await press(client, fake, channel, "Selesai")
    pictures = [make_photo(seed=s) for s in (31, 32)]
    for picture in pictures:
        await say(client, fake, channel, fake.image(picture))
    await runtime.app.drain()  # the photos' acknowledgement waits out its debounce
    assert "Foto 2" in fake.messages(WA)[-1].text
    card = await press(client, fake, channel, "Selesai")
    images = [c for c in card if c.type == "image"]
    uploads = [c for c in fake.calls if c.kind == "upload"]
    assert len(images) == 2 and {i.body["image"]["id"] for i in images} == {
        u.message_id for u in uploads
    }
    assert "diajukan" in " ".join(c.text for c in await press(client, fake, channel, "Ajukan"))
    async with sessionmaker() as session:
        product = await session.scalar(select(Product))
        stored = list(await session.scalars(select(Photo).order_by(Photo.position)))
    assert product.status == "submitted"
    assert [p.sha256 for p in stored] == [hashlib.sha256(p).hexdigest() for p in pictures]


async def test_a_number_typed_after_a_numbered_list_presses_that_choice(
    runtime: Runtime,
    client: TestClient,
    fake: FakeWhatsApp,
    channel: WhatsAppChannel,
    sessionmaker: Any,
) -> None:
    """More choices than a list holds are numbered lines; the number typed next presses one.
    The numbers are remembered in the conversation row, so a restart in between loses
    nothing, and they answer only the message that showed them."""
    async with sessionmaker() as session, session.begin():
        _user, business = await producer(
            session, channel="whatsapp", external_id=WA, now=runtime.app.clock()
        )
        session.add_all(
            Product(business_id=business.id, name=f"Produk {i:02}", sector="food")
            for i in range(1, 13)
        )
    [listing] = await say(client, fake, channel, fake.text("produk"))
    assert listing.type == "text" and "12. Produk 12" in listing.text
    async with sessionmaker() as session:
        conversation = await session.scalar(select(Conversation))
    assert len(conversation.data["_numbered"]) == 13  # 12 products and "new product"
    replies = await say(client, fake, channel, fake.text("3"))
    assert "Produk 03" in replies[0].text
    # The number answered that list only: once something else was said, "3" is text again.
    await say(client, fake, channel, fake.text("batal"))
    [nudge] = await say(client, fake, channel, fake.text("3"))
    assert "Produk 03" not in nudge.text and nudge.body["interactive"]["type"] == "list"


async def test_plain_words_are_commands_in_both_languages(
    runtime: Runtime, client: TestClient, fake: FakeWhatsApp, channel: WhatsAppChannel
) -> None:
    async with sessionmaker_of(runtime)() as session, session.begin():
        await producer(session, channel="whatsapp", external_id=WA, now=runtime.app.clock())
    [help_] = await say(client, fake, channel, fake.text("Bantuan"))
    assert "/produk_baru" in help_.text
    [fairs] = await say(client, fake, channel, fake.text("PAMERAN"))
    assert "pameran" in fairs.text.lower()
    replies = await say(client, fake, channel, fake.text("  Produk   Baru! "))
    assert "nama produk" in replies[-1].text.lower()
    # Inside a flow, plain words are answers: a product may well be called "Profil".
    replies = await say(client, fake, channel, fake.text("Profil"))
    async with sessionmaker_of(runtime)() as session:
        product = await session.scalar(select(Product))
    assert product.name == "Profil"
    # ...but "menu" stops it (the draft is kept) and shows the menu as a list...
    [menu] = await say(client, fake, channel, fake.text("menu"))
    assert menu.body["interactive"]["type"] == "list"
    async with sessionmaker_of(runtime)() as session:
        conversation = await session.scalar(select(Conversation))
        assert conversation.flow is None and await session.scalar(select(Product)) is not None
    # ...and so does "batal"; "menú" (any case, any accent) shows the menu too.
    await say(client, fake, channel, fake.text("produk baru"))
    replies = await say(client, fake, channel, fake.text("BATAL"))
    assert "dihentikan" in replies[-1].text.lower() or "berhenti" in replies[-1].text.lower()
    [menu] = await say(client, fake, channel, fake.text("Menú"))
    assert menu.type == "interactive" and menu.body["interactive"]["type"] == "list"
    assert len(menu.buttons) == 7
    # An unknown message outside a flow gets the menu, as a list message.
    [nudge] = await say(client, fake, channel, fake.text("apa kabar?"))
    assert nudge.body["interactive"]["type"] == "list"
    # English words, and the menu's rows lead where they say.
    [reminders] = await say(client, fake, channel, fake.text("reminders"))
    assert reminders.type == "interactive"
    replies = await press(client, fake, channel, "Profil")
    assert any("Keripik" in r.text or "profil" in r.text.lower() for r in replies)


def sessionmaker_of(runtime: Runtime) -> Any:
    return runtime.app.sessionmaker


async def test_a_number_that_is_not_indonesian_is_asked_for_without_a_button_to_press(
    client: TestClient, fake: FakeWhatsApp, channel: WhatsAppChannel
) -> None:
    abroad = "16505551234"  # WhatsApp knows it, but buyers in Indonesia need a local number

    async def say_abroad(message: dict[str, Any]) -> Any:
        assert await post(client, fake, fake.webhook(abroad, message)) == 200
        await channel.idle()
        return fake.messages(abroad)[-1]

    welcome = await say_abroad(fake.text("daftar"))
    consent = await say_abroad(fake.button_reply(dict(welcome.buttons)["Bahasa Indonesia"]))
    await say_abroad(fake.button_reply(consent.buttons[0][1]))
    await say_abroad(fake.text("Batik Tulis Bu Sri"))
    question = await say_abroad(fake.text("Sri Wahyuni"))
    assert "Ketik nomornya" in question.text and "Tekan tombol" not in question.text
    assert "1650" not in question.text  # not offered
