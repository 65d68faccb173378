"""The UMKM database read by cluster: set-based queries for the admins' statistics.

Every figure is one SQL statement that runs the same on PostgreSQL and SQLite (window
functions for the percentiles, a dialect switch only for date arithmetic). Decisions and
curators' load are read from the audit trail, which outlives an erased producer; timings and
the backlog from the review rounds.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    and_,
    case,
    func,
    literal,
    literal_column,
    or_,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import Float

from db.base import UTCDateTime
from db.models import AuditEvent, Business, Product, ProductStatus, Review, User
from db.reviews import not_undone

DECISIONS = ("approve", "revise", "reject")
WAITING = (ProductStatus.submitted, ProductStatus.in_review)
UNROUTED = "-"  # the review-chat key of rounds no chat took yet
# Inlined constants: PostgreSQL matches GROUP BY to SELECT by text, and bound parameters
# would get different numbers in each.
_OTHER: ColumnElement[str] = literal_column("'other'")
_UNKNOWN: ColumnElement[str] = literal_column("'?'")
_NONE: ColumnElement[str] = literal_column("'-'")
_UNROUTED: ColumnElement[str] = literal_column(f"'{UNROUTED}'")


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def seconds_between(session: AsyncSession, later: Any, earlier: Any) -> ColumnElement[float]:
    """`later - earlier` in seconds."""
    if _dialect(session) == "sqlite":
        return (func.julianday(later) - func.julianday(earlier)) * 86400.0
    return type_coerce(func.extract("epoch", later - earlier), Float())


def local_week(session: AsyncSession, column: Any, offset_hours: int) -> ColumnElement[Any]:
    """The Monday (local calendar, fixed UTC offset) of the week `column` falls in."""
    if _dialect(session) == "sqlite":
        return func.date(column, f"{offset_hours:+d} hours", "-6 days", "weekday 1")
    shifted = func.timezone("UTC", column) + timedelta(hours=offset_hours)
    return func.date(func.date_trunc("week", shifted))


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


# --- clusters ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Cluster:
    sector: str
    region_code: str
    producers: int
    products: int


async def clusters(session: AsyncSession) -> list[Cluster]:
    """Registered producers and their products (ever submitted: drafts are not counted)
    per sector × regency. A producer counts in their business's sector; a product in its own."""
    producers = (
        select(
            func.coalesce(Business.sector, _OTHER).label("sector"),
            func.coalesce(Business.region_code, _UNKNOWN).label("region"),
            func.count().label("producers"),
            literal(0).label("products"),
        )
        .where(Business.registered_at.is_not(None))
        .group_by(
            func.coalesce(Business.sector, _OTHER), func.coalesce(Business.region_code, _UNKNOWN)
        )
    )
    products = (
        select(
            func.coalesce(Product.sector, _OTHER).label("sector"),
            func.coalesce(Business.region_code, _UNKNOWN).label("region"),
            literal(0).label("producers"),
            func.count().label("products"),
        )
        .join(Business, Business.id == Product.business_id)
        .where(Product.status != ProductStatus.draft)
        .group_by(
            func.coalesce(Product.sector, _OTHER), func.coalesce(Business.region_code, _UNKNOWN)
        )
    )
    both = union_all(producers, products).subquery()
    rows = await session.execute(
        select(both.c.sector, both.c.region, func.sum(both.c.producers), func.sum(both.c.products))
        .group_by(both.c.sector, both.c.region)
        .order_by(both.c.sector, both.c.region)
    )
    return [Cluster(s, r, int(p or 0), int(n or 0)) for s, r, p, n in rows.all()]


