"""The one way out on WhatsApp: every Graph error class does what bot/outbound.py says, an
outage delays a decision and loses none, a closed window (now or reported late) sends the
kind's template, and what waited is released by the producer's next message, in order,
before the answer to it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot.app import Runtime, build
from bot.channels.whatsapp import Template, WhatsAppChannel
from bot.config import load_settings
from bot.http import WHATSAPP_WEBHOOK_PATH, make_http_app
from bot.notify import Notifier
from bot.sender import MessageSender
from db.metrics import queue_depths
from db.models import Notification, OutboxItem, Product, ProductStatus, User
from db.notifications import plan
from db.outbox import NOTICE, TEMPLATE_SENT, enqueue
from tests.factories import submitted_product
from tests.fakes.whatsapp import FakeWhatsApp
from tests.support import FakeClock

WA = "6281234567890"


@pytest.fixture
async def fake() -> AsyncIterator[FakeWhatsApp]:
    async with FakeWhatsApp() as server:
        yield server
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
            "verify_token": "verify",
            "graph_api_base": fake.base_url,
        },
        media={"dir": tmp_path / "media"},
        limits={"flood_messages": 10_000},
    )
    runtime = await build(settings, clock=clock, migrate=False)
    yield runtime
    await runtime.close()


@pytest.fixture
def channel(runtime: Runtime) -> WhatsAppChannel:
    assert runtime.whatsapp is not None
    runtime.whatsapp.templates = {
        "revision": Template("kurasi_revisi", "id", ("product",)),
        "decision": Template("kurasi_keputusan", "id", ("product",)),
    }
    return runtime.whatsapp


@pytest.fixture
async def client(runtime: Runtime) -> AsyncIterator[TestClient]:
    app = make_http_app(runtime.engine, whatsapp=runtime.whatsapp)
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


def poster(runtime: Runtime, clock: FakeClock) -> MessageSender:
    async def sleep(seconds: float) -> None:
        clock.advance(seconds=seconds)

    return MessageSender(runtime.app, sleep=sleep)


async def producer_wrote(
    runtime: Runtime, sessionmaker: Any, clock: FakeClock, *, ago: timedelta
) -> Product:
    product = await submitted_product(
        sessionmaker,
        now=clock.now,
        store=runtime.app.media_store,
        channel="whatsapp",
        owner=WA,
        chat_id=None,
        name="Keripik Tempe Sanan",
    )
    async with sessionmaker() as session, session.begin():
        user = await session.scalar(select(User).where(User.external_id == WA))
        user.last_inbound_at = clock.now - ago
    return product


async def notice(runtime: Runtime, clock: FakeClock, text: str, **extra: Any) -> int:
    async with runtime.sessionmaker() as session, session.begin():
        await enqueue(
            session,
            channel="whatsapp",
            chat_id=WA,
            kind=NOTICE,
            payload={"text": text, "notice_kind": "revision", **extra},
            now=clock.now,
        )
        item = await session.scalar(select(OutboxItem).order_by(OutboxItem.id.desc()))
        return item.id


async def item(runtime: Runtime, item_id: int) -> OutboxItem:
    async with runtime.sessionmaker() as session:
        found = await session.get(OutboxItem, item_id)
        assert found is not None
        return found


def codes(fake: FakeWhatsApp) -> list[int | None]:
    return [c.error.code if c.error else None for c in fake.messages(WA, include_failed=True)]


# --- each Graph error class ------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "status", "transient"),
    [(131000, 500, None), (1, 500, True), (2, 503, True), (100, 502, True)],
)
async def test_a_transient_error_is_retried_with_growing_waits_and_goes_once(
    runtime: Runtime,
    fake: FakeWhatsApp,
    channel: WhatsAppChannel,
    sessionmaker: Any,
    clock: FakeClock,
    code: int,
    status: int,
    transient: bool | None,
) -> None:
    await producer_wrote(runtime, sessionmaker, clock, ago=timedelta(hours=1))
    item_id = await notice(runtime, clock, "Catatan kurator untuk Keripik Tempe Sanan")
    fake.fail_next(code, times=4, status=status, transient=transient)
    sender = poster(runtime, clock)
    waits = []
    for _ in range(4):
        before = clock.now
        assert await sender.send_next() == 0
        row = await item(runtime, item_id)
        assert row.sent_at is None and row.failed_at is None  # kept, never marked done
        waits.append((row.next_attempt_at - before).total_seconds())
        clock.now = row.next_attempt_at
    assert waits == sorted(waits) and waits[-1] > waits[0]  # exponential, not a tight loop
    assert await sender.run_until_idle() == 1
    assert codes(fake) == [code] * 4 + [None]
    assert (await item(runtime, item_id)).sent_at is not None


def closed_window_status(fake: FakeWhatsApp, message_id: str) -> dict[str, Any]:
    """Meta's late report that a message was not delivered: the window had closed (131047)."""
    return fake.status(
        message_id,
        WA,
        "failed",
        errors=[{"code": 131047, "title": "Re-engagement message", "message": "Re-engagement"}],
    )


