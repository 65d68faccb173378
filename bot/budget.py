"""Send budgets: the platform's ceiling as slots every sender of the process — and, on
PostgreSQL, every worker — reserves from one row (`send_budgets`).

One budget per bot (Telegram, ~30 messages a second) and per WhatsApp number (80 a second)
is drawn from by every kind of message: replies, notices, review cards, reminders and
broadcasts, so the ceiling holds in aggregate. A broadcast also has a budget of its own
(its configured bulk rate, below the bot's) on top. A 429's retry_after pauses the budget
for every worker: each send looks at the row's pause just before it goes.

On SQLite (one process) the slots are counted in memory: senders there may send from inside
a transaction that holds SQLite's only write lock, and a second writer would wait for it.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import structlog
from aiolimiter import AsyncLimiter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import broadcasts as data

log = structlog.get_logger(__name__)

PAUSE_FRESH = 0.05  # seconds a reading of the shared pause is trusted


# Set while a sender sends with a slot it already took from the same budget row (a
# broadcast's own, slower budget shares the bot's row): the channel takes no second slot.
SLOT_TAKEN: ContextVar[bool] = ContextVar("slot_taken", default=False)


@dataclass
class LocalRow:
    """The budget row kept in memory (SQLite): shared by every RateBudget of one key."""

    next_slot: float = 0.0
    paused_until: float = 0.0


class RateBudget:
    """Send slots for one key, reserved from the shared budget row a chunk at a time (or
    counted in memory when `sessionmaker` is None)."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession] | None,
        key: str,
        rate: float,
        *,
        wallclock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        guard: float = 0.03,
        chunk_seconds: float = 0.5,
        chunk_max: int = 16,
        check_pause: bool = False,
        row: LocalRow | None = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.key = key
        self.rate = rate
        self.interval = (1 + guard) / rate
        # A slot is used at most `tolerance` late: then no window of one second holds more
        # than `rate` sends (it sees slots from 1 + tolerance < 1 + guard seconds), and the
        # other half of the guard absorbs jitter on the way to the server.
        self.tolerance = guard / 2
        self.lead = 0.01  # reserve this far ahead: the reservation's own round trip, measured
        # Slots reserved per visit to the budget row: enough for the lanes in flight, at most
        # half a second's worth (a dead worker wastes no more than that).
        self.chunk = max(1, min(int(rate * chunk_seconds), chunk_max))
        self.wallclock = wallclock
        self.sleep = sleep
        # Read the shared pause before every send (a 429 another worker just had).
        self.check_pause = check_pause and sessionmaker is not None
        self.limiter = AsyncLimiter(rate, 1)
        self._paused = 0.0
        # In memory when there is no database to share: this key's row, maybe shared with
        # another budget of the process (a broadcast's, over the bot's).
        self.row = row if row is not None else (LocalRow() if sessionmaker is None else None)
        self._slots: deque[float] = deque()
        self._lock = asyncio.Lock()
        self._waiting = 0  # lanes queued for a slot: how many the next reservation takes
        self._recent: deque[float] = deque(maxlen=64)  # when slots were asked for
        self.dropped = 0  # slots given up (late or paused): capacity lost, for diagnostics
        self.limited = 0  # 429s seen
        self._prefetch: asyncio.Task[None] | None = None
        self._pause_read: asyncio.Task[None] | None = None
        self._pause_read_at = 0.0

    @property
    def paused_until(self) -> float:
        return max(self._paused, self.row.paused_until if self.row else 0.0)

    @paused_until.setter
    def paused_until(self, value: float) -> None:
        self._paused = value
        if self.row is not None:
            self.row.paused_until = value

    def sharing(self, rate: float, **options: Any) -> RateBudget:
        """A budget of its own, slower rate drawing from this one's row: what it takes,
        this one's other senders cannot (a broadcast under the bot's ceiling)."""
        options.setdefault("check_pause", self.check_pause)
        return RateBudget(self.sessionmaker, self.key, rate, row=self.row, **options)

    async def acquire(self, cost: int = 1) -> None:
        """Wait for `cost` slots in a row (an album of photos is several messages)."""
        for _ in range(max(1, cost)):
            await self._acquire_one()

    async def _acquire_one(self) -> None:
        """Wait for this worker's next slot; a late or paused slot is dropped, never used."""
        while True:
            self._waiting += 1
            async with self._lock:
                self._waiting -= 1
                now = self.wallclock()
                self._recent.append(now)
                while self._slots and (
                    self._slots[0] < now - self.tolerance or self._slots[0] < self.paused_until
                ):
                    self._slots.popleft()
                    self.dropped += 1
                if not self._slots:
                    await self._reserve(now, self._waiting + 1)
                slot = self._slots.popleft()
                if len(self._slots) < self.chunk // 2 and self._prefetch is None and self._busy():
                    # Reserve the next slots while these are used, so no slot time is lost
                    # to the reservation's round trip.
                    self._prefetch = asyncio.create_task(self._reserve_ahead())
            if self.check_pause:
                self._refresh_pause()  # in the background: its round trip costs no slot
            wait = slot - self.wallclock()
            if wait > 0:
                await self.sleep(wait)
            await self.limiter.acquire()
            if self.wallclock() - slot <= self.tolerance and slot >= self.paused_until:
                return
            self.dropped += 1

    def _busy(self) -> bool:
        """Sustained demand (half a chunk asked for within the last second): only then are
        slots reserved ahead; a lone reply reserves just its own."""
        need = max(2, self.chunk // 2)
        return len(self._recent) >= need and self._recent[-need] > self.wallclock() - 1.0

    def _refresh_pause(self) -> None:
        """Read the shared pause again if the last reading is older than PAUSE_FRESH: a
        429 another worker had stops this one within about that long."""
        now = self.wallclock()
        if self._pause_read is None and now - self._pause_read_at >= PAUSE_FRESH:
            self._pause_read_at = now
            self._pause_read = asyncio.create_task(self._read_pause())

    async def _read_pause(self) -> None:
        assert self.sessionmaker is not None
        try:
            async with self.sessionmaker() as session:
                paused = await data.budget_pause(session, key=self.key)
        except Exception:
            log.warning("send budget pause not read", key=self.key)
            return
        finally:
            self._pause_read = None
        if paused > self.paused_until:
            self.paused_until = paused
            self._slots.clear()

    async def _reserve_ahead(self) -> None:
        try:
            await self._reserve(self.wallclock(), self.chunk)
        except Exception:
            log.exception("send slots not reserved ahead")
        finally:
            self._prefetch = None

    async def _reserve(self, now: float, wanted: int) -> None:
        count = min(self.chunk, wanted)
        if self.row is not None:
            first = max(now, self.row.next_slot, self.paused_until)
            self.row.next_slot = first + count * self.interval
            self._slots.extend(first + i * self.interval for i in range(count))
            return
        assert self.sessionmaker is not None
        async with self.sessionmaker() as session, session.begin():
            first, paused_until = await data.reserve_slots(
                session,
                key=self.key,
                count=count,
                interval=self.interval,
                now=now + self.lead,
            )
        took = self.wallclock() - now
        self.lead = min(0.2, 0.8 * self.lead + 0.2 * 2 * took)
        self.paused_until = max(self.paused_until, paused_until)
        self._slots.extend(first + i * self.interval for i in range(count))

    async def pause(self, seconds: float) -> None:
        """Honour a 429 for the whole bot: every worker waits `seconds` from now."""
        self.limited += 1
        until = self.wallclock() + seconds
        self.paused_until = max(self.paused_until, until)
        self._slots.clear()
        if self.row is not None:
            return
        assert self.sessionmaker is not None
        async with self.sessionmaker() as session, session.begin():
            await data.pause_budget(session, key=self.key, until=until)


def shared_budget(
    sessionmaker: async_sessionmaker[AsyncSession], key: str, rate: float, **options: object
) -> RateBudget:
    """The budget every kind of message draws from: in the database on PostgreSQL (all
    workers), in memory on SQLite (one process; see the module's note)."""
    engine = sessionmaker.kw.get("bind")
    dialect = getattr(getattr(engine, "dialect", None), "name", "")
    shared = sessionmaker if dialect == "postgresql" else None
    return RateBudget(shared, key, rate, check_pause=True, **options)  # type: ignore[arg-type]
