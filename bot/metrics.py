"""Prometheus metrics: what the bot does, how fast, and how much the database is asked.

One registry for the process (plus the process collector: RSS, CPU, open files). Counters
are bumped where things happen; queue depths and the curation backlog are read from the
database when /metrics is scraped, so every worker reports the same shared figures.
"""

from __future__ import annotations

import ipaddress
import secrets
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog
from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from db.metrics import curation_backlog, queue_depths

if TYPE_CHECKING:
    pass

log = structlog.get_logger(__name__)

REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)

UPDATES = Counter(
    "kurasi_updates",
    "Updates handled, by channel and outcome (ok, duplicate, error).",
    ["channel", "outcome"],
    registry=REGISTRY,
)
UPDATE_SECONDS = Histogram(
    "kurasi_update_seconds",
    "Time to handle one update (database transaction and flow; sending not included).",
    ["channel"],
    buckets=(0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5),
    registry=REGISTRY,
)
UPDATE_ROUND_TRIPS = Histogram(
    "kurasi_update_db_round_trips",
    "Database round trips (BEGIN, statements, COMMIT/ROLLBACK) for one update.",
    buckets=(1, 2, 3, 4, 5, 6, 8, 10, 15, 20, 40),
    registry=REGISTRY,
)
MESSAGES = Counter(
    "kurasi_messages",
    "Messages sent to a platform, by channel and result (sent, failed, rate_limited).",
    ["channel", "result"],
    registry=REGISTRY,
)
QUEUE_DEPTH = Gauge(
    "kurasi_queue_depth",
    "Rows waiting: outbox (review cards), notifications (due, unsent), whatsapp_inbox "
    "(WhatsApp messages acknowledged, not handled yet).",
    ["queue"],
    registry=REGISTRY,
)
BACKLOG = Gauge(
    "kurasi_curation_backlog",
    "Products submitted or in review, by sector.",
    ["sector"],
    registry=REGISTRY,
)
WHATSAPP_STATUSES = Counter(
    "kurasi_whatsapp_statuses",
    "WhatsApp delivery statuses received, by result: stored, or unknown (for a message id "
    "the bot never sent or no longer keeps: dropped, not stored).",
    ["result"],
    registry=REGISTRY,
)
TICK_SECONDS = Histogram(
    "kurasi_scheduler_tick_seconds",
    "Scheduler tick time by phase.",
    ["phase"],
    buckets=(0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
    registry=REGISTRY,
)


# --- per-update accounting ------------------------------------------------------------------


@dataclass(slots=True)
class UpdateStats:
    """What one update cost; filled in by the engine's event hooks and the runtime."""

    round_trips: int = 0
    outcome: str = "ok"


_current: ContextVar[UpdateStats | None] = ContextVar("kurasi_update_stats", default=None)


def current_update() -> UpdateStats | None:
    return _current.get()


def mark_duplicate() -> None:
    stats = _current.get()
    if stats is not None:
        stats.outcome = "duplicate"


_counted_engines: weakref.WeakSet[Any] = weakref.WeakSet()


def count_round_trips(engine: AsyncEngine) -> None:
    """Count each statement, BEGIN, COMMIT and ROLLBACK against the update being handled.

    SQLAlchemy runs these hooks in a greenlet that shares the calling task's context, so
    the counts land on the right update even with many in flight.
    """
    sync = engine.sync_engine
    separate_begin = sync.dialect.name != "sqlite"  # SQLite's BEGIN is a statement of ours

    def bump(*_args: Any, **_kw: Any) -> None:
        stats = _current.get()
        if stats is not None:
            stats.round_trips += 1

    def rolled_back(*_args: Any, **_kw: Any) -> None:
        stats = _current.get()
        if stats is not None:
            stats.round_trips += 1
            if stats.outcome == "ok":
                stats.outcome = "error"

    if sync in _counted_engines:
        return
    _counted_engines.add(sync)
    event.listen(sync, "before_cursor_execute", bump)
    event.listen(sync, "commit", bump)
    event.listen(sync, "rollback", rolled_back)
    if separate_begin:
        event.listen(sync, "begin", bump)


@asynccontextmanager
async def tracking_update(channel: str, update_key: str | None) -> AsyncIterator[UpdateStats]:
    """Account one update: latency, round trips, outcome; its id on every log line."""
    stats = UpdateStats()
    token = _current.set(stats)
    # user_id is bound by the runtime once known; resetting these tokens unbinds it too.
    log_tokens = structlog.contextvars.bind_contextvars(
        update=update_key, channel=channel, user_id=None
    )
    started = time.perf_counter()
    try:
        yield stats
    except BaseException:
        stats.outcome = "error"
        raise
    finally:
        UPDATE_SECONDS.labels(channel).observe(time.perf_counter() - started)
        UPDATE_ROUND_TRIPS.observe(stats.round_trips)
        UPDATES.labels(channel, stats.outcome).inc()
        structlog.contextvars.reset_contextvars(**log_tokens)
        _current.reset(token)


# --- scheduler ------------------------------------------------------------------------------


@asynccontextmanager
async def tick_phase(phase: str) -> AsyncIterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        TICK_SECONDS.labels(phase).observe(time.perf_counter() - started)


# --- /metrics -------------------------------------------------------------------------------


# Headers a proxy or CDN adds to say whom it forwards for (any X-Forwarded-* counts too).
_FORWARDING_HEADERS = frozenset(
    {
        "forwarded",
        "via",
        "x-real-ip",
        "x-client-ip",
        "client-ip",
        "true-client-ip",
        "cf-connecting-ip",
        "fastly-client-ip",
        "x-cluster-client-ip",
        "x-original-forwarded-for",
        "x-proxyuser-ip",
    }
)


def _forwarded(request: web.Request) -> bool:
    return any(
        name.lower() in _FORWARDING_HEADERS or name.lower().startswith("x-forwarded-")
        for name in request.headers
    )


def _is_local(request: web.Request) -> bool:
    """A direct connection from this machine: a loopback peer and no forwarding header
    (a proxy on this machine is loopback too, and says so by the header it adds)."""
    if _forwarded(request):
        return False
    try:
        return ipaddress.ip_address(request.remote or "").is_loopback
    except ValueError:
        return False


def _token_ok(request: web.Request, token: str | None) -> bool:
    if not token:
        return False
    given = request.headers.get("Authorization", "")
    return secrets.compare_digest(given.encode(), f"Bearer {token}".encode())


async def refresh_from_database(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    async with sessionmaker() as session:
        depths = await queue_depths(session)
        backlog = await curation_backlog(session)
    for queue, depth in depths.items():
        QUEUE_DEPTH.labels(queue).set(depth)
    BACKLOG.clear()
    for sector, count in backlog.items():
        BACKLOG.labels(sector).set(count)


def metrics_handler(
    sessionmaker: async_sessionmaker[AsyncSession], *, token: str | None
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """GET /metrics for Prometheus: from this machine, or with `Authorization: Bearer
    <http.metrics_token>`; everyone else gets 404, as if there were nothing here."""

    async def metrics(request: web.Request) -> web.Response:
        if not (_is_local(request) or _token_ok(request, token)):
            raise web.HTTPNotFound()
        try:
            await refresh_from_database(sessionmaker)
        except Exception as exc:  # the process figures are still worth serving
            log.warning("metrics: database figures unavailable", error=type(exc).__name__)
        body = generate_latest(REGISTRY)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    return metrics