async def plan_revision_reminder(
    sessionmaker: Any, clock: FakeClock, product: Product, *, key: str, status: ProductStatus
) -> None:
    """The product in `status` and a revision reminder to its producer (WA), due now."""
    async with sessionmaker() as session, session.begin():
        row = await session.get(Product, product.id)
        row.status = status
        user = await session.scalar(select(User).where(User.external_id == WA))
        await plan(
            session,
            kind="revision",
            dedupe_key=key,
            channel="whatsapp",
            chat_id=WA,
            user_id=user.id,
            subject_id=product.id,
            due_at=clock.now,
            now=clock.now,
        )


async def test_a_five_minute_outage_delays_a_decision_and_loses_none(
    runtime: Runtime,
    fake: FakeWhatsApp,
    channel: WhatsAppChannel,
    sessionmaker: Any,
    clock: FakeClock,
) -> None:
    product = await producer_wrote(runtime, sessionmaker, clock, ago=timedelta(hours=1))
    await plan_revision_reminder(
        sessionmaker, clock, product, key="revision:outage", status=ProductStatus.approved
    )
    async with sessionmaker() as session, session.begin():
        row = await session.get(Product, product.id)
        row.status = ProductStatus.revision_requested
    notifier = Notifier(runtime.app, schedule=_no_quiet(runtime), timezone="Asia/Jakarta")
    fake.fail_next(131000, times=-1, status=500, transient=True)  # Meta is down
    end = clock.now + timedelta(minutes=5)
    ticks = 0
    while clock.now < end:
        await notifier.send_due()
        ticks += 1
        clock.advance(seconds=20)
    async with sessionmaker() as session:
        note = await session.scalar(select(Notification))
    assert note.sent_at is None and (note.result or "").startswith("retrying")
    tries = len(fake.messages(WA, include_failed=True))
    assert 3 <= tries < ticks  # backed off: not every tick, and never given up
    fake.recover()
    clock.advance(minutes=30)
    assert await notifier.send_due() == 1
    [told] = fake.messages(WA)
    assert "Keripik Tempe Sanan" in told.text
    async with sessionmaker() as session:
        note = await session.scalar(select(Notification))
    assert note.sent_at is not None and note.result == "sent"


def _no_quiet(runtime: Runtime) -> Any:
    from dataclasses import replace

    return replace(runtime.settings.reminders.schedule(), quiet_hours=None)


@pytest.mark.parametrize(("code", "status"), [(130429, 400), (4, 429), (80007, 429)])
async def test_a_throughput_limit_pauses_the_number_and_is_waited_out(
    runtime: Runtime,
    fake: FakeWhatsApp,
    channel: WhatsAppChannel,
    sessionmaker: Any,
    clock: FakeClock,
    code: int,
    status: int,
) -> None:
    await producer_wrote(runtime, sessionmaker, clock, ago=timedelta(hours=1))
    item_id = await notice(runtime, clock, "Catatan kurator")
    fake.fail_next(code, status=status)
    sender = poster(runtime, clock)
    started = clock.now
    assert await sender.send_next() == 0
    row = await item(runtime, item_id)
    assert row.sent_at is None and row.attempts == 0  # waited out as told, not a failure
    assert row.next_attempt_at > started
    # Every worker's budget for this number is paused (a row in the database on PostgreSQL).
    assert channel.budget.paused_until > 0 and channel.budget.limited == 1
    channel.budget.paused_until = 0.0  # the tests' clock moves on; the wall clock need not
    async with sessionmaker() as session, session.begin():
        from db.models import SendBudget

        for budget in await session.scalars(select(SendBudget)):
            budget.paused_until = 0.0
    assert await sender.run_until_idle() == 1
    assert codes(fake) == [code, None]


