"""Broadcast data rules: who is in a segment (set-based SQL), the audience snapshot, claiming
deliveries for senders, the shared send budget, and the counts a report shows.

Claiming: `claim` locks pending rows with FOR UPDATE SKIP LOCKED (on SQLite the whole
transaction is the single writer: BEGIN IMMEDIATE) and leases them to one sender. A sender
that dies leaves its lease to run out; the rows are then claimable again. Each row's result is
written in its own short transaction right after its send, so a crash can repeat at most the
one message per sender whose send had returned but whose result was not yet written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    String,
    Table,
    and_,
    bindparam,
    case,
    cast,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement, Select

from db.models import (
    Broadcast,
    BroadcastDelivery,
    BroadcastState,
    Business,
    DeliveryState,
    Product,
    ProductStatus,
    SendBudget,
    User,
)
from db.sql import insert_ignore

OPT_OUT = "announcements"  # the /pengingat switch that turns broadcasts off
# Product status filters: what "has a product in this state" means.
STATUSES: dict[str, tuple[str, ...]] = {
    "approved": (ProductStatus.approved,),
    "in_review": (ProductStatus.submitted, ProductStatus.in_review),
    "draft": (ProductStatus.draft,),
}
NO_PRODUCT = "no_product"  # registered, no product at all
STATUS_CHOICES = (*STATUSES, NO_PRODUCT)
FINAL_STATES = (BroadcastState.done, BroadcastState.cancelled)


@dataclass(frozen=True, slots=True)
class Audience:
    """A segment. Kinds combine with AND; values inside one kind with OR; empty = any."""

    sectors: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()  # regency/city codes
    statuses: tuple[str, ...] = ()  # STATUS_CHOICES
    languages: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Audience:
        return cls(**{k: tuple(data.get(k) or ()) for k in cls.__dataclass_fields__})

    def to_dict(self) -> dict[str, list[str]]:
        return {k: list(getattr(self, k)) for k in self.__dataclass_fields__ if getattr(self, k)}

    @property
    def everyone(self) -> bool:
        return not self.to_dict()


def audience_query(audience: Audience) -> Select[int, str, str]:
    """(user id, channel, chat id) of everyone the segment reaches: consented, not blocked,
    not opted out of announcements."""
    has_product = exists().where(Product.business_id == Business.id)
    stmt: Select[int, str, str] = (
        select(User.id, User.channel, User.external_id)
        .outerjoin(Business, Business.owner_id == User.id)
        .where(
            User.consented_at.is_not(None),
            User.blocked_at.is_(None),
            # JSON list of switches that are off; the same text test on PostgreSQL and SQLite.
            ~func.coalesce(cast(User.reminder_optouts, String), "").contains(f'"{OPT_OUT}"'),
        )
    )
    if audience.sectors:
        stmt = stmt.where(Business.sector.in_(audience.sectors))
    if audience.regions:
        stmt = stmt.where(Business.region_code.in_(audience.regions))
    if audience.languages:
        stmt = stmt.where(func.coalesce(User.language, "id").in_(audience.languages))
    if audience.channels:
        stmt = stmt.where(User.channel.in_(audience.channels))
    if audience.statuses:
        wanted = []
        for status in audience.statuses:
            if status == NO_PRODUCT:
                wanted.append(and_(Business.registered_at.is_not(None), ~has_product))
            elif status in STATUSES:
                wanted.append(
                    exists().where(
                        Product.business_id == Business.id, Product.status.in_(STATUSES[status])
                    )
                )
        stmt = stmt.where(or_(*wanted))
    return stmt


async def count_audience(session: AsyncSession, *, audience: Audience) -> int:
    sub = audience_query(audience).subquery()
    return int(await session.scalar(select(func.count()).select_from(sub)) or 0)


async def audience_users(session: AsyncSession, *, audience: Audience) -> list[int]:
    return sorted(row[0] for row in await session.execute(audience_query(audience)))


# --- broadcasts -------------------------------------------------------------------------


async def create_broadcast(
    session: AsyncSession,
    *,
    text: str,
    html: bool,
    audience: Audience,
    created_by: int | None,
    now: datetime,
    media_kind: str | None = None,
    media_path: str | None = None,
    media_name: str | None = None,
    media_ids: dict[str, str] | None = None,
    urgent: bool = False,
    scheduled_at: datetime | None = None,
    report_to: tuple[str, str] | None = None,
) -> Broadcast:
    """A broadcast due at `scheduled_at` (None: now); `start` snapshots its audience."""
    broadcast = Broadcast(
        # when, to whom, what, where its progress is shown, and who made it
        state=BroadcastState.scheduled,
        scheduled_at=scheduled_at or now,
        urgent=urgent,
        filters=audience.to_dict(),
        text=text,
        html=html,
        media_kind=media_kind,
        media_path=media_path,
        media_name=media_name,
        media_ids=dict(media_ids or {}),
        report_channel=report_to[0] if report_to else None,
        report_chat_id=report_to[1] if report_to else None,
        created_by=created_by,
        created_at=now,
    )
    session.add(broadcast)
    await session.flush()
    return broadcast


async def start_due(session: AsyncSession, *, now: datetime) -> list[int]:
    """Start every scheduled broadcast whose time has come: one delivery row per recipient,
    written set-based in the transaction that moves it to running (so it happens once)."""
    due = list(
        await session.scalars(
            select(Broadcast)
            .where(Broadcast.state == BroadcastState.scheduled, Broadcast.scheduled_at <= now)
            .order_by(Broadcast.id)
            .with_for_update(skip_locked=True)
        )
    )
    for broadcast in due:
        await snapshot(session, broadcast=broadcast, now=now)
    return [b.id for b in due]


async def snapshot(session: AsyncSession, *, broadcast: Broadcast, now: datetime) -> int:
    audience = audience_query(Audience.from_dict(broadcast.filters)).subquery()
    await session.execute(
        insert(BroadcastDelivery).from_select(
            ["broadcast_id", "user_id", "channel", "chat_id", "state", "attempts"],
            select(
                literal(broadcast.id),
                audience.c.id,
                audience.c.channel,
                audience.c.external_id,
                literal(DeliveryState.pending.value),
                literal(0),
            ),
        )
    )
    broadcast.total = int(
        await session.scalar(
            select(func.count())
            .select_from(BroadcastDelivery)
            .where(BroadcastDelivery.broadcast_id == broadcast.id)
        )
        or 0
    )
    broadcast.state = BroadcastState.running
    broadcast.started_at = now
    return broadcast.total


async def get_broadcast(session: AsyncSession, *, broadcast_id: int) -> Broadcast | None:
    return await session.get(Broadcast, broadcast_id)


async def recent_broadcasts(session: AsyncSession, *, limit: int = 10) -> list[Broadcast]:
    return list(await session.scalars(select(Broadcast).order_by(Broadcast.id.desc()).limit(limit)))


async def active_broadcasts(session: AsyncSession) -> list[Broadcast]:
    return list(
        await session.scalars(
            select(Broadcast)
            .where(Broadcast.state == BroadcastState.running)
            .order_by(Broadcast.id)
        )
    )


TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "pause": ((BroadcastState.running, BroadcastState.scheduled), BroadcastState.paused),
    "resume": ((BroadcastState.paused,), BroadcastState.running),
    "cancel": (
        (BroadcastState.running, BroadcastState.scheduled, BroadcastState.paused),
        BroadcastState.cancelled,
    ),
}


async def change_state(
    session: AsyncSession, *, broadcast_id: int, action: str, now: datetime
) -> Broadcast | None:
    """pause / resume / cancel by compare-and-set; None when the broadcast is not in a state
    that allows it (or does not exist)."""
    sources, target = TRANSITIONS[action]
    broadcast = await session.scalar(
        select(Broadcast).where(Broadcast.id == broadcast_id).with_for_update()
    )
    if broadcast is None or broadcast.state not in sources:
        return None
    if action == "resume" and broadcast.started_at is None:
        target = BroadcastState.scheduled  # paused before it started: wait for its time again
    broadcast.state = target
    if target == BroadcastState.cancelled:
        broadcast.finished_at = now
    return broadcast


async def finish_if_done(session: AsyncSession, *, broadcast_id: int, now: datetime) -> bool:
    """Mark a running broadcast done once no delivery is pending; True when it just ended."""
    pending = await session.scalar(
        select(func.count())
        .select_from(BroadcastDelivery)
        .where(
            BroadcastDelivery.broadcast_id == broadcast_id,
            BroadcastDelivery.state == DeliveryState.pending,
        )
    )
    if pending:
        return False
    result: Any = await session.execute(
        update(Broadcast)
        .where(Broadcast.id == broadcast_id, Broadcast.state == BroadcastState.running)
        .values(state=BroadcastState.done, finished_at=now)
    )
    return bool(result.rowcount)


@dataclass
class Report:
    broadcast_id: int
    state: str
    total: int
    counts: dict[str, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)  # failure reason -> how many

    @property
    def left(self) -> int:
        return self.counts.get(DeliveryState.pending, 0)

    @property
    def done(self) -> int:
        return self.total - self.left


async def report(session: AsyncSession, *, broadcast: Broadcast) -> Report:
    rows = await session.execute(
        select(BroadcastDelivery.state, func.count())
        .where(BroadcastDelivery.broadcast_id == broadcast.id)
        .group_by(BroadcastDelivery.state)
    )
    counts = {state: int(n) for state, n in rows.all()}
    reasons = await session.execute(
        select(BroadcastDelivery.last_error, func.count())
        .where(
            BroadcastDelivery.broadcast_id == broadcast.id,
            BroadcastDelivery.state.in_((DeliveryState.failed, DeliveryState.needs_template)),
        )
        .group_by(BroadcastDelivery.last_error)
    )
    errors = {str(reason or "?"): int(n) for reason, n in reasons.all()}
    return Report(broadcast.id, broadcast.state, broadcast.total, counts, errors)


# --- claiming ---------------------------------------------------------------------------


async def claim(
    session: AsyncSession,
    *,
    broadcast_id: int,
    owner: str,
    now: datetime,
    lease: timedelta,
    limit: int,
) -> list[BroadcastDelivery]:
    """Lease up to `limit` pending deliveries to `owner`: rows nobody holds (or whose holder's
    lease ran out) and whose retry time has come. Other senders skip the locked rows."""
    rows = list(
        await session.scalars(
            select(BroadcastDelivery)
            .where(
                BroadcastDelivery.broadcast_id == broadcast_id,
                BroadcastDelivery.state == DeliveryState.pending,
                or_(BroadcastDelivery.lease_until.is_(None), BroadcastDelivery.lease_until < now),
                or_(
                    BroadcastDelivery.next_attempt_at.is_(None),
                    BroadcastDelivery.next_attempt_at <= now,
                ),
            )
            .order_by(BroadcastDelivery.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    for row in rows:
        row.lease_owner = owner
        row.lease_until = now + lease
    return rows


async def renew(
    session: AsyncSession, *, ids: Sequence[int], owner: str, now: datetime, lease: timedelta
) -> set[int]:
    """Extend this sender's lease on rows still pending and still its own; returns them."""
    if not ids:
        return set()
    result = await session.execute(
        update(BroadcastDelivery)
        .where(
            BroadcastDelivery.id.in_(list(ids)),
            BroadcastDelivery.lease_owner == owner,
            BroadcastDelivery.state == DeliveryState.pending,
        )
        .values(lease_until=now + lease)
        .returning(BroadcastDelivery.id)
    )
    return {row[0] for row in result.all()}


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one send came to: the delivery's new state, with the sent message's id, the
    error, or (pending again) when to try next."""

    state: str
    message_id: str | None = None
    error: str | None = None
    retry_at: datetime | None = None


async def record(
    session: AsyncSession, *, delivery_id: int, owner: str, outcome: Outcome, now: datetime
) -> bool:
    """Write one send's outcome, if the row is still this sender's; False if it was not
    (its lease ran out and someone else took it)."""
    values: dict[str, Any] = {
        "state": outcome.state,
        "lease_owner": None,
        "lease_until": None,
        "attempts": BroadcastDelivery.attempts + 1,
    }
    if outcome.state == DeliveryState.sent:
        values.update(message_id=outcome.message_id, sent_at=now, last_error=None)
    if outcome.error is not None:
        values["last_error"] = outcome.error[:300]
    if outcome.retry_at is not None:
        values["next_attempt_at"] = outcome.retry_at
    table: Table = BroadcastDelivery.__table__  # type: ignore[assignment]
    conn = await session.connection()
    result: Any = await conn.execute(
        update(table)
        .where(
            table.c.id == delivery_id,
            table.c.lease_owner == owner,
            table.c.state == DeliveryState.pending,
        )
        .values(**values)
    )
    return bool(result.rowcount)


async def record_sent(
    session: AsyncSession, *, owner: str, sent: Sequence[tuple[int, str | None]], now: datetime
) -> None:
    """Many sends' success in one statement (executemany): (delivery id, message id)."""
    if not sent:
        return
    table: Table = BroadcastDelivery.__table__  # type: ignore[assignment]
    conn = await session.connection()
    await conn.execute(
        update(table)
        .where(
            table.c.id == bindparam("delivery"),
            table.c.lease_owner == owner,
            table.c.state == DeliveryState.pending,
        )
        .values(
            state=DeliveryState.sent,
            message_id=bindparam("message"),
            sent_at=now,
            attempts=table.c.attempts + 1,
            lease_owner=None,
            lease_until=None,
            last_error=None,
        ),
        [{"delivery": d, "message": m} for d, m in sent],
    )


