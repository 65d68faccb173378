"""Broadcast delivery against the fake Bot API through the real aiogram client: exactly once,
under the rate, 429 obeyed, 403 marked blocked, resumable after a killed sender."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import insert, select

from bot.broadcast import BroadcastSender
from bot.channels.telegram import make_bot
from bot.channels.telegram_announce import TelegramAnnouncer
from bot.runtime import Kurasi
from db import broadcasts as data
from db.models import BroadcastDelivery, DeliveryState, User
from tests.fakes.telegram import Call, FakeTelegram
from tests.support import FakeClock

BASE = 500_000


async def seed(app: Kurasi, n: int, *, channel: str = "telegram") -> list[int]:
    """n consented Telegram users with chat ids BASE.. (no business: 'everyone' reaches them)."""
    now = app.clock()
    rows = [
        {
            "channel": channel,
            "external_id": str(BASE + i),
            "consented_at": now,
            "reminder_optouts": [],
            "is_admin": False,
            "created_at": now,
            "updated_at": now,
        }
        for i in range(n)
    ]
    async with app.sessionmaker() as session, session.begin():
        await session.execute(insert(User), rows)
    return [BASE + i for i in range(n)]


async def start_broadcast(app: Kurasi, text: str = "Pelatihan ekspor 1 Desember") -> int:
    async with app.sessionmaker() as session, session.begin():
        b = await data.create_broadcast(
            session,
            text=text,
            html=False,
            audience=data.Audience(),
            created_by=None,
            now=app.clock(),
            urgent=True,
        )
        await data.start_due(session, now=app.clock())
        return b.id


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


@pytest.fixture
async def announcer(fake: FakeTelegram) -> AsyncIterator[TelegramAnnouncer]:
    bot = make_bot(fake.token, fake.base_url)
    yield TelegramAnnouncer(bot)
    await bot.session.close()


def sender(app: Kurasi, announcer: TelegramAnnouncer, **options: object) -> BroadcastSender:
    defaults: dict[str, object] = {
        "telegram_rate": 2000.0,
        "concurrency": 16,
        "batch_size": 400,
        "announcers": {"telegram": announcer},
        "progress_every": 3600.0,
    }
    return BroadcastSender(app, **{**defaults, **options})  # type: ignore[arg-type]


def received(fake: FakeTelegram) -> Counter[int]:
    return Counter(int(c.chat_id) for c in fake.sent("sendMessage"))


def max_per_window(calls: list[Call], window: float = 1.0) -> int:
    times = sorted(c.at for c in calls)
    best, lo = 0, 0
    for hi, t in enumerate(times):
        while times[lo] <= t - window:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


async def states(app: Kurasi, broadcast_id: int) -> Counter[str]:
    async with app.sessionmaker() as session:
        rows = await session.scalars(
            select(BroadcastDelivery.state).where(BroadcastDelivery.broadcast_id == broadcast_id)
        )
        return Counter(rows)


async def test_five_thousand_with_429s_and_blocked_users(
    app: Kurasi, fake: FakeTelegram, announcer: TelegramAnnouncer
) -> None:
    chats = await seed(app, 5000)
    blocked = set(chats[::33])  # 3 %
    fake.blocked_chats = blocked
    fake.fail_next("sendMessage", 429, retry_after=1, times=2)
    broadcast_id = await start_broadcast(app)

    await sender(app, announcer).run_until_idle()

    got = received(fake)
    reachable = set(chats) - blocked
    assert set(got) == reachable
    assert max(got.values()) == 1  # nobody twice
    assert await states(app, broadcast_id) == {
        DeliveryState.sent: len(reachable),
        DeliveryState.blocked: len(blocked),
    }
    rejected = [c for c in fake.sent("sendMessage", include_failed=True) if c.error == 429]
    assert len(rejected) == 2
    # The 429 paused the whole bot: past the requests already in flight, nothing went out
    # during the retry_after second.
    first_429 = min(c.at for c in rejected)
    assert not [c for c in fake.sent("sendMessage") if first_429 + 0.1 < c.at < first_429 + 0.95]
    async with app.sessionmaker() as session:
        marked = set(
            await session.scalars(select(User.external_id).where(User.blocked_at.is_not(None)))
        )
    assert marked == {str(c) for c in blocked}

    # The next broadcast skips those who blocked the bot.
    second = await start_broadcast(app, "Kurasi putaran 2")
    async with app.sessionmaker() as session:
        b = await data.get_broadcast(session, broadcast_id=second)
        assert b is not None and b.total == len(reachable)


async def test_rate_across_two_senders_stays_under_the_limit(
    app: Kurasi, fake: FakeTelegram, announcer: TelegramAnnouncer
) -> None:
    rate = 40.0
    chats = await seed(app, 160)
    await start_broadcast(app)
    # A wide guard: the fake's clock sees arrivals, and on a busy test machine the way there
    # can take 100 ms longer for one request than for the next.
    options = {"telegram_rate": rate, "concurrency": 4, "batch_size": 20, "rate_guard": 0.2}
    one = sender(app, announcer, **options)
    two = sender(app, announcer, **options)

    await asyncio.gather(one.run_until_idle(), two.run_until_idle())

    got = received(fake)
    assert set(got) == set(chats) and max(got.values()) == 1
    calls = fake.sent("sendMessage")
    assert max_per_window(calls) <= rate  # from the fake server's own clock
    elapsed = max(c.at for c in calls) - min(c.at for c in calls)
    assert elapsed < len(chats) / rate * 1.5  # and close to it, not far below


async def test_killed_sender_is_taken_over_without_duplicates(
    app: Kurasi, clock: FakeClock, fake: FakeTelegram, announcer: TelegramAnnouncer
) -> None:
    chats = await seed(app, 600)
    broadcast_id = await start_broadcast(app)
    first = sender(app, announcer, telegram_rate=400.0, concurrency=8, batch_size=100)
    task = asyncio.create_task(first.run_until_idle())
    await fake.wait_for("sendMessage", count=250, timeout=30)
    task.cancel()  # killed mid-batch, holding leased rows
    await asyncio.gather(task, return_exceptions=True)
    assert len(received(fake)) < len(chats)

    clock.advance(minutes=3)  # its lease runs out
    second = sender(app, announcer, concurrency=8)
    await second.run_until_idle()

    got = received(fake)
    assert set(got) == set(chats)
    assert max(got.values()) == 1
    assert await states(app, broadcast_id) == {DeliveryState.sent: len(chats)}


class SlowAnswers:
    """The announcer, with Telegram's answer arriving 0.3 s after the message went out:
    whatever a cancel interrupts is a message already sent and not yet recorded."""

    def __init__(self, inner: TelegramAnnouncer) -> None:
        self.inner = inner

    async def announce(self, chat_id, message):  # type: ignore[no-untyped-def]
        result = await self.inner.announce(chat_id, message)
        await asyncio.sleep(0.3)
        return result

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


async def test_a_cancelled_sender_records_its_sends_before_another_takes_over(
    app: Kurasi, clock: FakeClock, fake: FakeTelegram, announcer: TelegramAnnouncer
) -> None:
    chats = await seed(app, 40)
    await start_broadcast(app)
    first = sender(app, SlowAnswers(announcer), concurrency=8, batch_size=40)  # type: ignore[arg-type]
    task = asyncio.create_task(first.run_until_idle())
    await fake.wait_for("sendMessage", count=8, timeout=30)  # 8 lanes, each mid-send
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    clock.advance(minutes=3)  # the lease runs out at once: the next sender may take any row
    await sender(app, announcer, concurrency=8).run_until_idle()

    got = received(fake)
    assert set(got) == set(chats)
    assert max(got.values()) == 1, [c for c, n in got.items() if n > 1]


async def test_two_senders_share_one_broadcast(
    app: Kurasi, fake: FakeTelegram, announcer: TelegramAnnouncer
) -> None:
    chats = await seed(app, 800)
    broadcast_id = await start_broadcast(app)
    workers = [sender(app, announcer, concurrency=6, batch_size=50) for _ in range(2)]
    await asyncio.gather(*(w.run_until_idle() for w in workers))

    got = received(fake)
    assert set(got) == set(chats) and max(got.values()) == 1
    async with app.sessionmaker() as session:
        owners = Counter(
            await session.scalars(
                select(BroadcastDelivery.state).where(
                    BroadcastDelivery.broadcast_id == broadcast_id
                )
            )
        )
    assert owners == {DeliveryState.sent: len(chats)}
    # Both did real work (each claimed batches).
    assert all(w.rate() > 0 for w in workers)


async def test_network_errors_retry_then_fail_and_bad_requests_fail_at_once(
    app: Kurasi, clock: FakeClock, fake: FakeTelegram, announcer: TelegramAnnouncer
) -> None:
    chats = await seed(app, 3)
    broadcast_id = await start_broadcast(app)
    fake.fail_next("sendMessage", 502, times=50, chat_id=chats[0])
    fake.fail_next("sendMessage", 400, "Bad Request: chat not found", chat_id=chats[1])
    worker = sender(app, announcer, max_attempts=3, retry_base=timedelta(seconds=10))
    for _ in range(4):
        await worker.tick()
        clock.advance(minutes=1)

    assert received(fake) == Counter({chats[2]: 1})
    async with app.sessionmaker() as session:
        b = await data.get_broadcast(session, broadcast_id=broadcast_id)
        assert b is not None
        report = await data.report(session, broadcast=b)
    assert report.counts == {DeliveryState.sent: 1, DeliveryState.failed: 2}
    assert b.state == "done"
    tries = [c for c in fake.sent("sendMessage", include_failed=True) if c.chat_id == chats[0]]
    assert len(tries) == 3  # max_attempts, then given up
    assert any("chat not found" in reason for reason in report.errors)


async def test_photo_is_uploaded_once_then_sent_by_file_id(
    app: Kurasi, fake: FakeTelegram, announcer: TelegramAnnouncer, tmp_path
) -> None:
    from tests.support import make_photo

    chats = await seed(app, 40)
    path = tmp_path / "poster.jpg"
    path.write_bytes(make_photo())
    async with app.sessionmaker() as session, session.begin():
        b = await data.create_broadcast(
            session,
            text="<b>Pameran</b> Jakarta",
            html=True,
            audience=data.Audience(),
            created_by=None,
            now=app.clock(),
            media_kind="photo",
            media_path=str(path),
            urgent=True,
        )
    await sender(app, announcer, paid=True, paid_rate=1000.0).run_until_idle()

    photos = fake.sent("sendPhoto")
    assert sorted(int(c.chat_id) for c in photos) == chats
    uploads = [c for c in photos if c.files]
    assert len(uploads) == 1
    file_id = {c.params["photo"] for c in photos if not c.files}
    assert len(file_id) == 1 and not next(iter(file_id)).startswith("attach://")
    assert all(c.params.get("parse_mode") == "HTML" for c in photos)
    assert all(c.params.get("allow_paid_broadcast") is True for c in photos)
    async with app.sessionmaker() as session:
        stored = await data.get_broadcast(session, broadcast_id=b.id)
        assert stored is not None and stored.media_ids["telegram"] in file_id


async def test_recipients_on_a_channel_this_bot_lacks_are_held_then_released(
    app: Kurasi, fake: FakeTelegram, announcer: TelegramAnnouncer
) -> None:
    """A broadcast reaching people on a channel that is not configured here holds them
    (visible in /metrics, the broadcast not done) instead of recording them failed; a
    start with that channel configured sends to them."""
    from bot.broadcast import PostAnnouncer
    from db.metrics import queue_depths
    from db.models import Broadcast, BroadcastState
    from db.outbox import release_configured

    await seed(app, 3)
    async with app.sessionmaker() as session, session.begin():
        for i in range(2):
            session.add(
                User(
                    channel="console",
                    external_id=f"c{i}",
                    consented_at=app.clock(),
                    reminder_optouts=[],
                    is_admin=False,
                    created_at=app.clock(),
                    updated_at=app.clock(),
                )
            )
    broadcast_id = await start_broadcast(app)
    await sender(app, announcer).tick()
    assert await states(app, broadcast_id) == {DeliveryState.sent: 3, DeliveryState.pending: 2}
    async with app.sessionmaker() as session:
        assert (await queue_depths(session))["held"] == 2
        broadcast = await session.get(Broadcast, broadcast_id)
        assert broadcast is not None and broadcast.state == BroadcastState.running
    # Looked at again: still held, not tried; and nothing is left this sender can send, so
    # `kurasi broadcast work --until-idle` ends.
    await asyncio.wait_for(sender(app, announcer).run_until_idle(), 10)
    assert await states(app, broadcast_id) == {DeliveryState.sent: 3, DeliveryState.pending: 2}

    class Console:
        name = "console"

        def __init__(self) -> None:
            self.posted: list[str] = []

        async def post(self, chat_id: str, reply: object) -> list[str]:
            self.posted.append(chat_id)
            return [str(len(self.posted))]

    console = Console()
    async with app.sessionmaker() as session, session.begin():
        assert await release_configured(session, channels=["console"], now=app.clock()) == 2
    announcers = {"telegram": announcer, "console": PostAnnouncer(console)}
    await sender(app, announcer, announcers=announcers).run_until_idle()
    assert sorted(console.posted) == ["c0", "c1"]
    assert await states(app, broadcast_id) == {DeliveryState.sent: 5}
    async with app.sessionmaker() as session:
        broadcast = await session.get(Broadcast, broadcast_id)
        assert broadcast is not None and broadcast.state == BroadcastState.done
        assert (await queue_depths(session))["held"] == 0