async def test_a_pair_rate_limit_makes_only_that_chat_wait(
    runtime: Runtime,
    fake: FakeWhatsApp,
    channel: WhatsAppChannel,
    sessionmaker: Any,
    clock: FakeClock,
) -> None:
    await producer_wrote(runtime, sessionmaker, clock, ago=timedelta(hours=1))
    item_id = await notice(runtime, clock, "Catatan kurator")
    fake.fail_next(131056)
    sender = poster(runtime, clock)
    assert await sender.send_next() == 0
    row = await item(runtime, item_id)
    assert row.attempts == 0 and row.next_attempt_at > clock.now
    assert channel.budget.limited == 0  # the number's budget is untouched
    assert await sender.run_until_idle() == 1
    assert codes(fake) == [131056, None]


@pytest.mark.parametrize("code", [131026, 131030, 131021])
async def test_an_unreachable_recipient_is_recorded_and_never_tried_again(
    runtime: Runtime,
    fake: FakeWhatsApp,
    channel: WhatsAppChannel,
    sessionmaker: Any,
    clock: FakeClock,
    code: int,
) -> None:
    await producer_wrote(runtime, sessionmaker, clock, ago=timedelta(hours=1))
    item_id = await notice(runtime, clock, "Catatan kurator")
    fake.fail_next(code)
    sender = poster(runtime, clock)
    assert await sender.run_until_idle() == 1
    clock.advance(days=3)
    assert await sender.run_until_idle() == 0
    row = await item(runtime, item_id)
    assert row.failed_at is not None and str(code) in (row.last_error or "")
    assert codes(fake) == [code]


async def test_a_closed_window_sends_the_kinds_template_and_the_message_waits_for_the_reply(
    runtime: Runtime,
    fake: FakeWhatsApp,
    channel: WhatsAppChannel,
    sessionmaker: Any,
    clock: FakeClock,
) -> None:
    # By our count they wrote 20 hours ago; Meta counts otherwise (131047).
    product = await producer_wrote(runtime, sessionmaker, clock, ago=timedelta(hours=20))
    item_id = await notice(runtime, clock, "Catatan kurator", subject_id=product.id)
    fake.fail_next(131047)
    await poster(runtime, clock).run_until_idle(patience=60)
    sent = fake.messages(WA)
    assert [m.type for m in sent] == ["template"]
    assert sent[0].body["template"]["name"] == "kurasi_revisi"
    row = await item(runtime, item_id)
    assert row.sent_at is None and row.last_error == TEMPLATE_SENT  # held for their reply
    async with runtime.sessionmaker() as session:
        assert (await queue_depths(session))["held"] == 1  # visible


async def test_a_window_closed_reported_late_sends_the_template(
    runtime: Runtime,
    client: TestClient,
    fake: FakeWhatsApp,
    channel: WhatsAppChannel,
    sessionmaker: Any,
    clock: FakeClock,
) -> None:
    product = await producer_wrote(runtime, sessionmaker, clock, ago=timedelta(hours=23))
    item_id = await notice(runtime, clock, "Catatan kurator", subject_id=product.id)
    sender = poster(runtime, clock)
    assert await sender.run_until_idle() == 1
    [free] = fake.messages(WA)
    assert free.type == "interactive" or free.type == "text"
    await channel.idle()  # its wamid is stored with what it was sent for
    # Minutes later Meta reports that it was not delivered: the window had closed.
    failed = closed_window_status(fake, free.message_id)
    url = str(client.make_url(WHATSAPP_WEBHOOK_PATH))
    assert await fake.post(url, failed) == 200
    await channel.idle()
    row = await item(runtime, item_id)
    assert row.sent_at is None  # reopened
    await sender.run_until_idle(patience=60)
    kinds = [m.type for m in fake.messages(WA)]
    assert kinds[-1] == "template"
    assert fake.messages(WA)[-1].body["template"]["name"] == "kurasi_revisi"