async def remember_media_id(
    session: AsyncSession, *, broadcast_id: int, channel: str, media_id: str
) -> None:
    broadcast = await session.get(Broadcast, broadcast_id, with_for_update=True)
    if broadcast is not None and channel not in broadcast.media_ids:
        broadcast.media_ids = {**broadcast.media_ids, channel: media_id}


# --- the shared send budget -------------------------------------------------------------


Hold = tuple[float, float]


@dataclass(frozen=True)
class BudgetState:
    """What a send budget's row says beside its next slot: the pause after a 429 (no send
    before `paused_until`) and the holds (no send in any [from, until))."""

    paused_until: float = 0.0
    holds: tuple[Hold, ...] = ()

    def usable(self, slot: float) -> bool:
        return slot >= self.paused_until and not any(a <= slot < b for a, b in self.holds)


def join_holds(
    holds: Sequence[Sequence[float]], start: float, until: float, now: float
) -> list[Hold]:
    """The holds still to come with [start, until) added, overlapping ones joined."""
    spans = sorted([(float(a), float(b)) for a, b in holds if b > now] + [(start, until)])
    joined: list[Hold] = []
    for a, b in spans:
        if joined and a <= joined[-1][1]:
            joined[-1] = (joined[-1][0], max(joined[-1][1], b))
        else:
            joined.append((a, b))
    return joined


