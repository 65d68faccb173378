"""The one sender: one loop serves review cards, notices, replies that failed, reminders and
broadcasts; each chat is paced whatever the kind of message; an outage of either platform
delays a decision and loses none."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import build
from bot.channels.base import TemporaryFailure, reply_payload
from bot.config import load_settings
from bot.notify import Notifier
from bot.outbound import requeue
from bot.runtime import FloodGuard, Kurasi
from bot.sender import MessageSender
from db import broadcasts as data
from db.base import utcnow
from db.media_store import MediaStore
from db.models import Notification, OutboxItem, Product, ProductStatus, Review, User
from db.notifications import plan
from db.outbox import NOTICE, enqueue
from handlers.kit.context import FlowSettings
from handlers.kit.events import Reply
from handlers.rules.schedule import ReminderSchedule
from tests.bot.conftest import bot_settings
from tests.factories import submitted_product
from tests.fakes.telegram import FakeTelegram
from tests.fakes.whatsapp import FakeWhatsApp
from tests.support import FakeClock, RecordingChannel

GROUP = "-100777"  # a review chat: a group
PERSON = "4242"  # a producer's private chat
NO_QUIET = ReminderSchedule(quiet_hours=None)


class StampedChannel(RecordingChannel):
    """A recording channel that notes the (fake) time each message reached each chat."""

    def __init__(self, app: Kurasi, clock: FakeClock) -> None:
        super().__init__(app)
        self.clock = clock
        self.at: list[tuple[str, datetime, int]] = []  # chat, when, messages in the send

    async def post(self, chat_id: str, reply: Reply) -> list[str]:
        self.at.append((chat_id, self.clock.now, len(reply.media) + (1 if reply.text else 0)))
        return await super().post(chat_id, reply)

    def times(self, chat_id: str) -> list[tuple[datetime, int]]:
        return [(at, n) for chat, at, n in self.at if chat == chat_id]


def advancing(clock: FakeClock) -> Callable[[float], Any]:
    async def sleep(seconds: float) -> None:
        clock.advance(seconds=seconds)

    return sleep


@pytest.fixture
def app(sessionmaker: Any, clock: FakeClock, media_store: MediaStore) -> Kurasi:
    return Kurasi(
        sessionmaker=sessionmaker,
        clock=clock,
        media_store=media_store,
        flood=FloodGuard(limit=10_000),
        flow_settings=FlowSettings(review_chats=((GROUP, ()),), review_channel="test"),
    )


@pytest.fixture
def channel(app: Kurasi, clock: FakeClock) -> StampedChannel:
    return StampedChannel(app, clock)


async def a_decision(sessionmaker: Any, product_id: int, *, due_at: datetime) -> None:
    """The product approved and its decision planned as the review flow plans it."""
    async with sessionmaker() as session, session.begin():
        product = await session.get(Product, product_id)
        assert product is not None
        review = await session.scalar(select(Review).where(Review.product_id == product_id))
        assert review is not None
        product.status = ProductStatus.approved
        review.decision, review.decided_at = ProductStatus.approved, due_at
        owner = await session.scalar(select(User).order_by(User.id.desc()))
        assert owner is not None
        await plan(
            session,
            kind="decision",
            dedupe_key=f"decision:{review.id}",
            channel=owner.channel,
            chat_id=owner.external_id,
            user_id=owner.id,
            subject_id=product_id,
            payload={"review_id": review.id},
            due_at=due_at,
            now=due_at,
        )


async def test_every_kind_into_one_private_chat_is_paced_one_a_second(
    app: Kurasi, channel: StampedChannel, sessionmaker: Any, clock: FakeClock, media_store: Any
) -> None:
    """A notice, a reply that failed its first try, a weekly digest and a decision, all to
    one person at once: they go one a second, whatever their kind, in one loop."""
    product = await submitted_product(
        sessionmaker, now=clock.now, store=media_store, owner=PERSON, chat_id=None
    )
    async with sessionmaker() as session, session.begin():
        person = await session.scalar(select(User).where(User.external_id == PERSON))
        assert person is not None
        person.is_admin = True  # the weekly digest is an admin's
        await enqueue(
            session,
            channel="test",
            chat_id=PERSON,
            kind=NOTICE,
            payload=reply_payload(Reply("Produk Anda sedang ditinjau.")),
            now=clock.now,
        )
        await plan(
            session,
            kind="weekly_digest",
            dedupe_key="weekly:paced",
            channel="test",
            chat_id=PERSON,
            user_id=person.id,
            due_at=clock.now,
            now=clock.now,
        )
    await requeue(app, "test", PERSON, [Reply("Jawaban Anda")], error=TemporaryFailure("blip"))
    await a_decision(sessionmaker, product.id, due_at=clock.now)
    notifier = Notifier(app, schedule=NO_QUIET, timezone="Asia/Jakarta")
    sender = MessageSender(app, sleep=advancing(clock), notifications=notifier)
    await sender.run_until_idle()
    times = [at for at, _n in channel.times(PERSON)]
    assert len(times) == 4, channel.sent
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
    assert all(gap >= 1.0 for gap in gaps), gaps
    async with sessionmaker() as session:
        results = sorted(n.result or "" for n in await session.scalars(select(Notification)))
    assert results == ["sent", "sent"]


async def test_a_group_takes_at_most_20_a_minute_of_cards_notices_and_reminders(
    app: Kurasi, channel: StampedChannel, sessionmaker: Any, clock: FakeClock, media_store: Any
) -> None:
    for _ in range(8):  # an album of one photo and the card: two messages each
        await submitted_product(
            sessionmaker, now=clock.now, store=media_store, chat_id=GROUP, channel="test"
        )
    async with sessionmaker() as session, session.begin():
        for n in range(8):
            await enqueue(
                session,
                channel="test",
                chat_id=GROUP,
                kind=NOTICE,
                payload=reply_payload(Reply(f"Kurator {n} mengambil produk.")),
                now=clock.now,
            )
            await plan(
                session,
                kind="review_digest",
                dedupe_key=f"digest:{GROUP}:{n}",
                channel="test",
                chat_id=GROUP,
                due_at=clock.now,
                now=clock.now,
            )
    notifier = Notifier(app, schedule=NO_QUIET, timezone="Asia/Jakarta")
    sender = MessageSender(app, sleep=advancing(clock), notifications=notifier, rate_per_minute=20)
    await sender.run_until_idle()
    sends = channel.times(GROUP)
    assert sum(n for _at, n in sends) == 8 * 2 + 8 + 8
    for start, _n in sends:
        window = sum(n for at, n in sends if start <= at < start + timedelta(seconds=60))
        assert window <= 20, (start, window)


# --- one loop, every kind, against the fake Bot API ------------------------------------


async def test_one_loop_sends_a_card_a_reminder_and_a_broadcast(
    fake: FakeTelegram, database_url: str, sessionmaker: Any, tmp_path: Path
) -> None:
    settings = bot_settings(
        fake,
        database_url,
        tmp_path,
        review={"chats": [{"chat_id": GROUP, "sectors": []}]},
        reminders={"quiet_hours": ""},
    )
    runtime = await build(settings, clock=utcnow, migrate=False)
    try:
        now = utcnow()
        product = await submitted_product(
            sessionmaker,
            now=now,
            store=runtime.app.media_store,
            channel="telegram",
            owner=PERSON,
            chat_id=GROUP,
        )
        await a_decision(sessionmaker, product.id, due_at=now)
        async with sessionmaker() as session, session.begin():
            await data.create_broadcast(
                session,
                text="Pameran baru dibuka!",
                html=False,
                audience=data.Audience(),
                created_by=None,
                now=now,
            )
        notifier = Notifier(
            runtime.app, schedule=settings.reminders.schedule(), timezone="Asia/Jakarta"
        )
        loop = runtime.poster  # the bot's one sender, and nothing else running
        loop.notifications = notifier
        loop.broadcasts = runtime.sender
        task = asyncio.create_task(loop.run())

        def seen() -> tuple[bool, bool, bool]:
            to_person = [c.params.get("text", "") for c in fake.sent("sendMessage", chat_id=PERSON)]
            card = bool(fake.sent("sendMessage", chat_id=GROUP))
            return card, any("Pameran baru" in t for t in to_person), len(to_person) >= 2

        try:
            for _ in range(200):
                if all(seen()):
                    break
                await asyncio.sleep(0.05)
        finally:
            loop.stop()
            await asyncio.wait_for(task, 10)
        assert seen() == (True, True, True)
        async with sessionmaker() as session:
            note = await session.scalar(select(Notification))
            assert note is not None and note.result == "sent"
            (item,) = await session.scalars(
                select(OutboxItem).where(OutboxItem.notification_id == note.id)
            )
            assert item.sent_at is not None
    finally:
        await runtime.close()


# --- a five-minute outage of either platform, through the one loop ---------------------


async def _through_an_outage(
    app: Kurasi,
    clock: FakeClock,
    *,
    down: Callable[[], None],
    up: Callable[[], None],
    tries: Callable[[], int],
) -> None:
    """The platform answers 500 for five minutes of the sender's own waiting; the decision
    waits it out (backing off) and goes once when the platform is back."""
    notifier = Notifier(app, schedule=NO_QUIET, timezone="Asia/Jakarta")
    end = clock.now + timedelta(minutes=5)
    down()

    async def sleep(seconds: float) -> None:
        clock.advance(seconds=seconds)
        if clock.now >= end:
            up()

    sender = MessageSender(app, sleep=sleep, notifications=notifier)
    await sender.run_until_idle()
    assert sender.delivered == 1
    assert clock.now >= end  # it waited the outage out, never gave up
    assert 4 <= tries() <= 12  # backed off between tries: no tight loop
    async with app.sessionmaker() as session:
        note = await session.scalar(select(Notification))
    assert note is not None and note.result == "sent" and note.sent_at is not None


async def test_a_telegram_outage_delays_a_decision_and_loses_none(
    fake: FakeTelegram, database_url: str, sessionmaker: Any, tmp_path: Path
) -> None:
    clock = FakeClock()
    runtime = await build(bot_settings(fake, database_url, tmp_path), clock=clock, migrate=False)
    try:
        product = await submitted_product(
            sessionmaker,
            now=clock.now,
            store=runtime.app.media_store,
            channel="telegram",
            owner=PERSON,
            chat_id=None,
        )
        await a_decision(sessionmaker, product.id, due_at=clock.now)
        await _through_an_outage(
            runtime.app,
            clock,
            down=lambda: fake.fail_next("sendMessage", 500, times=10**6),
            up=fake._failures.clear,
            tries=lambda: len(fake.sent("sendMessage", chat_id=PERSON, include_failed=True)),
        )
        assert len(fake.sent("sendMessage", chat_id=PERSON)) == 1
    finally:
        await runtime.close()


@pytest.fixture
async def graph() -> AsyncIterator[FakeWhatsApp]:
    async with FakeWhatsApp() as server:
        yield server


async def test_a_whatsapp_outage_delays_a_decision_and_loses_none(
    graph: FakeWhatsApp, database_url: str, sessionmaker: Any, tmp_path: Path
) -> None:
    clock = FakeClock()
    settings = load_settings(
        None,
        database={"url": database_url},
        whatsapp={
            "phone_number_id": graph.phone_number_id,
            "token": graph.token,
            "app_secret": graph.app_secret,
            "verify_token": "verify",
            "graph_api_base": graph.base_url,
        },
        media={"dir": tmp_path / "media"},
    )
    runtime = await build(settings, clock=clock, migrate=False)
    wa = "6281200000001"
    try:
        product = await submitted_product(
            sessionmaker,
            now=clock.now,
            store=runtime.app.media_store,
            channel="whatsapp",
            owner=wa,
            chat_id=None,
        )
        async with sessionmaker() as session, session.begin():
            user = await session.scalar(select(User).where(User.external_id == wa))
            assert user is not None
            user.last_inbound_at = clock.now - timedelta(hours=1)  # inside the window
        await a_decision(sessionmaker, product.id, due_at=clock.now)
        await _through_an_outage(
            runtime.app,
            clock,
            down=lambda: graph.fail_next(131000, times=-1, status=500, transient=True),
            up=graph.recover,
            tries=lambda: len(graph.messages(wa, include_failed=True)),
        )
        assert len(graph.messages(wa)) == 1
    finally:
        await runtime.close()


@pytest.mark.parametrize(("kind", "held"), [("draft", True), ("decision", False)])
async def test_a_reminder_retried_into_quiet_hours_waits_for_the_morning(
    app: Kurasi, sessionmaker: Any, kind: str, held: bool
) -> None:
    """A reminder whose send failed at 20:59:59 WIB is tried again at 07:00, not a second
    later in the night; a decision (not held by quiet hours) keeps its backoff."""
    from zoneinfo import ZoneInfo

    from db.outbox import NOTIFICATION

    wib = ZoneInfo("Asia/Jakarta")
    late = datetime(2026, 12, 7, 20, 59, 59, tzinfo=wib)
    notifier = Notifier(app, schedule=ReminderSchedule(), timezone="Asia/Jakarta")
    sender = MessageSender(app, notifications=notifier)
    async with sessionmaker() as session, session.begin():
        note = Notification(
            kind=kind,
            dedupe_key=f"{kind}:quiet",
            channel="test",
            chat_id=PERSON,
            due_at=late,
            attempts=0,
            created_at=late,
            queued_at=late,
        )
        session.add(note)
        await session.flush()
        item = OutboxItem(
            channel="test",
            chat_id=PERSON,
            kind=NOTIFICATION,
            payload=reply_payload(Reply("Draf Anda menunggu")),
            created_at=late,
            attempts=3,  # its fourth try: a backoff of seconds, past 21:00
            notification_id=note.id,
        )
        session.add(item)
        await session.flush()
        await sender._record(session, item, TemporaryFailure("502 Bad Gateway"), late)
        retry = item.next_attempt_at
    assert retry is not None
    morning = datetime(2026, 12, 8, 7, 0, tzinfo=wib)
    assert (retry == morning) if held else (late < retry < late + timedelta(minutes=2)), retry


def test_a_private_chats_pace_holds_after_another_workers_later_send(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The process's own memory of its last send lets a frozen test clock move on; it must
    not let a message through right after another worker's send into the same chat."""
    import time

    from bot import sender as module
    from bot.sender import ChatPace
    from db.models import ChatBudget

    pace = ChatPace(group_rate=20, private_gap=1.0, groups=frozenset())
    item = OutboxItem(channel="test", chat_id=PERSON, kind=NOTICE)
    budget = ChatBudget(channel="test", chat_id=PERSON, sent=[])
    pace.took(budget, item, cost=1, now=1000.0)  # ours
    later = time.monotonic() + 5  # a real while later, the rows' clock standing still
    monkeypatch.setattr(module.time, "monotonic", lambda: later)
    assert pace.wait(budget, item, cost=1, now=1000.6) == 0.0
    budget.sent = [1000.0, 1000.5]  # meanwhile another worker sent into the chat
    assert pace.wait(budget, item, cost=1, now=1000.6) == pytest.approx(0.9)
