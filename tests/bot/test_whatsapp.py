"""The WhatsApp channel end to end: Meta's webhook into the HTTP app, the flows, and replies
through pywa's async client to the fake Graph API (which checks every message against Meta's
schema and WhatsApp's interactive limits)."""

from __future__ import annotations

import asyncio
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
from sqlalchemy.exc import TimeoutError as PoolTimeout

from bot.app import Runtime, build
from bot.channels.base import Undeliverable
from bot.channels.whatsapp import (
    OutsideWindow,
    Template,
    WhatsAppChannel,
)
from bot.channels.whatsapp_inbox import InboxWorkers
from bot.channels.whatsapp_messages import inbound
from bot.config import load_settings
from bot.http import WHATSAPP_WEBHOOK_PATH, make_http_app
from bot.metrics import WHATSAPP_STATUSES
from bot.notify import Notifier
from bot.sender import MessageSender
from db import broadcasts, inbox
from db.base import utcnow
from db.models import (
    BroadcastDelivery,
    Conversation,
    Notification,
    Photo,
    ProcessedUpdate,
    Product,
    ProductStatus,
    User,
    WhatsAppInbound,
    WhatsAppMessage,
)
from db.notifications import plan
from db.outbox import NOTICE, TEMPLATE_SENT
from db.whatsapp import WAITING, record_sent
from handlers.kit.events import MediaRef, Reply
from tests.bot.test_transient_errors import POOL_FULL, Flaky
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


def _shape(value: dict[str, Any] | None = None, **message: Any) -> dict[str, Any]:
    """A webhook with one change whose value (or whose one message) is `value`/`message`."""
    if value is None:
        value = {
            "messaging_product": "whatsapp",
            "contacts": [{"profile": {"name": "Tini"}, "wa_id": WA}],
            "messages": [{"from": WA, "id": "wamid.in1", "timestamp": "1", **message}],
        }
    change = {"field": "messages", "value": value}
    return {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [change]}]}


def _deep(depth: int) -> bytes:
    return b'{"object": "whatsapp_business_account", "entry": ' + b"[" * depth + b"]" * depth + b"}"


MALFORMED: dict[str, Any] = {
    "entry: 5": {"object": "whatsapp_business_account", "entry": 5},
    "entry: [5]": {"object": "whatsapp_business_account", "entry": [5]},
    'changes: "abc"': {"object": "whatsapp_business_account", "entry": [{"changes": "abc"}]},
    'value: "x"': {
        "object": "whatsapp_business_account",
        "entry": [{"changes": [{"field": "messages", "value": "x"}]}],
    },
    'statuses: "abc"': _shape({"statuses": "abc"}),
    'statuses: ["abc"]': _shape({"statuses": ["abc", "def"]}),
    "status id: 5": _shape({"statuses": [{"id": 5, "status": "read"}]}),
    'status errors: "boom"': _shape(
        {"statuses": [{"id": "wamid.x", "status": "failed", "errors": "boom"}]}
    ),
    'errors: "boom"': _shape({"errors": "boom"}),
    'contacts: "zz"': _shape({"contacts": "zz", "messages": []}),
    "contacts: [1]": _shape({"contacts": [1]}),
    'messages: "x"': _shape({"messages": "x"}),
    "message id: 5": _shape({"messages": [{"from": WA, "id": 5, "type": "text"}]}),
    "message without from": _shape({"messages": [{"id": "wamid.in1", "type": "text"}]}),
    'text: "hi"': _shape(type="text", text="hi"),
    "text body: 5": _shape(type="text", text={"body": 5}),
    'context: "x"': _shape(type="text", text={"body": "hi"}, context="x"),
    'button_reply: "x"': _shape(type="interactive", interactive={"button_reply": "x"}),
    'phones: "x"': _shape(type="contacts", contacts=[{"phones": "x"}]),
    "phones: [1]": _shape(type="contacts", contacts=[{"phones": [1]}]),
    'contacts message: "x"': _shape(type="contacts", contacts="x"),
    "100,000 deep": _deep(100_000),
    "100 deep": _deep(100),
    "a list": [1, 2, 3],
    "a string": "hello",
}


