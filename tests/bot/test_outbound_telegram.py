"""The one way out on Telegram: an outage delays a decision and loses none, one send budget
keeps replies and a broadcast together under the bot's ceiling, and a decision reaches the
producer when the curator's undo window closes, not at the next scheduler tick."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select

from bot.app import Runtime, build, make_sender
from bot.config import Settings
from bot.notify import Notifier
from db import broadcasts as data
from db.base import utcnow
from db.models import Notification, User
from db.notifications import plan
from handlers.kit.events import Reply
from tests.bot.conftest import bot_settings
from tests.fakes.telegram import FakeTelegram, _ApiError
from tests.support import FakeClock

PRODUCER = 5_550_123
CEILING = 30


class CeilingTelegram(FakeTelegram):
    """Answers a send with 429 (retry_after 1) once 30 were taken in the last second, as
    Telegram does for a bot across all its chats."""

    def __init__(self) -> None:
        super().__init__(strict=False)
        self.accepted: deque[float] = deque()
        self.limited = 0

    async def _dispatch(self, token: str, method: str, req: Any) -> Any:
        if method.lower().startswith("send"):
            now = time.monotonic()
            while self.accepted and self.accepted[0] <= now - 1.0:
                self.accepted.popleft()
            if len(self.accepted) >= CEILING:
                self.limited += 1
                raise _ApiError(429, "Too Many Requests: retry after 1", {"retry_after": 1})
            self.accepted.append(now)
        return await super()._dispatch(token, method, req)


@pytest.fixture
async def runtime(settings: Settings, clock: FakeClock) -> AsyncIterator[Runtime]:
    built = await build(settings, clock=clock, migrate=False)
    yield built
    await built.close()


async def a_producer(sessionmaker: Any, clock: FakeClock) -> int:
    async with sessionmaker() as session, session.begin():
        user = User(
            channel="telegram",
            external_id=str(PRODUCER),
            language="id",
            consented_at=clock.now,
            reminder_optouts=[],
        )
        session.add(user)
        await session.flush()
        await plan(
            session,
            kind="weekly_digest",
            dedupe_key="weekly:outage",
            channel="telegram",
            chat_id=str(PRODUCER),
            user_id=user.id,
            due_at=clock.now,
            now=clock.now,
        )
        return user.id


async def test_a_five_minute_outage_delays_a_notice_and_loses_none(
    runtime: Runtime, fake: FakeTelegram, sessionmaker: Any, clock: FakeClock
) -> None:
    await a_producer(sessionmaker, clock)
    schedule = replace(runtime.settings.reminders.schedule(), quiet_hours=None)
    notifier = Notifier(runtime.app, schedule=schedule, timezone="Asia/Jakarta")
    fake.fail_next("sendMessage", 500, times=10**6)  # Telegram answers 500 to every send
    end = clock.now + timedelta(minutes=5)
    ticks = 0
    while clock.now < end:
        await notifier.send_due()
        ticks += 1
        clock.advance(seconds=20)
    async with sessionmaker() as session:
        note = await session.scalar(select(Notification))
    assert note.sent_at is None and (note.result or "").startswith("retrying")
    tries = len(fake.sent("sendMessage", chat_id=PRODUCER, include_failed=True))
    assert 3 <= tries < ticks  # backed off between tries, and not given up
    fake._failures.clear()  # the outage ends
    clock.advance(minutes=30)
    assert await notifier.send_due() == 1
    assert len(fake.sent("sendMessage", chat_id=PRODUCER)) == 1  # once
    async with sessionmaker() as session:
        note = await session.scalar(select(Notification))
    assert note.sent_at is not None and note.result == "sent"


async def test_a_decision_goes_out_when_the_undo_window_closes_not_at_the_next_tick(
    fake: FakeTelegram, database_url: str, sessionmaker: Any, tmp_path: Path
) -> None:
    offset = [timedelta()]

    def clock() -> Any:
        return utcnow() + offset[0]

    settings = bot_settings(
        fake, database_url, tmp_path, reminders={"tick": "60s", "quiet_hours": ""}
    )
    runtime = await build(settings, clock=clock, migrate=False)
    try:
        async with sessionmaker() as session, session.begin():
            user = User(
                channel="telegram",
                external_id=str(PRODUCER),
                language="id",
                consented_at=clock(),
                reminder_optouts=[],
            )
            session.add(user)
            await session.flush()
            # As a curator's approval plans it: due when the 30-second undo window closes.
            await plan(
                session,
                kind="weekly_digest",
                dedupe_key="weekly:soon",
                channel="telegram",
                chat_id=str(PRODUCER),
                user_id=user.id,
                due_at=clock() + timedelta(seconds=30),
                now=clock(),
            )
        async with runtime.background():
            await asyncio.sleep(1.0)
            assert fake.sent("sendMessage", chat_id=PRODUCER) == []  # not before its time
            offset[0] = timedelta(seconds=30)  # the window closes (the tick is 60 s away)
            started = time.monotonic()
            await fake.wait_for("sendMessage", count=1, timeout=10)
            assert time.monotonic() - started < 5
    finally:
        await runtime.close()


async def test_a_broadcast_during_many_replies_draws_no_429(
    database_url: str, sessionmaker: Any, tmp_path: Path, clock: FakeClock
) -> None:
    recipients, replies = 60, 60
    async with CeilingTelegram() as fake:
        settings = bot_settings(fake, database_url, tmp_path, broadcast={"telegram_rate": 30})
        runtime = await build(settings, clock=utcnow, migrate=False)
        try:
            assert runtime.telegram is not None
            now = utcnow()
            async with sessionmaker() as session, session.begin():
                await session.execute(
                    insert(User),
                    [
                        {
                            "channel": "telegram",
                            "external_id": str(1_000_000 + i),
                            "language": "id",
                            "consented_at": now,
                            "reminder_optouts": [],
                            "is_admin": False,
                            "created_at": now,
                            "updated_at": now,
                        }
                        for i in range(recipients)
                    ],
                )
                await data.create_broadcast(
                    session,
                    text="Pengumuman: pameran baru dibuka.",
                    html=False,
                    audience=data.Audience(),
                    created_by=None,
                    now=now,
                    urgent=True,
                )
            sender = make_sender(settings, runtime.app, runtime.telegram)
            channel = runtime.telegram

            answers: list[asyncio.Task[None]] = []

            async def answering() -> None:
                # Replies to people writing at the same time, 40 a second.
                for i in range(replies):
                    reply = channel.deliver(str(2_000_000 + i), [Reply("Halo!")])
                    answers.append(asyncio.create_task(reply))
                    await asyncio.sleep(0.025)

            await asyncio.gather(sender.run_until_idle(), answering())
            await asyncio.gather(*answers)
            assert fake.limited == 0, (fake.limited, runtime.telegram.budget.dropped)
            assert len(fake.sent("sendMessage")) == recipients + replies
        finally:
            await runtime.close()
