"""The cluster database at province scale (issue 24): `kurasi stats`, the dashboard's pages,
/ekspor's answer and every export's time and memory, on one PostgreSQL database.

    .venv/bin/python -m bench.cluster [--url postgresql+asyncpg://postgres@127.0.0.1:5432/test]
                                      [--businesses 100000] [--products 200000] [--runs 30]
                                      [--no-exports] [--no-live] [--only-stats]

Creates (and drops) a database of its own next to --url, fills it with bench/export_memory.py's
`fill` (every regency, every status, rounds, claims and decisions), ANALYZEs, then prints:
- the figures of `kurasi stats --live` (collect + the text), p50/p99 over --runs warm runs;
- the scheduler tick's phase that stores them (claim + collect + store), a few times, and
  `kurasi stats` reading that snapshot (+ the text), p50/p99 over --runs warm runs;
- each dashboard page through HTTP with a signed-in admin's cookie: the first request of a
  tick (figures computed) and p50/p99 warm (within the tick); the charts once each;
- /ekspor produk: how long the update takes to be answered, and the background job's time;
- every export (XLSX, ';' CSV) in a child process: rows, seconds, peak RSS above idle.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text
from sqlalchemy.engine import make_url

from bench.export_memory import NOW, fill

ADMIN = "424242"


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]


async def _timed(runs: int, make: Callable[[], Awaitable[Any]]) -> tuple[float, float]:
    for _ in range(2):
        await make()  # warm: caches, plans, connections
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        await make()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), _p(times, 0.99)


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


async def measure(url: str, runs: int, *, live: bool = True, only_stats: bool = False) -> None:
    from aiohttp import web
    from aiohttp.test_utils import TestClient, TestServer

    from bot.dashboard import COOKIE, Dashboard
    from bot.export_jobs import ExportJobs
    from bot.i18n import translator
    from bot.runtime import FloodGuard, Kurasi
    from db.dashboard import open_session
    from db.engine import make_engine, make_sessionmaker
    from db.models import User
    from db.stats import collect
    from handlers.features.stats import stats_text
    from handlers.kit.context import FlowSettings
    from handlers.kit.events import Command, Incoming, Reply, Sender

    engine = make_engine(url)
    sessionmaker = make_sessionmaker(engine)

    async def stats_once() -> None:
        async with sessionmaker() as session:
            figures = await collect(session, now=NOW)
        stats_text(translator("id"), figures)

    if live:
        p50, p99 = await _timed(runs, stats_once)
        print(f"kurasi stats --live (collect + text)   p50 {p50:7.1f} ms   p99 {p99:7.1f} ms")

    # The scheduler's tick computes the figures into the snapshot once per interval ...
    from bot.stats_snapshot import refresh_stats
    from handlers.features.stats import figures

    tick = timedelta(seconds=60)
    moment = [NOW]
    ticker = Kurasi(sessionmaker=sessionmaker, clock=lambda: moment[0])
    computes = []
    for _ in range(max(3, min(runs, 5))):
        moment[0] += tick
        started = time.perf_counter()
        assert await refresh_stats(ticker, timezone="Asia/Jakarta", tick=tick)
        computes.append((time.perf_counter() - started) * 1000)
    print(
        f"tick phase stats (claim + collect + store)   min {min(computes):7.1f} ms   "
        f"median {statistics.median(computes):7.1f} ms   max {max(computes):7.1f} ms"
    )
    started = time.perf_counter()
    assert not await refresh_stats(ticker, timezone="Asia/Jakarta", tick=tick)
    print(f"tick phase stats, another worker in the interval   {_ms(started):7.1f} ms")

    # ... and `kurasi stats` (and /statistik) read it.
    async def snapshot_once() -> None:
        async with sessionmaker() as session:
            read, stored = await figures(
                session, now=moment[0], timezone="Asia/Jakarta", max_age=2 * tick
            )
        assert stored
        stats_text(translator("id"), read, as_of=True)

    p50, p99 = await _timed(runs, snapshot_once)
    print(f"kurasi stats (snapshot read + text)   p50 {p50:7.1f} ms   p99 {p99:7.1f} ms")
    async with sessionmaker() as session:
        size = await session.scalar(text("SELECT length(stats::text) FROM stats_snapshots"))
    print(f"snapshot size {size / 1000:.1f} kB as JSON text")
    await _command(url, sessionmaker, runs=min(runs, 10))
    if only_stats:
        await engine.dispose()
        return

    async with sessionmaker() as session, session.begin():
        admin = User(channel="telegram", external_id=ADMIN, language="id", reminder_optouts=[])
        session.add(admin)
        await session.flush()
        secret = await open_session(session, user_id=admin.id, now=NOW, ttl=timedelta(days=1))
    settings = FlowSettings(review_channel="telegram", admin_ids=frozenset({ADMIN}))
    clock_now = [NOW]
    dashboard = Dashboard(sessionmaker, settings, tick_seconds=60, clock=lambda: clock_now[0])
    app = web.Application()
    dashboard.register(app)
    async with TestClient(TestServer(app), cookies={COOKIE: secret}) as client:
        for path in ("/dasbor", "/dasbor/klaster", "/dasbor/kurator", "/dasbor/ekspor"):
            for query in ("lang=id", "lang=en&sektor=food&wilayah=35.07"):
                clock_now[0] += timedelta(minutes=2)  # a new tick: figures computed afresh
                started = time.perf_counter()
                response = await client.get(f"{path}?{query}")
                first = (time.perf_counter() - started) * 1000
                assert response.status == 200, (path, response.status)

                async def again(path: str = path, query: str = query) -> None:
                    r = await client.get(f"{path}?{query}")
                    await r.read()

                p50, p99 = await _timed(runs, again)
                print(
                    f"{path + '?' + query:<48} first of a tick {first:7.1f} ms   "
                    f"warm p50 {p50:6.1f} ms   p99 {p99:6.1f} ms"
                )
        for name in ("tiles", "sectors", "matrix", "funnel", "ages", "times"):
            started = time.perf_counter()
            response = await client.get(f"/dasbor/grafik/{name}.png?lang=id")
            await response.read()
            print(f"chart {name:<8} drawn in {(time.perf_counter() - started) * 1000:7.1f} ms")

    # /ekspor: the update is answered at once, the job runs behind it.
    kurasi = Kurasi(
        sessionmaker=sessionmaker,
        clock=lambda: NOW,
        flow_settings=settings,
        debounce_seconds=60,
        flood=FloodGuard(limit=10_000),
    )
    jobs = ExportJobs(kurasi, progress_every=3.0)
    from dataclasses import replace

    kurasi.flow_settings = replace(settings, exports=jobs)

    class Quiet:
        name = "telegram"

        def __init__(self) -> None:
            self.files: list[tuple[str, int]] = []

        async def fetch_media(self, media: Any) -> bytes:
            return b""

        async def deliver(self, chat_id: str, replies: Any, *, origin: Any = None) -> None:
            pass

        async def post(self, chat_id: str, reply: Reply) -> list[str]:
            if reply.attachment is not None:
                self.files.append((reply.attachment.filename, len(reply.attachment.data)))
            return ["1"]

    quiet = Quiet()
    kurasi.add_channel(quiet)  # type: ignore[arg-type]
    incoming = Incoming(
        sender=Sender(channel="telegram", external_id=ADMIN, display_name="Admin"),
        chat_id=ADMIN,
        event=Command(name="ekspor", args="produk"),
        update_key=f"bench-{uuid.uuid4().hex}",
    )
    started = time.perf_counter()
    await kurasi.handle(incoming, quiet)  # type: ignore[arg-type]
    answered = (time.perf_counter() - started) * 1000
    await jobs.drain()
    job = time.perf_counter() - started
    print(
        f"/ekspor produk answered in {answered:.0f} ms; the job sent "
        f"{', '.join(f'{n} ({b / 1e6:.1f} MB)' for n, b in quiet.files)} in {job:.1f} s"
    )
    await engine.dispose()


async def _command(url: str, sessionmaker: Any, *, runs: int) -> None:
    """`kurasi stats` as a person runs it: a new process (start, imports, the schema check,
    the read, the text), on a snapshot the tick stored just now."""
    import tempfile

    from bot.runtime import Kurasi
    from bot.stats_snapshot import refresh_stats
    from db.base import utcnow

    ticker = Kurasi(sessionmaker=sessionmaker, clock=utcnow)
    assert await refresh_stats(ticker, timezone="Asia/Jakarta", tick=timedelta(seconds=60))
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config.toml"
        config.write_text(f'[database]\nurl = "{url}"\n', encoding="utf-8")
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            result = await asyncio.to_thread(
                subprocess.run,
                [sys.executable, "-m", "bot", "stats", "--config", str(config)],
                check=True,
                capture_output=True,
                text=True,
            )
            times.append(_ms(started))
            assert "Figures as of" in result.stdout, result.stdout[:200]
    print(
        f"kurasi stats, the whole process ({runs} runs)   p50 {statistics.median(times):7.1f} ms"
        f"   max {max(times):7.1f} ms"
    )


def exports(url: str) -> None:
    script = Path(__file__).with_name("export_memory.py")
    print("export      format  rows     idle MB  peak MB  above idle MB  seconds  file MB")
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        for what in ("businesses", "products", "reviews"):
            for fmt in ("csv", "xlsx"):
                out = Path(tmp) / f"{what}.{fmt}"
                result = subprocess.run(  # noqa: S603  (our own script)
                    [sys.executable, str(script), "--child", url, what, fmt, str(out)],
                    check=True,
                    capture_output=True,
                    text=True,
                )
                count, idle, peak, seconds = result.stdout.split()
                size = out.stat().st_size / 1e6
                print(
                    f"{what:<11} {fmt:<7} {count:<8} {float(idle):>7.1f}  {float(peak):>7.1f}  "
                    f"{float(peak) - float(idle):>13.1f}  {float(seconds):>7.1f}  {size:>7.1f}"
                )
                out.unlink()


async def create(server: str) -> str:
    from sqlalchemy.ext.asyncio import create_async_engine

    name = f"kurasi_cluster_{uuid.uuid4().hex[:8]}"
    admin = create_async_engine(server, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()
    return make_url(server).set(database=name).render_as_string(hide_password=False)


async def drop(server: str, url: str) -> None:
    from sqlalchemy.ext.asyncio import create_async_engine

    admin = create_async_engine(server, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    await admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--businesses", type=int, default=100_000)
    parser.add_argument("--products", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--no-exports", action="store_true")
    parser.add_argument(
        "--no-live", action="store_true", help="skip computing the figures on every call"
    )
    parser.add_argument(
        "--only-stats", action="store_true", help="the statistics only (no pages, no exports)"
    )
    args = parser.parse_args()
    url = asyncio.run(create(args.url))
    try:
        started = time.perf_counter()
        asyncio.run(fill(url, args.businesses, args.products))
        print(
            f"filled {args.businesses} businesses, {args.products} products "
            f"in {time.perf_counter() - started:.0f} s"
        )
        asyncio.run(measure(url, args.runs, live=not args.no_live, only_stats=args.only_stats))
        if not args.no_exports and not args.only_stats:
            exports(url)
    finally:
        asyncio.run(drop(args.url, url))


if __name__ == "__main__":
    main()