@pytest.mark.parametrize("name", list(MALFORMED))
async def test_every_malformed_shape_under_a_valid_signature_is_400_and_nothing_is_stored(
    client: TestClient,
    fake: FakeWhatsApp,
    channel: WhatsAppChannel,
    sessionmaker: Any,
    name: str,
) -> None:
    assert await post(client, fake, MALFORMED[name]) == 400
    await channel.idle()
    for model in (WhatsAppInbound, User, ProcessedUpdate, WhatsAppMessage):
        assert await count(sessionmaker, model) == 0
    assert fake.calls == []


@pytest.mark.parametrize(
    "signature",
    [
        "sha256=" + "é" * 64,  # not ASCII: was a TypeError in hmac.compare_digest, a 500
        "sha256=\u00ff" + "0" * 63,
        "sha256=" + "z" * 64,  # not hex
        "sha256=" + "0" * 63,  # too short
        "sha1=" + "0" * 40,
        "sha256=",
        " ",
    ],
)
async def test_an_undecodable_signature_is_401_and_nothing_is_stored(
    client: TestClient,
    fake: FakeWhatsApp,
    channel: WhatsAppChannel,
    sessionmaker: Any,
    signature: str,
) -> None:
    body = json.dumps(fake.webhook(WA, fake.text("/start"))).encode()
    url = client.make_url(WHATSAPP_WEBHOOK_PATH)
    header = signature.encode("latin-1")
    answer = await _raw_post(url.host or "", url.port or 80, url.path, body, header)
    assert answer == 401
    await channel.idle()
    assert await count(sessionmaker, WhatsAppInbound) == 0 and fake.calls == []


async def _raw_post(host: str, port: int, path: str, body: bytes, signature: bytes) -> int:
    """POST with the signature header's bytes exactly as given (clients refuse some)."""
    reader, writer = await asyncio.open_connection(host, port)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n"
    ).encode()
    writer.write(head + b"X-Hub-Signature-256: " + signature + b"\r\n\r\n" + body)
    await writer.drain()
    status_line = await reader.readline()
    writer.close()
    return int(status_line.split()[1])


async def test_a_webhook_is_answered_only_after_its_messages_are_stored(
    client: TestClient, fake: FakeWhatsApp, channel: WhatsAppChannel, sessionmaker: Any
) -> None:
    await channel.inbox.stop()  # no worker takes anything: what the 200 means is visible
    payload = fake.webhook(WA, fake.text("/start"))
    payload["entry"][0]["changes"][0]["value"]["messages"].append(
        {"from": WA, "id": "wamid.second", "timestamp": "1", "type": "text", "text": {"body": "x"}}
    )
    assert await post(client, fake, payload) == 200
    assert await post(client, fake, payload) == 200  # redelivered: stored once
    async with sessionmaker() as session:
        stored = list(await session.scalars(select(WhatsAppInbound).order_by(WhatsAppInbound.id)))
    assert [(s.chat_id, s.message_id) for s in stored] == [
        (WA, payload["entry"][0]["changes"][0]["value"]["messages"][0]["id"]),
        (WA, "wamid.second"),
    ]
    assert json.loads(stored[0].body)["contacts"][0]["profile"]["name"] == "Tini"
    assert fake.calls == []


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


async def test_an_exhausted_database_pool_delays_a_message_never_an_apology(
    client: TestClient, fake: FakeWhatsApp, channel: WhatsAppChannel, sessionmaker: Any
) -> None:
    real = channel.app.sessionmaker
    payload = fake.webhook(WA, fake.text("/start"))
    # Not even stored: 503, and Meta delivers it again.
    channel.app.sessionmaker = Flaky(real, failures=1, error=PoolTimeout(POOL_FULL))  # type: ignore[assignment]
    assert await post(client, fake, payload) == 503
    assert await count(sessionmaker, WhatsAppInbound) == 0
    # Stored, then the pool stays exhausted for longer than the update's own retries
    # (db_retries = 3): the message stays stored and the inbox runs it again later.
    channel.app.sessionmaker = real
    await channel.inbox.stop()
    channel.inbox = InboxWorkers(real, channel._handle_stored, workers=4, retry_after=0.05)
    async with real() as session, session.begin():
        await inbox.store(session, messages=inbound(payload), now=utcnow())
    flaky = Flaky(real, failures=9, error=PoolTimeout(POOL_FULL))
    channel.app.sessionmaker = flaky  # type: ignore[assignment]
    channel.inbox.wake()
    await channel.idle()
    [welcome] = fake.messages(WA)
    assert "Pilih bahasa" in welcome.text
    assert flaky.opened > 9  # it went round the inbox at least twice
    assert await count(sessionmaker, WhatsAppInbound) == 0
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

    await MessageSender(runtime.app, sleep=sleep).run_until_idle()
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