# --- a channel that is not configured --------------------------------------------------


async def test_a_message_for_a_channel_not_configured_is_held_and_visible(
    sessionmaker: Any,
    clock: FakeClock,
    tmp_path: Path,
    database_url: str,
    fake: FakeWhatsApp,
    runtime: Runtime,
) -> None:
    settings = load_settings(None, database={"url": database_url}, media={"dir": tmp_path})
    console = await build(settings, clock=clock, migrate=False)  # the console only
    try:
        async with sessionmaker() as session, session.begin():
            await enqueue(
                session,
                channel="whatsapp",
                chat_id=WA,
                kind=NOTICE,
                payload={"text": "Keputusan kurator"},
                now=clock.now,
            )
            await plan(
                session,
                kind="weekly_digest",
                dedupe_key="weekly:x",
                channel="whatsapp",
                chat_id=WA,
                due_at=clock.now,
                now=clock.now,
            )
        await MessageSender(console.app).send_next()
        notifier = Notifier(console.app, schedule=_no_quiet(console), timezone="Asia/Jakarta")
        await notifier.send_due()
        async with sessionmaker() as session:
            row = await session.scalar(select(OutboxItem))
            note = await session.scalar(select(Notification))
            depths = await queue_depths(session)
        assert row.sent_at is None and row.failed_at is None
        assert "not configured" in (row.last_error or "")
        assert note.sent_at is None and "not configured" in (note.result or "")
        assert depths["held"] == 2
    finally:
        await console.close()
    # Started again with WhatsApp configured: what was held goes out.
    async with sessionmaker() as session, session.begin():
        session.add(
            User(
                channel="whatsapp",
                external_id=WA,
                language="id",
                consented_at=clock.now,
                reminder_optouts=[],
                last_inbound_at=clock.now - timedelta(hours=1),
                is_admin=False,
            )
        )
    async with runtime.background():
        await fake.wait_for(1, to=WA)
    texts = [m.text for m in fake.messages(WA)]
    assert any("Keputusan kurator" in t for t in texts), texts
    async with sessionmaker() as session:
        assert (await queue_depths(session))["held"] == 0


# --- what waited is released by their next message ---------------------------------------


async def say(client: TestClient, fake: FakeWhatsApp, channel: WhatsAppChannel, text: str) -> list:
    before = len(fake.messages(WA))
    url = str(client.make_url(WHATSAPP_WEBHOOK_PATH))
    assert await fake.post(url, fake.webhook(WA, fake.text(text))) == 200
    await channel.idle()
    return fake.messages(WA)[before:]


async def decided_while_away(runtime: Runtime, sessionmaker: Any, clock: FakeClock) -> None:
    """Approved 30 hours after they last wrote: first a claim notice (no template for it,
    so held), then the decision (its template goes, the message waits)."""
    from db.models import Review

    product = await producer_wrote(runtime, sessionmaker, clock, ago=timedelta(hours=30))
    async with sessionmaker() as session, session.begin():
        row = await session.get(Product, product.id)
        row.status = ProductStatus.approved
        review = await session.scalar(select(Review).where(Review.product_id == product.id))
        review.decision, review.grade, review.decided_at = "approved", "A", clock.now
        user = await session.scalar(select(User).where(User.external_id == WA))
        await enqueue(
            session,
            channel="whatsapp",
            chat_id=WA,
            kind=NOTICE,
            payload={
                "text": "🔎 Kurator sedang meninjau “Keripik Tempe Sanan”.",
                "notice_kind": "claimed",
            },
            now=clock.now - timedelta(minutes=5),
        )
        await plan(
            session,
            kind="decision",
            dedupe_key="decision:away",
            channel="whatsapp",
            chat_id=WA,
            user_id=user.id,
            subject_id=product.id,
            payload={"review_id": review.id},
            due_at=clock.now,
            now=clock.now,
        )


