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
    if _dialect(session) != "sqlite":
        # PostgreSQL's percentile_disc is the nearest rank (the ceil(p·n)-th smallest), in
        # one sort instead of two window passes.
        stmt = select(
            func.count(),
            func.percentile_disc(0.5).within_group(d.c.seconds),
            func.percentile_disc(0.9).within_group(d.c.seconds),
        )
        n, median, p90 = (await session.execute(stmt)).one()
        if not n:
            return Timing()
        return Timing(int(n), float(round(median)), float(round(p90)))
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
    # Every regency × sector with waiting and approved products (the tile map's colours).
    cells: list[MatrixCell] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["curators"] = [{**asdict(c), "total": c.total} for c in self.curators]
        jsonable: dict[str, Any] = _jsonable(data)
        return jsonable

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Stats:
        """The inverse of `to_json`: the figures read back from a stored snapshot."""
        return cls(
            generated_at=datetime.fromisoformat(data["generated_at"]),
            clusters=[
                Cluster(
                    str(c["sector"]), str(c["region_code"]), int(c["producers"]), int(c["products"])
                )
                for c in data["clusters"]
            ],
            statuses=_counts(data["statuses"]),
            weeks=[
                Week(
                    date.fromisoformat(w["start"]),
                    int(w["approve"]),
                    int(w["revise"]),
                    int(w["reject"]),
                )
                for w in data["weeks"]
            ],
            grades=_counts(data["grades"]),
            to_first_claim=_timing_from(data["to_first_claim"]),
            to_decision=_timing_from(data["to_decision"]),
            backlog_by_sector=[_backlog_from(b) for b in data["backlog_by_sector"]],
            backlog_by_chat=[_backlog_from(b) for b in data["backlog_by_chat"]],
            backlog_trend=[(date.fromisoformat(d), int(n)) for d, n in data["backlog_trend"]],
            curators=[
                CuratorLoad(
                    None if c["user_id"] is None else int(c["user_id"]),
                    str(c["name"]),
                    int(c["approve"]),
                    int(c["revise"]),
                    int(c["reject"]),
                )
                for c in data["curators"]
            ],
            month_start=date.fromisoformat(data["month_start"]),
            totals=_counts(data["totals"]),
            timezone=str(data["timezone"]),
            cells=[
                MatrixCell(
                    str(c["region_code"]),
                    str(c["sector"]),
                    int(c["producers"]),
                    int(c["products"]),
                    int(c["waiting"]),
                    int(c["approved"]),
                    float(c["oldest_wait_seconds"]),
                )
                for c in data["cells"]
            ],
        )


def _counts(data: dict[str, Any]) -> dict[str, int]:
    return {str(k): int(v) for k, v in data.items()}


def _seconds(value: Any) -> float | None:
    return None if value is None else float(value)


def _timing_from(data: dict[str, Any]) -> Timing:
    return Timing(int(data["count"]), _seconds(data["median"]), _seconds(data["p90"]))


def _backlog_from(data: dict[str, Any]) -> Backlog:
    return Backlog(
        str(data["key"]),
        int(data["waiting"]),
        int(data["unclaimed"]),
        float(data["oldest_seconds"]),
    )


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
    cells = await matrix(session, now=now)
    # The same counts clusters() reads, from the matrix's statements (not read twice).
    cluster_list = [
        Cluster(c.sector, c.region_code, c.producers, c.products)
        for c in sorted(cells, key=lambda c: (c.sector, c.region_code))
    ]
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
        cells=cells,
    )


# --- the cluster database: regency × sector, funnel, SLA (issue 24) ---------------------


@dataclass(frozen=True, slots=True)
class Scope:
    """The dashboard's filters: only these sectors / regencies (empty: all)."""

    sectors: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()


def _scoped(stmt: Any, scope: Scope, sector: Any, region: Any) -> Any:
    if scope.sectors:
        stmt = stmt.where(func.coalesce(sector, _OTHER).in_(scope.sectors))
    if scope.regions:
        stmt = stmt.where(region.in_(scope.regions))
    return stmt


@dataclass(frozen=True, slots=True)
class MatrixCell:
    """One regency × sector: registered producers, products ever submitted, those waiting
    for a decision now and approved now, and the age of the oldest waiting round."""

    region_code: str
    sector: str
    producers: int = 0
    products: int = 0
    waiting: int = 0
    approved: int = 0
    oldest_wait_seconds: float = 0.0