async def products_by_status(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(
        select(Product.status, func.count()).group_by(Product.status).order_by(Product.status)
    )
    counts = {s.value: 0 for s in ProductStatus}
    counts.update({status: int(n) for status, n in rows.all()})
    return counts


# --- decisions --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Week:
    start: date
    approve: int = 0
    revise: int = 0
    reject: int = 0


async def decisions_per_week(
    session: AsyncSession, *, since: datetime, until: datetime, offset_hours: int
) -> list[Week]:
    """Approve / revise / reject decisions per local week in [since, until), every week
    listed (zero weeks too) so a chart's axis has no gaps."""
    week = local_week(session, AuditEvent.at, offset_hours).label("week")
    rows = await session.execute(
        select(
            week,
            *(func.sum(case((AuditEvent.action == a, 1), else_=0)) for a in DECISIONS),
        )
        .where(
            AuditEvent.action.in_(DECISIONS),
            not_undone(),
            AuditEvent.at >= since,
            AuditEvent.at < until,
        )
        .group_by(week)
    )
    found = {_as_date(w): (int(a), int(r), int(j)) for w, a, r, j in rows.all()}
    first = _monday(since + timedelta(hours=offset_hours))
    last = _monday(until - timedelta(microseconds=1) + timedelta(hours=offset_hours))
    weeks = []
    day = first
    while day <= last:
        weeks.append(Week(day, *found.get(day, (0, 0, 0))))
        day += timedelta(days=7)
    return weeks


def _monday(moment: datetime) -> date:
    day = moment.date()
    return day - timedelta(days=day.weekday())


async def grades(session: AsyncSession, *, since: datetime, until: datetime) -> dict[str, int]:
    """Grades given with the decisions in [since, until) ("-" = no grade)."""
    grade = func.coalesce(AuditEvent.grade, _NONE)
    rows = await session.execute(
        select(grade, func.count())
        .where(
            AuditEvent.action.in_(DECISIONS),
            not_undone(),
            AuditEvent.at >= since,
            AuditEvent.at < until,
        )
        .group_by(grade)
        .order_by(grade)
    )
    return {g: int(n) for g, n in rows.all()}


@dataclass(frozen=True, slots=True)
class Timing:
    """Nearest-rank percentiles in seconds over `count` review rounds (None: no rounds)."""

    count: int = 0
    median: float | None = None
    p90: float | None = None


async def _percentiles(session: AsyncSession, durations: Any) -> Timing:
    d = durations.subquery()
    ranked = select(
        d.c.seconds,
        func.row_number().over(order_by=d.c.seconds).label("rn"),
        func.count().over().label("n"),
    ).subquery()
    # Nearest rank: the ceil(p·n)-th smallest, in integers: ceil(n/2), ceil(9n/10).
    row = (
        await session.execute(
            select(
                func.max(ranked.c.n),
                func.max(case((ranked.c.rn == (ranked.c.n + 1) // 2, ranked.c.seconds))),
                func.max(case((ranked.c.rn == (9 * ranked.c.n + 9) // 10, ranked.c.seconds))),
            )
        )
    ).one()
    n, median, p90 = row
    if not n:
        return Timing()
    # Whole seconds: SQLite's julianday arithmetic is off by microseconds.
    return Timing(int(n), float(round(median)), float(round(p90)))


async def time_to_first_claim(session: AsyncSession, *, since: datetime) -> Timing:
    """From a round's submission to its first claim (later re-claims after a release do not
    count), over rounds submitted since `since` that were claimed."""
    first = (
        select(
            AuditEvent.product_id,
            AuditEvent.round,
            func.min(AuditEvent.at).label("at"),
        )
        .where(AuditEvent.action == "claim")
        .group_by(AuditEvent.product_id, AuditEvent.round)
        .subquery()
    )
    durations = (
        select(seconds_between(session, first.c.at, Review.created_at).label("seconds"))
        .join(first, and_(first.c.product_id == Review.product_id, first.c.round == Review.round))
        .where(Review.created_at >= since)
    )
    return await _percentiles(session, durations)


async def time_to_decision(session: AsyncSession, *, since: datetime) -> Timing:
    durations = select(
        seconds_between(session, Review.decided_at, Review.created_at).label("seconds")
    ).where(Review.decided_at.is_not(None), Review.created_at >= since)
    return await _percentiles(session, durations)


# --- backlog ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Backlog:
    key: str  # a sector code or a review chat id
    waiting: int  # awaiting a decision (unclaimed or held)
    unclaimed: int
    oldest_seconds: float


async def backlog(session: AsyncSession, *, by: str, now: datetime) -> list[Backlog]:
    """Rounds awaiting a decision per sector (`by="sector"`) or review chat (`by="chat"`)."""
    key = (
        func.coalesce(Product.sector, _OTHER)
        if by == "sector"
        else func.coalesce(Review.chat_id, _UNROUTED)
    )
    stmt = (
        select(
            key,
            func.count(),
            func.sum(case((Product.status == ProductStatus.submitted, 1), else_=0)),
            func.min(Review.created_at),
        )
        .join(Product, Product.id == Review.product_id)
        .where(
            Review.decision.is_(None),
            Review.round == Product.round,
            Product.status.in_(WAITING),
        )
        .group_by(key)
        .order_by(key)
    )
    rows = (await session.execute(stmt)).all()
    return [
        Backlog(
            str(k),
            int(n),
            int(u or 0),
            max(0.0, (now - _utc(oldest)).total_seconds()) if oldest else 0.0,
        )
        for k, n, u, oldest in rows
    ]


def _utc(value: Any) -> datetime:
    """min() over a UTC column comes back as a naive string on SQLite."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def backlog_trend(
    session: AsyncSession,
    *,
    points: list[datetime],
    chat_id: str | None = None,
    sectors: tuple[str, ...] | None = None,
) -> list[int]:
    """How many rounds were awaiting a decision at each moment: opened by then and not yet
    decided then. Withdrawn rounds and erased producers' rounds are gone and not counted."""
    if not points:
        return []
    moments = union_all(
        *(
            select(literal(p, UTCDateTime()).label("at"), literal(i).label("i"))
            for i, p in enumerate(points)
        )
    ).subquery()
    join = and_(
        Review.created_at <= moments.c.at,
        or_(Review.decided_at.is_(None), Review.decided_at > moments.c.at),
    )
    if chat_id is not None:
        join = and_(join, Review.chat_id == chat_id)
    if sectors:
        join = and_(
            join, Review.product_id.in_(select(Product.id).where(Product.sector.in_(sectors)))
        )
    rows = await session.execute(
        select(moments.c.i, func.count(Review.id))
        .select_from(moments)
        .outerjoin(Review, join)
        .group_by(moments.c.i)
    )
    counts: dict[int, int] = {int(i): int(n) for i, n in rows.all()}
    return [int(counts.get(i, 0)) for i in range(len(points))]


# --- curators ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CuratorLoad:
    user_id: int | None
    name: str
    approve: int
    revise: int
    reject: int

    @property
    def total(self) -> int:
        return self.approve + self.revise + self.reject


async def curator_load(session: AsyncSession, *, since: datetime) -> list[CuratorLoad]:
    """Decisions per curator since `since` (the month's start), busiest first."""
    counts = [func.sum(case((AuditEvent.action == a, 1), else_=0)) for a in DECISIONS]
    rows = await session.execute(
        select(AuditEvent.actor_user_id, User.display_name, *counts)
        .outerjoin(User, User.id == AuditEvent.actor_user_id)
        .where(AuditEvent.action.in_(DECISIONS), not_undone(), AuditEvent.at >= since)
        .group_by(AuditEvent.actor_user_id, User.display_name)
    )
    loads = [
        CuratorLoad(uid, str(name or (f"#{uid}" if uid else "?")), int(a), int(r), int(j))
        for uid, name, a, r, j in rows.all()
    ]
    return sorted(loads, key=lambda c: (-c.total, c.name))


# --- everything at once -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Stats:
    generated_at: datetime
    clusters: list[Cluster]
    statuses: dict[str, int]
    weeks: list[Week]
    grades: dict[str, int]
    to_first_claim: Timing
    to_decision: Timing
    backlog_by_sector: list[Backlog]
    backlog_by_chat: list[Backlog]
    backlog_trend: list[tuple[date, int]]
    curators: list[CuratorLoad]
    month_start: date
    totals: dict[str, int] = field(default_factory=dict)
    timezone: str = "Asia/Jakarta"  # whose calendar the weeks and "today" are in

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["curators"] = [{**asdict(c), "total": c.total} for c in self.curators]
        jsonable: dict[str, Any] = _jsonable(data)
        return jsonable


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


async def collect(
    session: AsyncSession,
    *,
    now: datetime,
    timezone: str = "Asia/Jakarta",
    weeks: int = 8,
    timing_days: int = 90,
) -> Stats:
    """Every figure of /statistik and `kurasi stats`."""
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    offset = local.utcoffset() or timedelta(0)
    offset_hours = int(offset.total_seconds() // 3600)
    this_monday = local.date() - timedelta(days=local.weekday())
    since_local = datetime.combine(this_monday - timedelta(weeks=weeks - 1), datetime.min.time())
    since = since_local.replace(tzinfo=zone)
    month_start = local.date().replace(day=1)
    month = datetime.combine(month_start, datetime.min.time(), tzinfo=zone)
    week_list = await decisions_per_week(session, since=since, until=now, offset_hours=offset_hours)
    # The backlog at the end of each listed week (now, for the current one).
    ends = [
        min(now, datetime.combine(w.start + timedelta(days=7), datetime.min.time(), tzinfo=zone))
        for w in week_list
    ]
    trend = await backlog_trend(session, points=ends)
    cluster_list = await clusters(session)
    statuses = await products_by_status(session)
    return Stats(
        generated_at=now,
        clusters=cluster_list,
        statuses=statuses,
        weeks=week_list,
        grades=await grades(session, since=since, until=now),
        to_first_claim=await time_to_first_claim(session, since=now - timedelta(days=timing_days)),
        to_decision=await time_to_decision(session, since=now - timedelta(days=timing_days)),
        backlog_by_sector=await backlog(session, by="sector", now=now),
        backlog_by_chat=await backlog(session, by="chat", now=now),
        backlog_trend=[(w.start, n) for w, n in zip(week_list, trend, strict=True)],
        curators=await curator_load(session, since=month),
        month_start=month_start,
        totals={
            "producers": sum(c.producers for c in cluster_list),
            "products": sum(c.products for c in cluster_list),
        },
        timezone=timezone,
    )
