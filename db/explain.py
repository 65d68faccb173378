"""The scheduler's queries by name, and their plans: for bench/scale and the index test."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Executable, delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Notification, OutboxItem, ProcessedUpdate, Product, ProductStatus
from db.notifications import (
    _insert_statement,
    admins_query,
    claim_due_query,
    draft_nudges_query,
    fair_producers_query,
    fairs_ending_after_query,
    load_products_query,
    load_users_query,
    revisions_query,
    unclaimed_query,
)
from db.reviews import stale_claims_query, unrouted_query


def scheduler_queries(
    *,
    now: datetime,
    today: date,
    draft_idle: timedelta = timedelta(days=3),
    draft_nudges: int = 2,
    revision_idle: timedelta = timedelta(days=5),
    unclaimed: timedelta = timedelta(days=3),
    claim_timeout: timedelta = timedelta(hours=48),
    producer_kinds: Sequence[str] = ("draft", "revision", "fair_deadline", "fair_start"),
    fair_sectors: Sequence[str] = ("crafts",),
) -> dict[str, Executable]:
    """Every statement one tick runs whose cost grows with the data, as the tick runs it."""
    queries: dict[str, Executable] = {
        "release: stale claims": stale_claims_query(before=now - claim_timeout),
        "forget: old update ids": delete(ProcessedUpdate).where(
            ProcessedUpdate.processed_at < now - timedelta(days=7)
        ),
        "route: unrouted rounds": unrouted_query(),
    }
    for nudge in range(1, draft_nudges + 1):
        queries[f"plan: draft nudge {nudge}"] = _insert_statement(
            "postgresql",
            draft_nudges_query(now=now, idle=draft_idle, nudge=nudge, last=nudge == draft_nudges),
        )
    queries["plan: revisions"] = _insert_statement(
        "postgresql", revisions_query(now=now, idle=revision_idle)
    )
    queries["plan: unclaimed"] = _insert_statement(
        "postgresql", unclaimed_query(now=now, wait=unclaimed, admin_channel="telegram")
    )
    queries["plan: fairs ending after today"] = fairs_ending_after_query(today=today)
    queries["plan: fair producers"] = _insert_statement(
        "postgresql",
        fair_producers_query(
            fair_id=1, sectors=fair_sectors, kind="fair_start", n=7, due_at=now, now=now
        ),
    )
    queries["plan: admins"] = admins_query(channel="telegram", external_ids=["1"])
    queries["send: claim due"] = claim_due_query(now=now, limit=50, skip_kinds=())
    queries["send: claim due (quiet hours)"] = claim_due_query(
        now=now, limit=50, skip_kinds=producer_kinds
    )
    queries["send: batch recipients"] = load_users_query(list(range(1, 51)))
    queries["send: batch products"] = load_products_query(list(range(1, 51)))
    queries["metrics: outbox waiting"] = (
        select(func.count())
        .select_from(OutboxItem)
        .where(OutboxItem.sent_at.is_(None), OutboxItem.failed_at.is_(None))
    )
    queries["metrics: notifications due"] = (
        select(func.count())
        .select_from(Notification)
        .where(Notification.sent_at.is_(None), Notification.due_at <= now)
    )
    queries["metrics: backlog by sector"] = (
        select(Product.sector, func.count())
        .where(Product.status.in_((ProductStatus.submitted, ProductStatus.in_review)))
        .group_by(Product.sector)
    )
    return queries


async def explain(session: AsyncSession, stmt: Any, *, analyze: bool = False) -> list[str]:
    """PostgreSQL's plan for a statement, one line per node (ANALYZE runs it: roll back)."""
    compiled: Any = stmt.compile(
        dialect=session.get_bind().dialect, compile_kwargs={"literal_binds": True}
    )
    prefix = "EXPLAIN (ANALYZE, BUFFERS OFF) " if analyze else "EXPLAIN "
    sql = str(compiled).replace(":", r"\:")  # literal timestamps are not bind parameters
    rows = await session.execute(text(prefix + sql))
    return [row[0] for row in rows]