async def matrix(
    session: AsyncSession, *, now: datetime, scope: Scope = Scope()
) -> list[MatrixCell]:
    """Every regency × sector that has anything (three grouped statements)."""
    region = func.coalesce(Business.region_code, _UNKNOWN)
    b_sector = func.coalesce(Business.sector, _OTHER)
    p_sector = func.coalesce(Product.sector, _OTHER)
    cells: dict[tuple[str, str], dict[str, Any]] = {}

    def at(r: Any, s: Any) -> dict[str, Any]:
        return cells.setdefault((str(r), str(s)), {})

    producers = _scoped(
        select(region, b_sector, func.count())
        .where(Business.registered_at.is_not(None))
        .group_by(region, b_sector),
        scope,
        Business.sector,
        Business.region_code,
    )
    for r, s, n in (await session.execute(producers)).all():
        at(r, s)["producers"] = int(n)
    products = _scoped(
        select(
            region,
            p_sector,
            func.count(),
            func.sum(case((Product.status.in_(WAITING), 1), else_=0)),
            func.sum(case((Product.status == ProductStatus.approved, 1), else_=0)),
        )
        .join(Business, Business.id == Product.business_id)
        .where(Product.status != ProductStatus.draft)
        .group_by(region, p_sector),
        scope,
        Product.sector,
        Business.region_code,
    )
    for r, s, n, w, a in (await session.execute(products)).all():
        at(r, s).update(products=int(n), waiting=int(w or 0), approved=int(a or 0))
    oldest = _scoped(
        select(region, p_sector, func.min(Review.created_at))
        .join(Product, Product.id == Review.product_id)
        .join(Business, Business.id == Product.business_id)
        .where(
            Review.decision.is_(None),
            Review.round == Product.round,
            Product.status.in_(WAITING),
        )
        .group_by(region, p_sector),
        scope,
        Product.sector,
        Business.region_code,
    )
    for r, s, first in (await session.execute(oldest)).all():
        if first is not None:
            at(r, s)["oldest_wait_seconds"] = max(0.0, (now - _utc(first)).total_seconds())
    return [MatrixCell(r, s, **v) for (r, s), v in sorted(cells.items())]


@dataclass(frozen=True, slots=True)
class FunnelRow:
    """Registered producers → those with a product submitted → those with one approved."""

    key: str  # a sector code or a regency code
    registered: int
    submitted: int
    approved: int


async def funnel(session: AsyncSession, *, by: str, scope: Scope = Scope()) -> list[FunnelRow]:
    """The funnel per business sector (`by="sector"`) or regency (`by="region"`)."""
    per_business = (
        select(
            Product.business_id.label("business_id"),
            func.max(case((Product.submitted_at.is_not(None), 1), else_=0)).label("submitted"),
            func.max(case((Product.status == ProductStatus.approved, 1), else_=0)).label(
                "approved"
            ),
        )
        .group_by(Product.business_id)
        .subquery()
    )
    key = (
        func.coalesce(Business.sector, _OTHER)
        if by == "sector"
        else func.coalesce(Business.region_code, _UNKNOWN)
    )
    stmt = _scoped(
        select(
            key,
            func.count(Business.id),
            func.sum(func.coalesce(per_business.c.submitted, 0)),
            func.sum(func.coalesce(per_business.c.approved, 0)),
        )
        .outerjoin(per_business, per_business.c.business_id == Business.id)
        .where(Business.registered_at.is_not(None))
        .group_by(key)
        .order_by(key),
        scope,
        Business.sector,
        Business.region_code,
    )
    return [
        FunnelRow(str(k), int(n), int(s or 0), int(a or 0))
        for k, n, s, a in (await session.execute(stmt)).all()
    ]


