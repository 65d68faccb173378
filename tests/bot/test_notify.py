"""Reminders over time: the clock moves, each reminder goes out once, at the right local time."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from bot.notify import Notifier
from bot.runtime import FloodGuard, Kurasi
from db.media_store import MediaStore
from db.models import Fair, Notification, Product, ProductStatus, Review, User
from handlers.kit.context import FlowSettings
from handlers.rules.schedule import ReminderSchedule
from tests.factories import producer
from tests.support import Chat, FakeClock, RecordingChannel

ZONE = "Asia/Jakarta"  # UTC+7
CHAT = "-1001"
ADMIN = "9000"


def jakarta(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return (
        datetime(year, month, day, hour - 7, minute, tzinfo=UTC)
        if hour >= 7
        else (datetime(year, month, day, hour, minute, tzinfo=UTC) - timedelta(hours=7))
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(jakarta(2026, 11, 2, 10))  # a Monday, 10:00 in Jakarta


def make_app(sessionmaker, clock, media_store) -> Kurasi:
    return Kurasi(
        sessionmaker=sessionmaker,
        clock=clock,
        media_store=media_store,
        flood=FloodGuard(limit=10_000),
        flow_settings=FlowSettings(
            review_chats=((CHAT, ()),),
            review_channel="test",
            admin_ids=frozenset({ADMIN}),
        ),
    )


@pytest.fixture
def app(sessionmaker, clock: FakeClock, media_store: MediaStore) -> Kurasi:
    return make_app(sessionmaker, clock, media_store)


def notifier(app: Kurasi) -> Notifier:
    return Notifier(
        app, schedule=ReminderSchedule(), timezone=ZONE, admin_ids=frozenset({ADMIN}),
        admin_channel="test",
    )  # fmt: skip


async def run_hours(clock: FakeClock, notify: Notifier, hours: int) -> None:
    for _ in range(hours):
        clock.advance(hours=1)
        await notify.tick()


def texts_to(channel: RecordingChannel, chat_id: str) -> list[str]:
    return [r.text for c, r in channel.sent if c == chat_id]


async def a_draft(sessionmaker, clock: FakeClock, *, external_id: str = "p1") -> Product:
    async with sessionmaker() as session, session.begin():
        _user, business = await producer(session, external_id=external_id, now=clock.now)
        product = Product(
            business_id=business.id,
            name="Sambal Roa",
            sector="food",
            status=ProductStatus.draft,
            created_at=clock.now,
            updated_at=clock.now,
            precheck=[],
        )
        session.add(product)
    return product


async def test_draft_nudged_twice_then_never_again(app, channel, sessionmaker, clock) -> None:
    await a_draft(sessionmaker, clock)
    notify = notifier(app)
    await run_hours(clock, notify, 71)
    assert texts_to(channel, "p1") == []
    await run_hours(clock, notify, 1)  # exactly 3 days idle, 10:00 local
    assert len(texts_to(channel, "p1")) == 1 and "Sambal Roa" in texts_to(channel, "p1")[0]
    await run_hours(clock, notify, 72)
    assert len(texts_to(channel, "p1")) == 2
    await run_hours(clock, notify, 24 * 10)
    assert len(texts_to(channel, "p1")) == 2


async def test_revision_reminder_repeats_the_reason(app, channel, sessionmaker, clock) -> None:
    async with sessionmaker() as session, session.begin():
        _user, business = await producer(session, external_id="p2", now=clock.now)
        product = Product(
            business_id=business.id, name="Batik Tulis", sector="fashion",
            status=ProductStatus.revision_requested, round=1, precheck=[],
            created_at=clock.now, updated_at=clock.now,
        )  # fmt: skip
        session.add(product)
        await session.flush()
        session.add(
            Review(
                product_id=product.id, round=1, snapshot={}, scores={}, reasons=["photos"],
                reason_text="Foto motif kurang dekat.", decision="revision_requested",
                decided_at=clock.now,
            )
        )  # fmt: skip
    notify = notifier(app)
    await run_hours(clock, notify, 24 * 5 - 1)
    assert texts_to(channel, "p2") == []
    await run_hours(clock, notify, 1)
    [reminder] = texts_to(channel, "p2")
    assert "Foto motif kurang dekat." in reminder and "Foto kurang jelas" in reminder
    await run_hours(clock, notify, 24 * 7)
    assert len(texts_to(channel, "p2")) == 1


async def test_quiet_hours_hold_a_reminder_until_seven(app, channel, sessionmaker, clock) -> None:
    clock.now = jakarta(2026, 11, 2, 23)  # the draft was last touched at 23:00
    await a_draft(sessionmaker, clock)
    notify = notifier(app)
    clock.advance(days=3)
    await notify.tick()  # due now, but 23:00 is quiet
    assert texts_to(channel, "p1") == []
    await run_hours(clock, notify, 7)  # 06:00
    assert texts_to(channel, "p1") == []
    await run_hours(clock, notify, 1)  # 07:00
    assert len(texts_to(channel, "p1")) == 1
    async with sessionmaker() as session:
        note = await session.scalar(select(Notification).where(Notification.kind == "draft"))
    assert note.sent_at == jakarta(2026, 11, 6, 7)


async def test_opted_out_kind_is_not_sent(app, channel, sessionmaker, clock) -> None:
    await a_draft(sessionmaker, clock)
    person = Chat(app, channel, user_id="p1")
    await person.send("/pengingat")
    await person.press("draf")
    notify = notifier(app)
    await run_hours(clock, notify, 24 * 7)
    assert not [t for t in texts_to(channel, "p1") if "Sambal Roa" in t]
    async with sessionmaker() as session:
        results = list(
            await session.scalars(select(Notification.result).where(Notification.kind == "draft"))
        )
    assert results == ["opted_out", "opted_out"]


async def test_blocked_user_is_marked_and_skipped(app, channel, sessionmaker, clock) -> None:
    await a_draft(sessionmaker, clock)
    channel.blocked.add("p1")
    notify = notifier(app)
    await run_hours(clock, notify, 24 * 7)
    async with sessionmaker() as session:
        user = await session.scalar(select(User).where(User.external_id == "p1"))
        results = list(
            await session.scalars(
                select(Notification.result)
                .where(Notification.kind == "draft")
                .order_by(Notification.id)
            )
        )
    assert user.blocked_at == jakarta(2026, 11, 5, 10)
    assert results == ["blocked", "blocked"]  # the second was never attempted
    assert texts_to(channel, "p1") == []


async def test_two_schedulers_send_each_reminder_once(
    sessionmaker, clock, media_store: MediaStore, channel: RecordingChannel
) -> None:
    for i in range(12):
        await a_draft(sessionmaker, clock, external_id=f"p{i}")
    first = make_app(sessionmaker, clock, media_store)
    second = make_app(sessionmaker, clock, media_store)
    first.add_channel(channel)
    second.add_channel(channel)
    a, b = notifier(first), notifier(second)
    for _ in range(24 * 8):
        clock.advance(hours=1)
        await asyncio.gather(a.tick(), b.tick())
    for i in range(12):
        assert len(texts_to(channel, f"p{i}")) == 2


async def test_review_digest_every_morning_and_weekly_admin_digest(
    app, channel, sessionmaker, clock, media_store
) -> None:
    from tests.factories import submitted_product

    await submitted_product(sessionmaker, now=clock.now, store=media_store, chat_id=CHAT)
    async with sessionmaker() as session, session.begin():
        session.add(User(channel="test", external_id=ADMIN, language="en", reminder_optouts=[]))
    notify = notifier(app)
    await run_hours(clock, notify, 24 * 2)  # Monday 10:00 → Wednesday 10:00
    digests = [t for t in texts_to(channel, CHAT) if "☀️" in t]
    assert len(digests) == 2  # Tuesday and Wednesday 08:00; Monday's 08:00 had passed
    assert texts_to(channel, ADMIN) == []  # so had Monday's weekly one: no catching up
    await run_hours(clock, notify, 24 * 5)  # → the next Monday 10:00
    weekly = texts_to(channel, ADMIN)
    assert len(weekly) == 1 and "1 submissions" in weekly[0]


async def digest_days(sessionmaker) -> list[str]:
    async with sessionmaker() as session:
        keys = await session.scalars(
            select(Notification.dedupe_key).where(Notification.kind == "review_digest")
        )
        return sorted(k.rsplit(":", 1)[1] for k in keys)


async def test_first_start_midweek_sends_no_digest_until_its_time(
    app, channel, sessionmaker, clock
) -> None:
    """A new database, first started on a Wednesday: the Monday digest waits for Monday."""
    clock.now = jakarta(2026, 11, 4, 9, 30)  # Wednesday 09:30, after both digests' 08:00
    async with sessionmaker() as session, session.begin():
        session.add(User(channel="test", external_id=ADMIN, language="en", reminder_optouts=[]))
    notify = notifier(app)
    await notify.tick()  # the scheduler's first tick, right at start
    assert texts_to(channel, ADMIN) == [] and texts_to(channel, CHAT) == []
    while clock.now < jakarta(2026, 11, 9, 7, 30):  # to Monday 07:30, an hour a tick
        clock.advance(hours=1)
        await notify.tick()
    assert texts_to(channel, ADMIN) == []
    # Thursday to Sunday 08:00, none for Wednesday (empty queue: planned, nothing to say).
    assert await digest_days(sessionmaker) == [
        "2026-11-05",
        "2026-11-06",
        "2026-11-07",
        "2026-11-08",
    ]
    for _ in range(3):  # then ten minutes a tick, to 08:00
        clock.advance(minutes=10)
        await notify.tick()
    [weekly] = texts_to(channel, ADMIN)
    assert "submissions" in weekly
    async with sessionmaker() as session:
        note = await session.scalar(
            select(Notification).where(Notification.kind == "weekly_digest")
        )
    assert note.sent_at == jakarta(2026, 11, 9, 8)


async def test_a_late_evening_digest_is_still_sent_after_midnight(app, sessionmaker, clock) -> None:
    clock.now = jakarta(2026, 11, 2, 22)
    notify = Notifier(
        app, schedule=ReminderSchedule(review_digest_at=time(23, 50)), timezone=ZONE,
        admin_ids=frozenset({ADMIN}), admin_channel="test",
    )  # fmt: skip
    await notify.tick()
    clock.now = jakarta(2026, 11, 3, 0, 30)  # the 23:50 tick was missed (a busy machine)
    await notify.tick()
    assert await digest_days(sessionmaker) == ["2026-11-02"]


async def test_fair_reminders_at_local_times_each_once(app, channel, sessionmaker, clock) -> None:
    async with sessionmaker() as session, session.begin():
        _user, business = await producer(session, external_id="p9", now=clock.now)
        session.add(
            Product(
                business_id=business.id, name="Keripik", sector="food",
                status=ProductStatus.approved, precheck=[],
            )
        )  # fmt: skip
        _user, other = await producer(session, external_id="p10", sector="fashion", now=clock.now)
        session.add(
            Product(
                business_id=other.id, name="Batik", sector="fashion",
                status=ProductStatus.approved, precheck=[],
            )
        )  # fmt: skip
        session.add(
            Fair(
                name="SIAL Interfood", place="JIExpo Kemayoran", country="Indonesia",
                start_date=date(2026, 11, 30), end_date=date(2026, 12, 3),
                registration_deadline=date(2026, 11, 20), sectors=["food"],
            )
        )  # fmt: skip
    notify = notifier(app)
    sent_at: list[datetime] = []
    for _ in range(24 * 32):
        clock.advance(hours=1)
        before = len(texts_to(channel, "p9"))
        await notify.tick()
        if len(texts_to(channel, "p9")) > before:
            sent_at.append(clock.now)
    expected = [
        jakarta(2026, 11, 6, 8),  # deadline - 14
        jakarta(2026, 11, 17, 8),  # deadline - 3
        jakarta(2026, 11, 19, 8),  # deadline - 1
        jakarta(2026, 11, 23, 8),  # start - 7
        jakarta(2026, 11, 29, 8),  # start - 1
    ]
    assert sent_at == expected
    assert texts_to(channel, "p10") == []  # fashion: not this fair's sector
    last = [r for c, r in channel.sent if c == "p9"][-1]
    assert any("tertarik" in b.label.lower() for row in last.buttons for b in row)