async def someone(sessionmaker: Any, number: str) -> None:
    """A person on WhatsApp: only their numbers' messages and statuses are stored."""
    async with sessionmaker() as session, session.begin():
        session.add(User(channel="whatsapp", external_id=number, reminder_optouts=[]))


async def test_status_webhooks_are_stored_on_the_sent_message(
    client: TestClient, fake: FakeWhatsApp, channel: WhatsAppChannel, sessionmaker: Any
) -> None:
    await someone(sessionmaker, WA)
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


async def test_recorded_status_webhook_is_stored_for_a_message_the_bot_sent(
    client: TestClient, fake: FakeWhatsApp, channel: WhatsAppChannel, sessionmaker: Any
) -> None:
    await someone(sessionmaker, "16505551234")
    payload = recorded("status_delivered")
    [status] = payload["entry"][0]["changes"][0]["value"]["statuses"]
    async with sessionmaker() as session, session.begin():
        await record_sent(session, message_ids=[status["id"]], chat_id="16505551234", now=utcnow())
    assert await post(client, fake, payload) == 200
    await channel.idle()
    async with sessionmaker() as session:
        row = await session.scalar(select(WhatsAppMessage))
    assert row.status == "delivered" and row.chat_id == "16505551234"
    # A number nobody is (erased, or never written from): its statuses are not kept.
    payload = json.loads(json.dumps(payload).replace("16505551234", "16505550000"))
    payload = json.loads(json.dumps(payload).replace("wamid.", "wamid.other"))
    assert await post(client, fake, payload) == 200
    await channel.idle()
    async with sessionmaker() as session:
        chats = set(await session.scalars(select(WhatsAppMessage.chat_id)))
    assert chats == {"16505551234"}


async def test_statuses_for_unknown_message_ids_are_dropped_and_counted(
    client: TestClient, fake: FakeWhatsApp, channel: WhatsAppChannel, sessionmaker: Any
) -> None:
    before = WHATSAPP_STATUSES.labels("unknown")._value.get()
    for n in range(30):  # a flood of statuses for messages this bot never sent
        assert await post(client, fake, fake.status(f"wamid.forged{n}", WA, "delivered")) == 200
    assert await post(client, fake, recorded("status_delivered")) == 200
    await channel.idle()
    assert await count(sessionmaker, WhatsAppMessage) == 0
    assert WHATSAPP_STATUSES.labels("unknown")._value.get() - before == 31
    metrics = await client.get("/metrics")
    assert 'kurasi_whatsapp_statuses_total{result="unknown"}' in await metrics.text()


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
    from handlers.kit.events import MediaOut

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
        _user.phone = f"+{WA}"  # shared as their own contact: Telegram vouches for it
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
    await MessageSender(runtime.app, kinds=frozenset({NOTICE})).run_until_idle()
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
    await MessageSender(runtime.app, kinds=frozenset({NOTICE})).run_until_idle()
    new = telegram.sent[-1][1].text
    code = next(word for word in new.split() if word.isdigit() and len(word) == 6)
    replies = await say(client, fake, channel, fake.text(code))
    assert "✅" in replies[-1].text


async def test_erasure_from_a_linked_whatsapp_chat_leaves_nothing_of_the_person(
    runtime: Runtime,
    client: TestClient,
    fake: FakeWhatsApp,
    channel: WhatsAppChannel,
    sessionmaker: Any,
    clock: FakeClock,
) -> None:
    """Linked, the WhatsApp number speaks as the Telegram account; "hapus data" from it
    erases both identities and every row keyed by their chats: the WhatsApp user row (phone
    and name), delivery statuses, the sent code messages, send budgets, broadcast rows."""
    _telegram, code = await code_offer(runtime, client, fake, channel, sessionmaker)
    assert "✅" in (await say(client, fake, channel, fake.text(code)))[-1].text
    async with sessionmaker() as session, session.begin():
        broadcast = await broadcasts.create_broadcast(
            session,
            text="Pelatihan ekspor",
            html=False,
            audience=broadcasts.Audience(),
            created_by=None,
            now=clock.now,
        )
        await broadcasts.start_due(session, now=clock.now)
        delivered = await session.scalar(
            select(func.count())
            .select_from(BroadcastDelivery)
            .where(BroadcastDelivery.broadcast_id == broadcast.id)
        )
    assert delivered == 1
    await say(client, fake, channel, fake.text("hapus data"))
    replies = await press(client, fake, channel, "Ya, hapus")
    assert "dihapus" in replies[-1].text
    traces = await person_traces(
        sessionmaker, (WA, f"+{WA}", "Tini", "UD Sambal Bu Tini", code), ids=("5551",)
    )
    assert not traces, traces