async def decision_times(
    session: AsyncSession,
    *,
    by: str,
    since: datetime,
    offset_hours: int = 7,
    scope: Scope = Scope(),
) -> dict[str, Timing]:
    """Submission to decision, nearest-rank p50 / p90, per sector (`by="sector"`) or per
    local week of the decision (`by="week"`, keys ISO Mondays), over rounds decided since
    `since`. A decision taken back with undo has no decided_at: it is not counted."""
    key = (
        func.coalesce(Product.sector, _OTHER)
        if by == "sector"
        else local_week(session, Review.decided_at, offset_hours)
    ).label("key")
    base = (
        select(key, seconds_between(session, Review.decided_at, Review.created_at).label("s"))
        .join(Product, Product.id == Review.product_id)
        .where(Review.decided_at.is_not(None), Review.decided_at >= since)
    )
    if scope.regions:  # the business only when a regency is asked for
        base = base.join(Business, Business.id == Product.business_id)
    durations = _scoped(base, scope, Product.sector, Business.region_code).subquery()
    stmt: Any
    if _dialect(session) != "sqlite":
        stmt = select(
            durations.c.key,
            func.count(),
            func.percentile_disc(0.5).within_group(durations.c.s),
            func.percentile_disc(0.9).within_group(durations.c.s),
        ).group_by(durations.c.key)
    else:
        ranked = select(
            durations.c.key,
            durations.c.s,
            func.row_number()
            .over(partition_by=durations.c.key, order_by=durations.c.s)
            .label("rn"),
            func.count().over(partition_by=durations.c.key).label("n"),
        ).subquery()
        stmt = select(
            ranked.c.key,
            func.max(ranked.c.n),
            func.max(case((ranked.c.rn == (ranked.c.n + 1) // 2, ranked.c.s))),
            func.max(case((ranked.c.rn == (9 * ranked.c.n + 9) // 10, ranked.c.s))),
        ).group_by(ranked.c.key)
    rows = await session.execute(stmt)
    found: dict[str, Timing] = {}
    for k, n, median, p90 in rows.all():
        label = _as_date(k).isoformat() if by == "week" else str(k)
        found[label] = Timing(int(n), float(round(median)), float(round(p90)))
    return dict(sorted(found.items()))


AGE_BUCKETS: tuple[tuple[str, float], ...] = (
    ("<1d", 1.0),
    ("1-3d", 3.0),
    ("3-7d", 7.0),
    ("7-14d", 14.0),
    (">14d", float("inf")),
)


async def backlog_by_age(
    session: AsyncSession, *, now: datetime, scope: Scope = Scope()
) -> dict[str, int]:
    """Rounds awaiting a decision by how long they have waited (AGE_BUCKETS, in days)."""
    age = seconds_between(session, literal(now, UTCDateTime()), Review.created_at) / 86400.0
    whens: list[tuple[Any, Any]] = [
        (age < limit, literal_column(f"'{name}'")) for name, limit in AGE_BUCKETS[:-1]
    ]
    bucket = case(*whens, else_=literal_column(f"'{AGE_BUCKETS[-1][0]}'")).label("bucket")
    # Bucketed in a subquery and grouped outside: PostgreSQL would not match a GROUP BY
    # expression holding a bound parameter (now) to the same expression in SELECT.
    waiting = _scoped(
        select(bucket)
        .join(Product, Product.id == Review.product_id)
        .join(Business, Business.id == Product.business_id)
        .where(
            Review.decision.is_(None),
            Review.round == Product.round,
            Product.status.in_(WAITING),
        ),
        scope,
        Product.sector,
        Business.region_code,
    ).subquery()
    stmt = select(waiting.c.bucket, func.count()).group_by(waiting.c.bucket)
    counts = {name: 0 for name, _ in AGE_BUCKETS}
    for name, n in (await session.execute(stmt)).all():
        counts[str(name)] = int(n)
    return counts


@dataclass(frozen=True, slots=True)
class CuratorWeek:
    start: date
    claims: int = 0
    decisions: int = 0


@dataclass(frozen=True, slots=True)
class CuratorActivity:
    """A curator's claims and standing decisions per local week, and the claims they hold
    now (undecided)."""

    user_id: int | None
    name: str
    weeks: list[CuratorWeek]
    open_claims: int

    @property
    def decisions(self) -> int:
        return sum(w.decisions for w in self.weeks)

    @property
    def claims(self) -> int:
        return sum(w.claims for w in self.weeks)


async def curator_activity(
    session: AsyncSession, *, since: datetime, until: datetime, offset_hours: int = 7
) -> list[CuratorActivity]:
    week = local_week(session, AuditEvent.at, offset_hours).label("week")
    is_decision = and_(AuditEvent.action.in_(DECISIONS), not_undone())
    rows = await session.execute(
        select(
            AuditEvent.actor_user_id,
            week,
            func.sum(case((AuditEvent.action == "claim", 1), else_=0)),
            func.sum(case((is_decision, 1), else_=0)),
        )
        .where(
            AuditEvent.action.in_(("claim", *DECISIONS)),
            AuditEvent.actor_user_id.is_not(None),
            AuditEvent.at >= since,
            AuditEvent.at < until,
        )
        .group_by(AuditEvent.actor_user_id, week)
    )
    per: dict[int, dict[date, tuple[int, int]]] = {}
    for uid, w, c, d in rows.all():
        per.setdefault(int(uid), {})[_as_date(w)] = (int(c or 0), int(d or 0))
    held = await session.execute(
        select(Review.curator_user_id, func.count())
        .join(Product, Product.id == Review.product_id)
        .where(
            Review.decision.is_(None),
            Review.curator_user_id.is_not(None),
            Product.status == ProductStatus.in_review,
        )
        .group_by(Review.curator_user_id)
    )
    open_claims = {int(u): int(n) for u, n in held.all() if u is not None}
    ids = sorted(set(per) | set(open_claims))
    names = (
        {
            int(u): str(n or f"#{u}")
            for u, n in (
                await session.execute(select(User.id, User.display_name).where(User.id.in_(ids)))
            ).all()
        }
        if ids
        else {}
    )
    first = _monday(since + timedelta(hours=offset_hours))
    last = _monday(until - timedelta(microseconds=1) + timedelta(hours=offset_hours))
    mondays = []
    day = first
    while day <= last:
        mondays.append(day)
        day += timedelta(days=7)
    found = [
        CuratorActivity(
            uid,
            names.get(uid, f"#{uid}"),
            [CuratorWeek(m, *per.get(uid, {}).get(m, (0, 0))) for m in mondays],
            open_claims.get(uid, 0),
        )
        for uid in ids
    ]
    return sorted(found, key=lambda c: (-c.decisions, -c.open_claims, c.name))