async def test_a_reply_to_the_decision_template_shows_what_waited_in_order(
    runtime: Runtime,
    client: TestClient,
    fake: FakeWhatsApp,
    channel: WhatsAppChannel,
    sessionmaker: Any,
    clock: FakeClock,
) -> None:
    fake.enforce_window = True
    fake.last_inbound[WA] = fake.clock() - 30 * 3600
    await decided_while_away(runtime, sessionmaker, clock)
    notifier = Notifier(runtime.app, schedule=_no_quiet(runtime), timezone="Asia/Jakarta")
    await MessageSender(runtime.app).send_next()  # the claim notice: held, no template
    await notifier.send_due()
    [template] = fake.messages(WA)
    assert template.body["template"]["name"] == "kurasi_keputusan"  # "Balas pesan ini ..."
    async with runtime.background():
        # They answer the template as it asks: what waited comes, oldest first, and nothing
        # says it was not understood.
        shown = await say(client, fake, channel, "oke")
        texts = [m.text for m in shown]
        assert len(texts) == 2, texts
        assert "meninjau" in texts[0]
        assert "disetujui" in texts[1] and "WhatsApp" in texts[1]  # with the consent question
        assert shown[1].buttons  # which can be answered
        assert not any("belum mengerti" in t for t in texts)
        # Their next message is answered as usual.
        later = await say(client, fake, channel, "halo")
        assert later and any("Mau melakukan apa?" in m.text for m in later)  # the greeting
    async with sessionmaker() as session:
        note = await session.scalar(select(Notification))
    assert note.sent_at is not None and note.result == "sent"


async def test_held_messages_go_before_the_answer_to_their_next_message(
    runtime: Runtime,
    client: TestClient,
    fake: FakeWhatsApp,
    channel: WhatsAppChannel,
    sessionmaker: Any,
    clock: FakeClock,
) -> None:
    channel.templates = {}  # no templates: everything waits for them
    fake.enforce_window = True
    fake.last_inbound[WA] = fake.clock() - 30 * 3600
    await decided_while_away(runtime, sessionmaker, clock)
    notifier = Notifier(runtime.app, schedule=_no_quiet(runtime), timezone="Asia/Jakarta")
    await MessageSender(runtime.app).send_next()  # the claim notice: held, no template
    await notifier.send_due()
    assert fake.messages(WA) == []
    async with runtime.background():
        shown = await say(client, fake, channel, "produk")
    texts = [m.text for m in shown]
    assert "meninjau" in texts[0] and "disetujui" in texts[1], texts
    assert "Keripik Tempe Sanan" in texts[2]  # then the answer: their products


# --- broadcasts -------------------------------------------------------------------------


async def test_a_whatsapp_broadcast_uses_its_template_outside_the_window_and_no_tags(
    runtime: Runtime,
    fake: FakeWhatsApp,
    channel: WhatsAppChannel,
    sessionmaker: Any,
    clock: FakeClock,
) -> None:
    from bot.app import make_sender
    from db import broadcasts as data

    inside, outside, meta_says_closed = "6281100000001", "6281100000002", "6281100000003"
    fake.enforce_window = True
    async with sessionmaker() as session, session.begin():
        for wa_id, ago in ((inside, 2), (outside, 30), (meta_says_closed, 20)):
            session.add(
                User(
                    channel="whatsapp",
                    external_id=wa_id,
                    language="id",
                    consented_at=clock.now,
                    reminder_optouts=[],
                    last_inbound_at=clock.now - timedelta(hours=ago),
                )
            )
            if ago < 24 and wa_id == inside:
                fake.last_inbound[wa_id] = fake.clock() - ago * 3600
        await data.create_broadcast(
            session,
            text='<b>Pameran</b> baru &amp; gratis: <a href="https://kurasi.id">daftar</a>',
            html=True,
            audience=data.Audience(),
            created_by=None,
            now=clock.now,
            urgent=True,
        )
    settings = runtime.settings.model_copy(
        update={
            "broadcast": runtime.settings.broadcast.model_copy(
                update={"whatsapp_template": "kurasi_pengumuman"}
            )
        }
    )
    await make_sender(settings, runtime.app, None).run_until_idle()
    [free] = fake.messages(inside)
    assert free.text == "*Pameran* baru & gratis: daftar (https://kurasi.id)"  # no tags
    for wa_id in (outside, meta_says_closed):
        [sent] = fake.messages(wa_id)
        assert sent.type == "template" and sent.body["template"]["name"] == "kurasi_pengumuman"
    # Outside by our count: the template at once, no free text tried first.
    assert [c.error for c in fake.messages(outside, include_failed=True)] == [None]
    # Inside by our count, but Meta said closed (131047): the template after it.
    refused = [c for c in fake.messages(meta_says_closed, include_failed=True) if c.error]
    assert [c.error.code for c in refused if c.error] == [131047]
    fake.calls = [c for c in fake.calls if c not in refused]  # refused as expected
    async with sessionmaker() as session:
        report = await data.report(
            session, broadcast=await data.get_broadcast(session, broadcast_id=1)
        )
    assert report.counts == {"sent": 3}