async def person_traces(
    sessionmaker: Any, needles: tuple[str, ...], *, ids: tuple[str, ...] = ()
) -> list[str]:
    """Every row of every table (from the models' metadata) that still holds one of the
    person's values: a text containing a needle, or a column equal to one of their ids."""
    from db.base import Base

    found = []
    async with sessionmaker() as session:
        for table in Base.metadata.sorted_tables:
            for row in (await session.execute(select(table))).mappings():
                for column, value in row.items():
                    text = json.dumps(value, default=str, ensure_ascii=False)
                    if any(n in text for n in needles) or str(value) in ids:
                        found.append(f"{table.name}.{column} = {text[:80]}")
    return found


@pytest.mark.parametrize("escape", ["batal", "daftar", "hapus data"])
async def test_a_lockout_holds_for_the_number_whatever_is_typed_meanwhile(
    runtime: Runtime,
    client: TestClient,
    fake: FakeWhatsApp,
    channel: WhatsAppChannel,
    sessionmaker: Any,
    clock: FakeClock,
    escape: str,
) -> None:
    telegram, code = await code_offer(runtime, client, fake, channel, sessionmaker)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        await say(client, fake, channel, fake.text(wrong))
    if escape == "hapus data":  # the half-made WhatsApp account erased: a new user row
        await say(client, fake, channel, fake.text("batal"))
        await say(client, fake, channel, fake.text(escape))
        await press(client, fake, channel, "Ya, hapus")
    else:
        await say(client, fake, channel, fake.text(escape))
    await say(client, fake, channel, fake.text("daftar"))
    await press(client, fake, channel, "Ya, hubungkan")
    sent = len(telegram.sent)
    await MessageSender(runtime.app, kinds=frozenset({NOTICE})).run_until_idle()
    assert len(telegram.sent) == sent  # no new code while locked out
    [answer] = await say(client, fake, channel, fake.text(wrong))
    assert "Terlalu banyak kode salah" in answer.text and "Sisa" not in answer.text
    clock.advance(minutes=16)  # the lockout's whole period, and no longer
    await say(client, fake, channel, fake.text("daftar"))
    await press(client, fake, channel, "Ya, hubungkan")
    await MessageSender(runtime.app, kinds=frozenset({NOTICE})).run_until_idle()
    new = telegram.sent[-1][1].text
    fresh = next(word for word in new.split() if word.isdigit() and len(word) == 6)
    assert "✅" in (await say(client, fake, channel, fake.text(fresh)))[-1].text


async def test_new_codes_are_rate_limited(
    runtime: Runtime,
    client: TestClient,
    fake: FakeWhatsApp,
    channel: WhatsAppChannel,
    sessionmaker: Any,
    clock: FakeClock,
) -> None:
    """30 presses of "send a new code" in a few seconds sent 31 codes to the Telegram
    holder: now one a minute at most, and at most 5 in the lockout's period."""
    telegram, _code = await code_offer(runtime, client, fake, channel, sessionmaker)
    poster = MessageSender(runtime.app, kinds=frozenset({NOTICE}))
    for _ in range(30):
        await press(client, fake, channel, "Kirim kode baru")
        clock.advance(seconds=0.4)
    await poster.run_until_idle()
    assert len(telegram.sent) == 1  # the first code only
    assert "baru saja dikirim" in fake.messages(WA)[-1].text
    for _ in range(10):
        clock.advance(seconds=61)
        await press(client, fake, channel, "Kirim kode baru")
    await poster.run_until_idle()
    assert len(telegram.sent) == 5  # 1 + 4 more: the period's five, then no more
    clock.advance(minutes=16)
    await press(client, fake, channel, "Kirim kode baru")
    await poster.run_until_idle()
    assert len(telegram.sent) == 6