async def _budget_row(session: AsyncSession, key: str) -> SendBudget:
    await insert_ignore(
        session,
        SendBudget,
        {"key": key, "next_slot": 0.0, "paused_until": 0.0, "holds": []},
        conflict=["key"],
    )
    budget = await session.scalar(select(SendBudget).where(SendBudget.key == key).with_for_update())
    assert budget is not None
    return budget


def _state(budget: SendBudget) -> BudgetState:
    return BudgetState(budget.paused_until, tuple((a, b) for a, b in budget.holds or ()))


async def reserve_slot_times(
    session: AsyncSession, *, key: str, count: int, interval: float, now: float
) -> tuple[list[float], BudgetState]:
    """Reserve `count` send slots at least `interval` seconds apart on the shared budget:
    their unix times, none before `now`, inside the pause or inside the hold, and the row's
    pause and hold. Slots never overlap across workers (the row is locked)."""
    budget = await _budget_row(session, key)
    state = _state(budget)
    slots = spaced_slots(max(now, budget.next_slot), count, interval, state)
    budget.next_slot = slots[-1] + interval
    return slots, state


def spaced_slots(start: float, count: int, interval: float, state: BudgetState) -> list[float]:
    """`count` slot times from `start`, `interval` apart, stepping over the pause and hold."""
    slots: list[float] = []
    at = max(start, state.paused_until)
    while len(slots) < count:
        for a, b in state.holds:
            if a <= at < b:
                at = b
        slots.append(at)
        at += interval
    return slots


