"""Send budgets: the platform's ceiling as slots every sender of the process — and, on
PostgreSQL, every worker — reserves from one row (`send_budgets`).

One budget per bot (Telegram, ~30 messages a second) and per WhatsApp number (80 a second)
is drawn from by every kind of message: replies, notices, review cards, reminders and
broadcasts, so the ceiling holds in aggregate. A broadcast also has a budget of its own
(its configured bulk rate, below the bot's) on top. A 429's retry_after pauses the budget
for every worker: just before each request its slot is checked against the pause as last
read from the row (read again every PAUSE_FRESH while sending), so another worker stops
within about that long of the pause being written, and a slot it took before is given up.

Slots are `(1 + guard) / rate` apart, so `rate` slots span 1 + guard seconds and no second
holds more than `rate` sends as long as each send reaches the platform less than `guard`
after its slot. A send is never made early, and a slot missed by more than the guard and
half a slot is given up for a new one (`sending`, just before the request). A send that
reaches the platform late — the sender busy before it, a busy event loop, a garbage
collection, the network, the server reading it late — is caught after it: its answer came
after it arrived, so a send answered more than `guard` after its slot may be counted in a
second with the slots [slot + 1 + guard, answer + 1), and those are held: no worker uses
them (`send_budgets.holds`, read with the pause; reservations step over them). They are
about a second away when the answer comes, so the hold reaches every worker in time; it
costs what the send overran. An answer later than about 0.9 s after its slot would be too
late for that (then the platform's 429 and the pause are what is left).

On SQLite (one process) the slots are counted in memory: senders there may send from inside
a transaction that holds SQLite's only write lock, and a second writer would wait for it.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import structlog
from aiolimiter import AsyncLimiter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import broadcasts as data

log = structlog.get_logger(__name__)

PAUSE_FRESH = 0.05  # seconds a reading of the shared pause is trusted


WINDOW = 1.0  # the platform counts sends per this many seconds (rate per WINDOW)
EPSILON = 0.001  # seconds: float slack at a hold's edges

# Set while a sender sends with a slot it already took from the same budget row (a
# broadcast's own, slower budget shares the bot's row): the channel takes no second slot,
# but checks that slot (TAKEN) is still good just before the request.
SLOT_TAKEN: ContextVar[bool] = ContextVar("slot_taken", default=False)
# The first slot the last `acquire` of this task gave, with its budget's key: what a send
# with SLOT_TAKEN uses.
TAKEN: ContextVar[tuple[str, float] | None] = ContextVar("taken_slot", default=None)


@dataclass
class LocalRow:
    """The budget row kept in memory (SQLite): shared by every RateBudget of one key. On
    PostgreSQL the budgets of one process share one too, as what they last read of the row
    (its pause and holds; next_slot unused)."""

    next_slot: float = 0.0
    paused_until: float = 0.0
    holds: list[data.Hold] = field(default_factory=list)

    def state(self) -> data.BudgetState:
        return data.BudgetState(self.paused_until, tuple(self.holds))

    def learn(self, state: data.BudgetState, now: float) -> None:
        self.paused_until = max(self.paused_until, state.paused_until)
        for a, b in state.holds:
            self.holds = data.join_holds(self.holds, a, b, now)

    def hold(self, start: float, until: float, now: float) -> None:
        self.holds = data.join_holds(self.holds, start, until, now)

    def usable(self, slot: float) -> bool:
        return slot >= self.paused_until and not any(a <= slot < b for a, b in self.holds)


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
        known: LocalRow | None = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.key = key
        self.rate = rate
        self.guard = guard
        self.interval = (1 + guard) / rate
        # A slot is used at most `tolerance` late, else given up for a new one. Used late, a
        # send answered more than the guard after its slot holds what it overran (settle):
        # up to half a slot for one `tolerance` late, less than the whole slot a drop costs
        # (under load most slots are a little late).
        self.tolerance = guard + self.interval / 2
        self.lead = 0.01  # reserve this far ahead: the reservation's own round trip, measured
        # Slots reserved per visit to the budget row: enough for the lanes in flight, at most
        # half a second's worth (a dead worker wastes no more than that).
        self.chunk = max(1, min(int(rate * chunk_seconds), chunk_max))
        self.wallclock = wallclock
        self.sleep = sleep
        # Read the shared pause before every send (a 429 another worker just had).
        self.check_pause = check_pause and sessionmaker is not None
        self.limiter = AsyncLimiter(rate, 1)
        # In memory when there is no database to share: this key's row, maybe shared with
        # another budget of the process (a broadcast's, over the bot's).
        self.row = row if row is not None else (LocalRow() if sessionmaker is None else None)
        # The pause and hold as this process knows them, shared with the budgets `sharing`
        # this one: the row itself in memory, the last reading of it on PostgreSQL.
        self.known = self.row if self.row is not None else (known or LocalRow())
        self._slots: deque[float] = deque()
        self._lock = asyncio.Lock()
        self._waiting = 0  # lanes queued for a slot: how many the next reservation takes
        self._recent: deque[float] = deque(maxlen=64)  # when slots were asked for
        self.dropped = 0  # slots given up (late or paused): capacity lost, for diagnostics
        self.limited = 0  # 429s seen
        self.held = 0  # holds set after a send answered late: capacity given up, diagnostics
        self._to_hold: list[data.Hold] = []  # holds set here, still to write to the row
        self._holding: asyncio.Task[None] | None = None
        self._prefetch: asyncio.Task[None] | None = None
        self._pause_read: asyncio.Task[None] | None = None
        self._pause_read_at = 0.0

    @property
    def paused_until(self) -> float:
        return self.known.paused_until

    @paused_until.setter
    def paused_until(self, value: float) -> None:
        self.known.paused_until = value

    def sharing(self, rate: float, **options: Any) -> RateBudget:
        """A budget of its own, slower rate drawing from this one's row: what it takes,
        this one's other senders cannot (a broadcast under the bot's ceiling)."""
        options.setdefault("check_pause", self.check_pause)
        return RateBudget(
            self.sessionmaker, self.key, rate, row=self.row, known=self.known, **options
        )

    @asynccontextmanager
    async def sending(self, cost: int = 1, *, taken: bool = False) -> AsyncIterator[None]:
        """Around one request to the platform: its slot — the one this task took already
        (`taken`, see TAKEN) if it is still good now, else `cost` new ones — and, once the
        answer is in, a hold if it came too late to be sure the request arrived in time."""
        took = TAKEN.get() if taken else None
        if taken and took is not None and took[0] != self.key:
            yield  # a slot of another budget (a paid broadcast's, above this ceiling)
            return
        now = self.wallclock()
        if took is None or now - took[1] > self.tolerance or not self.known.usable(took[1]):
            await self.acquire(cost)
            took = TAKEN.get()
        TAKEN.set(None)  # used: a second request needs a slot of its own
        try:
            yield
        finally:
            if took is not None:
                self.settle(took[1], self.wallclock())

    def settle(self, slot: float, answered: float) -> None:
        """A send made at `slot` was answered at `answered`: it reached the platform at the
        latest then. Later than `guard` after the slot, a second might hold it and `rate`
        others: hold the slots that could be those others, for every worker."""
        start, until = slot + self.rate * self.interval - EPSILON, answered + WINDOW + EPSILON
        if until <= start:
            return
        self.held += 1
        self.known.hold(start, until, self.wallclock())
        self._slots = deque(s for s in self._slots if self.known.usable(s))
        if self.row is None:
            self._to_hold.append((start, until))
            if self._holding is None:
                self._holding = asyncio.create_task(self._hold_shared())

    async def _hold_shared(self) -> None:
        """Write the holds set here to the row, one transaction for all waiting."""
        assert self.sessionmaker is not None
        try:
            while self._to_hold:
                spans, self._to_hold = self._to_hold, []
                async with self.sessionmaker() as session, session.begin():
                    for start, until in spans:
                        state = await data.hold_budget(
                            session, key=self.key, start=start, until=until, now=self.wallclock()
                        )
                self.known.learn(state, self.wallclock())
        except Exception:
            log.warning("send budget hold not written", key=self.key)
        finally:
            self._holding = None

    async def acquire(self, cost: int = 1) -> None:
        """Wait for `cost` slots in a row (an album of photos is several messages); the
        first one is this task's TAKEN slot."""
        TAKEN.set(None)
        for _ in range(max(1, cost)):
            await self._acquire_one(first=TAKEN.get() is None)

    async def _acquire_one(self, *, first: bool = False) -> None:
        """Wait for this worker's next slot; a late or paused slot is dropped, never used."""
        while True:
            self._waiting += 1
            async with self._lock:
                self._waiting -= 1
                now = self.wallclock()
                self._recent.append(now)
                while self._slots and (
                    self._slots[0] < now - self.tolerance or not self.known.usable(self._slots[0])
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
            if self.wallclock() - slot <= self.tolerance and self.known.usable(slot):
                if first:
                    TAKEN.set((self.key, slot))
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
                state = await data.budget_state(session, key=self.key)
        except Exception:
            log.warning("send budget pause not read", key=self.key)
            return
        finally:
            self._pause_read = None
        self.known.learn(state, self.wallclock())
        self._slots = deque(s for s in self._slots if self.known.usable(s))

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
            slots = data.spaced_slots(
                max(now, self.row.next_slot), count, self.interval, self.row.state()
            )
            self.row.next_slot = slots[-1] + self.interval
            self._slots.extend(slots)
            return
        assert self.sessionmaker is not None
        async with self.sessionmaker() as session, session.begin():
            slots, state = await data.reserve_slot_times(
                session,
                key=self.key,
                count=count,
                interval=self.interval,
                now=now + self.lead,
            )
        took = self.wallclock() - now
        self.lead = min(0.2, 0.8 * self.lead + 0.2 * 2 * took)
        self.known.learn(state, self.wallclock())
        self._pause_read_at = max(self._pause_read_at, now)
        # In time order: a reservation ahead and one for a lane waiting may come back in
        # either order.
        self._slots = deque(sorted([*self._slots, *slots]))

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