async def test_a_typed_business_phone_is_never_offered_a_link(
    runtime: Runtime,
    client: TestClient,
    fake: FakeWhatsApp,
    channel: WhatsAppChannel,
    sessionmaker: Any,
) -> None:
    """A stranger on Telegram who typed the victim's number as their business phone: the
    victim, writing from WhatsApp, is not offered their "Toko Penipu". Only a number shared
    as the Telegram account's own contact (Telegram vouches for it) is."""
    async with sessionmaker() as session, session.begin():
        _user, business = await producer(
            session, channel="telegram", external_id="6661", now=runtime.app.clock()
        )
        business.phone = f"+{WA}"  # typed, not shared as a contact
        business.name = "Toko Penipu"
    [welcome] = await say(client, fake, channel, fake.text("/start"))
    assert "Toko Penipu" not in welcome.text and "Pilih bahasa" in welcome.text


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
    for _number in ("PIRT", "Halal"):  # the documents' numbers, not at hand
        await press(client, fake, channel, "Tidak ada di tangan")
    pictures = [make_photo(seed=s) for s in (31, 32)]
    for picture in pictures:
        await say(client, fake, channel, fake.image(picture))
    await runtime.app.drain()  # the photos' acknowledgement waits out its debounce
    assert "Foto 2" in fake.messages(WA)[-1].text
    card = await press(client, fake, channel, "Selesai")
    images = [c for c in card if c.type == "image"]
    async with sessionmaker() as session:
        ids = [p.channel_ids["whatsapp"] for p in await session.scalars(select(Photo))]
    # Sent by the media ids WhatsApp gave the photos: no upload at all.
    assert [i.body["image"]["id"] for i in images] == ids
    assert not [c for c in fake.calls if c.kind == "upload"]
    # The card asked again (help in between) comes as text: its photos are just above.
    again = await say(client, fake, channel, fake.text("bantuan"))
    assert not [c for c in again if c.type == "image"] and "Foto: 2" in again[-1].text
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
    assert len(conversation.data["_shown"]["last"]) == 13  # 12 products and "new product"
    replies = await say(client, fake, channel, fake.text("3"))
    assert "Produk 03" in replies[0].text
    # The number answered that list only: once something else was shown (the menu), "3"
    # is the menu's third row.
    await say(client, fake, channel, fake.text("batal"))
    [after] = await say(client, fake, channel, fake.text("3"))
    assert "Produk 03" not in after.text


async def test_plain_words_are_commands_in_both_languages(
    runtime: Runtime, client: TestClient, fake: FakeWhatsApp, channel: WhatsAppChannel
) -> None:
    async with sessionmaker_of(runtime)() as session, session.begin():
        await producer(session, channel="whatsapp", external_id=WA, now=runtime.app.clock())
    [help_] = await say(client, fake, channel, fake.text("Bantuan"))
    # WhatsApp has no command menu: the help names the words to type, not "/produk_baru"
    assert "\nproduk baru – " in help_.text and "/produk_baru" not in help_.text
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


async def test_a_photo_is_uploaded_to_whatsapp_once_then_sent_by_its_media_id(
    runtime: Runtime,
    client: TestClient,
    fake: FakeWhatsApp,
    channel: WhatsAppChannel,
    sessionmaker: Any,
) -> None:
    """Photos WhatsApp has no id for (sent on Telegram) are uploaded at their first showing;
    the media id is kept like Telegram's file_id, so the next showing uploads nothing."""
    assert runtime.app.media_store is not None
    await submitted_product(
        sessionmaker,
        now=runtime.app.clock(),
        store=runtime.app.media_store,
        channel="whatsapp",
        owner=WA,
        chat_id=None,
        photos=2,
    )
    for _ in range(2):
        await say(client, fake, channel, fake.text("produk"))
        page = await press(client, fake, channel, "1.")
        assert len([c for c in page if c.type == "image"]) == 2
        await runtime.app.drain()
    uploads = [c for c in fake.calls if c.kind == "upload"]
    assert len(uploads) == 2  # 2 photos, shown twice: 2 uploads (it was 4)
    async with sessionmaker() as session:
        ids = {p.channel_ids.get("whatsapp") for p in await session.scalars(select(Photo))}
    assert ids == {u.message_id for u in uploads}
