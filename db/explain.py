"""The scheduler's statements by name, and their plans: for bench/scale and the index test
(handlers/features/reminders/explain.py adds each kind's planning statements)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Executable, delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Notification, OutboxItem, ProcessedUpdate, Product, ProductStatus
from db.notifications import (
    claim_due_query,
    load_products_query,
    load_users_query,
)
from db.reviews import stale_claims_query, unrouted_query


def tick_queries(
    *,
    now: datetime,
    claim_timeout: timedelta = timedelta(hours=48),
    producer_kinds: Sequence[str] = (),
) -> dict[str, Executable]:
    """The statements of a tick that are no kind's planning (those are declared with each
    kind: handlers/features/reminders/kinds.py), as the tick runs them."""
    return {
        "release: stale claims": stale_claims_query(before=now - claim_timeout),
        "forget: old update ids": delete(ProcessedUpdate).where(
            ProcessedUpdate.processed_at < now - timedelta(days=7)
        ),
        "route: unrouted rounds": unrouted_query(),
        "send: claim due": claim_due_query(now=now, limit=50, skip_kinds=()),
        "send: claim due (quiet hours)": claim_due_query(
            now=now, limit=50, skip_kinds=producer_kinds
        ),
        "send: batch recipients": load_users_query(list(range(1, 51))),
        "send: batch products": load_products_query(list(range(1, 51))),
        "metrics: outbox waiting": (
            select(func.count())
            .select_from(OutboxItem)
            .where(OutboxItem.sent_at.is_(None), OutboxItem.failed_at.is_(None))
        ),
        "metrics: notifications due": (
            select(func.count())
            .select_from(Notification)
            .where(Notification.sent_at.is_(None), Notification.due_at <= now)
        ),
        "metrics: backlog by sector": (
            select(Product.sector, func.count())
            .where(Product.status.in_((ProductStatus.submitted, ProductStatus.in_review)))
            .group_by(Product.sector)
        ),
    }


async def explain(session: AsyncSession, stmt: Any, *, analyze: bool = False) -> list[str]:
    """PostgreSQL's plan for a statement, one line per node (ANALYZE runs it: roll back)."""
    compiled: Any = stmt.compile(
        dialect=session.get_bind().dialect, compile_kwargs={"literal_binds": True}
    )
    prefix = "EXPLAIN (ANALYZE, BUFFERS OFF) " if analyze else "EXPLAIN "
    sql = str(compiled).replace(":", r"\:")  # literal timestamps are not bind parameters
    rows = await session.execute(text(prefix + sql))
    return [row[0] for row in rows]