def test_a_read_timeout_or_a_dropped_connection_is_transient() -> None:
    import httpx

    from bot.channels.base import TemporaryFailure
    from bot.channels.whatsapp import translate
    from bot.outbound import Failure, classify

    for error in (httpx.ReadTimeout("slow"), httpx.ConnectError("down")):
        failure = translate(error)
        assert isinstance(failure, TemporaryFailure)
        assert classify(failure).failure == Failure.transient


async def test_a_reminder_whose_window_closed_late_goes_again_as_its_template(
    runtime: Runtime,
    client: TestClient,
    fake: FakeWhatsApp,
    channel: WhatsAppChannel,
    sessionmaker: Any,
    clock: FakeClock,
) -> None:
    product = await producer_wrote(runtime, sessionmaker, clock, ago=timedelta(hours=23))
    await plan_revision_reminder(
        sessionmaker, clock, product, key="revision:late", status=ProductStatus.revision_requested
    )
    notifier = Notifier(runtime.app, schedule=_no_quiet(runtime), timezone="Asia/Jakarta")
    assert await notifier.send_due() == 1
    [free] = fake.messages(WA)
    assert free.type != "template"
    await channel.idle()
    failed = closed_window_status(fake, free.message_id)
    assert await fake.post(str(client.make_url(WHATSAPP_WEBHOOK_PATH)), failed) == 200
    await channel.idle()
    assert await notifier.send_due() == 1
    last = fake.messages(WA)[-1]
    assert last.type == "template" and last.body["template"]["name"] == "kurasi_revisi"
    async with sessionmaker() as session:
        note = await session.scalar(select(Notification))
    assert note.result == TEMPLATE_SENT  # and the message waits for their reply


async def test_the_running_bot_sends_the_template_when_meta_reports_a_closed_window_late(
    runtime: Runtime,
    client: TestClient,
    fake: FakeWhatsApp,
    channel: WhatsAppChannel,
    sessionmaker: Any,
    clock: FakeClock,
) -> None:
    """`kurasi run`'s one sender: a reminder goes as free text (our count had the window
    open), Meta's status says 131047 later, and the template follows on its own."""
    product = await producer_wrote(runtime, sessionmaker, clock, ago=timedelta(hours=23))
    await plan_revision_reminder(
        sessionmaker,
        clock,
        product,
        key="revision:late-running",
        status=ProductStatus.revision_requested,
    )
    async with runtime.background():
        for _ in range(100):
            if fake.messages(WA):
                break
            await asyncio.sleep(0.05)
        [free] = fake.messages(WA)
        assert free.type != "template"
        await channel.idle()
        failed = closed_window_status(fake, free.message_id)
        assert await fake.post(str(client.make_url(WHATSAPP_WEBHOOK_PATH)), failed) == 200
        for _ in range(100):
            if len(fake.messages(WA)) > 1:
                break
            await asyncio.sleep(0.05)
    last = fake.messages(WA)[-1]
    assert last.type == "template" and last.body["template"]["name"] == "kurasi_revisi"