async def pause_budget(session: AsyncSession, *, key: str, until: float) -> None:
    """After a 429: no worker sends on this budget before `until` (unix time)."""
    await insert_ignore(
        session,
        SendBudget,
        {"key": key, "next_slot": 0.0, "paused_until": 0.0, "holds": []},
        conflict=["key"],
    )
    await session.execute(
        update(SendBudget)
        .where(SendBudget.key == key)
        .values(
            paused_until=case(
                (SendBudget.paused_until < until, until), else_=SendBudget.paused_until
            )
        )
    )


async def hold_budget(
    session: AsyncSession, *, key: str, start: float, until: float, now: float
) -> BudgetState:
    """No worker sends on this budget in [start, until) (past holds are dropped). Returns the
    row's pause and holds."""
    budget = await _budget_row(session, key)
    budget.holds = [list(h) for h in join_holds(budget.holds or [], start, until, now)]
    return _state(budget)


async def budget_state(session: AsyncSession, *, key: str) -> BudgetState:
    """The row's pause and holds (nothing paused or held when the row is not there yet)."""
    row = (
        await session.execute(
            select(SendBudget.paused_until, SendBudget.holds).where(SendBudget.key == key)
        )
    ).first()
    if row is None:
        return BudgetState()
    return BudgetState(float(row[0]), tuple((float(a), float(b)) for a, b in row[1] or ()))


async def release(session: AsyncSession, *, ids: Sequence[int], owner: str) -> None:
    """Give leased rows back unsent (a pause or cancel stopped the batch)."""
    if ids:
        await session.execute(
            update(BroadcastDelivery)
            .where(BroadcastDelivery.id.in_(list(ids)), BroadcastDelivery.lease_owner == owner)
            .values(lease_owner=None, lease_until=None)
        )


async def state_of(session: AsyncSession, *, broadcast_id: int) -> str | None:
    return await session.scalar(select(Broadcast.state).where(Broadcast.id == broadcast_id))


async def claim_report_message(session: AsyncSession, *, broadcast_id: int) -> Broadcast | None:
    """The broadcast, locked, when its progress message is still to be posted."""
    broadcast = await session.get(Broadcast, broadcast_id, with_for_update=True)
    if broadcast is None or broadcast.report_message_id or not broadcast.report_chat_id:
        return None
    return broadcast


async def attempts_of(session: AsyncSession, *, delivery_id: int) -> int:
    return int(
        await session.scalar(
            select(BroadcastDelivery.attempts).where(BroadcastDelivery.id == delivery_id)
        )
        or 0
    )


def held_delivery() -> ColumnElement[bool]:
    """A delivery held for a channel this bot lacks (bot.broadcast: released at a start
    with that channel configured)."""
    return BroadcastDelivery.last_error.like("held:%")


def running_pending(*where: ColumnElement[bool]) -> Select[int]:
    """How many pending deliveries running broadcasts have (few broadcasts run: the rows
    are reached by their broadcast's index)."""
    return (
        select(func.count())
        .select_from(BroadcastDelivery)
        .join(Broadcast, Broadcast.id == BroadcastDelivery.broadcast_id)
        .where(
            Broadcast.state == BroadcastState.running,
            BroadcastDelivery.state == DeliveryState.pending,
            *where,
        )
    )


async def unfinished(session: AsyncSession) -> int:
    """Pending deliveries of running broadcasts (but those held for a channel this bot
    lacks: nothing here can send them) plus broadcasts still scheduled."""
    pending = await session.scalar(
        running_pending(or_(BroadcastDelivery.last_error.is_(None), ~held_delivery()))
    )
    scheduled = await session.scalar(
        select(func.count())
        .select_from(Broadcast)
        .where(Broadcast.state == BroadcastState.scheduled)
    )
    return int(pending or 0) + int(scheduled or 0)


async def scheduled_ids(session: AsyncSession) -> list[int]:
    return list(
        await session.scalars(
            select(Broadcast.id).where(Broadcast.state == BroadcastState.scheduled)
        )
    )
