"""One scheduler tick on a province-sized database: seeds, times each phase, prints plans.

    .venv/bin/python -m bench.scale [--url postgresql+asyncpg://postgres@127.0.0.1:5432/test]
                                    [--n 100000] [--send-budget 10]

Creates (and drops) a database of its own next to --url. Seeds --n producers, each with a
business and a product; 10 % of them due for something this tick (idle drafts, unanswered
revision requests, unclaimed submissions, a fair's reminder), 1 % holding a stale claim,
--n sent notifications and --n update ids. Then runs one tick phase by phase, as the
scheduler does, with a channel that sends nowhere, and prints each scheduler query's plan
(EXPLAIN ANALYZE, rolled back).
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.notify import Notifier
from bot.runtime import Kurasi
from bot.scheduler import forget_old_updates, release_stale_claims, route_waiting_cards
from db.engine import make_engine, make_sessionmaker
from db.explain import explain
from db.migrate import upgrade
from db.notifications import tune_for_planning
from handlers.features.reminders.explain import scheduler_queries
from handlers.kit.events import Reply
from handlers.rules.schedule import ReminderSchedule

NOW = datetime(2026, 11, 2, 3, 0, tzinfo=UTC)  # Monday 10:00 in Jakarta: not quiet

SEED = """
INSERT INTO users (id, channel, external_id, language, is_admin, reminder_optouts,
                   created_at, updated_at)
SELECT g, 'telegram', (700000000 + g)::text, 'id', false, '[]', :old, :old
FROM generate_series(1, :n) g;

INSERT INTO businesses (id, owner_id, name, sector, region_code, created_at, updated_at)
SELECT g, g, 'UD Usaha ' || g, (ARRAY['food','fashion','crafts','beverage'])[1 + g % 4],
       '35.07', :old, :old
FROM generate_series(1, :n) g;

-- g % 100: 0-3 drafts idle 4 days (due), 4-5 revisions decided 6 days ago (due),
-- 6-7 submitted 4 days ago, unclaimed (due), 8 claimed 3 days ago (stale), 9 fresh drafts,
-- the rest approved (2 % in crafts, which hears about the fair: 2 % more due).
INSERT INTO products (id, business_id, name, sector, status, round, version, precheck,
                      legal_numbers, flags, created_at, updated_at, submitted_at)
SELECT g, g, 'Produk ' || g,
       CASE WHEN g % 100 IN (10, 11) THEN 'crafts'
            ELSE (ARRAY['food','fashion','beverage'])[1 + g % 3] END,
       CASE WHEN g % 100 < 4 THEN 'draft' WHEN g % 100 < 6 THEN 'revision_requested'
            WHEN g % 100 < 8 THEN 'submitted' WHEN g % 100 < 9 THEN 'in_review'
            WHEN g % 100 < 10 THEN 'draft' ELSE 'approved' END,
       1, 1, '[]', '{}', '[]', :old,
       CASE WHEN g % 100 < 4 THEN :now - interval '4 days'
            WHEN g % 100 < 10 AND g % 100 >= 9 THEN :now - interval '1 hour'
            ELSE :now - interval '6 days' END,
       CASE WHEN g % 100 >= 4 AND g % 100 < 9 OR g % 100 >= 10 THEN :now - interval '4 days' END
FROM generate_series(1, :n) g;

INSERT INTO reviews (product_id, round, channel, chat_id, snapshot, scores, reasons,
                     override, decision, decided_at, claimed_at, touched_at, curator_name,
                     created_at)
SELECT g, 1, 'telegram', '-100' || (1 + g % 4), '{}', '{}', '["photos"]', false,
       CASE WHEN g % 100 < 6 THEN 'revision_requested' WHEN g % 100 >= 10 THEN 'approved' END,
       CASE WHEN g % 100 < 6 OR g % 100 >= 10 THEN :now - interval '6 days' END,
       CASE WHEN g % 100 = 8 THEN :now - interval '3 days' END,
       CASE WHEN g % 100 = 8 THEN :now - interval '3 days' END,
       CASE WHEN g % 100 = 8 THEN 'Kurator' END,
       :now - interval '7 days'
FROM generate_series(1, :n) g WHERE g % 100 >= 4 AND g % 100 != 9;

INSERT INTO notifications (kind, dedupe_key, user_id, channel, chat_id, subject_id, due_at,
                           sent_at, attempts, result, created_at)
SELECT 'draft', 'old:' || g, g, 'telegram', (700000000 + g)::text, g,
       :now - interval '30 days', :now - interval '30 days', 0, 'sent', :old
FROM generate_series(1, :n) g;

INSERT INTO processed_updates (channel, update_key, processed_at)
SELECT 'telegram', g::text, :now - (g % 14) * interval '1 day' FROM generate_series(1, :n) g;

INSERT INTO fairs (name, place, country, start_date, end_date, sectors, created_at)
VALUES ('Inacraft', 'JCC Senayan', 'Indonesia', DATE '2026-11-09', DATE '2026-11-13',
        '["crafts"]', :old);

SELECT setval('users_id_seq', :n); SELECT setval('businesses_id_seq', :n);
SELECT setval('products_id_seq', :n);
"""


@dataclass
class NowhereChannel:
    """Sends nowhere, counts what it was given."""

    name: str = "telegram"
    posted: int = 0
    delivered: int = 0
    chats: set[str] = field(default_factory=set)

    async def post(self, chat_id: str, reply: Reply) -> None:
        self.posted += 1

    async def deliver(self, chat_id: str, replies: list[Reply], **_kw: object) -> None:
        self.delivered += len(replies)


async def seed(url: str, n: int) -> None:
    engine = make_engine(url)
    try:
        await upgrade(engine)
        async with engine.begin() as conn:
            moment = f"TIMESTAMPTZ '{NOW.isoformat()}'"
            sql = SEED.replace(":now", moment).replace(":old", moment).replace(":n", str(n))
            for statement in sql.split(";"):
                if statement.strip() and not all(
                    line.strip().startswith("--") or not line.strip()
                    for line in statement.splitlines()
                ):
                    await conn.exec_driver_sql(statement)
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text("ANALYZE"))
    finally:
        await engine.dispose()


async def tick(url: str, budget: float) -> None:
    engine = make_engine(url)
    sessionmaker = make_sessionmaker(engine)
    app = Kurasi(sessionmaker=sessionmaker, clock=lambda: NOW)
    channel = NowhereChannel()
    app.add_channel(channel)  # type: ignore[arg-type]
    notifier = Notifier(
        app, schedule=ReminderSchedule(), timezone="Asia/Jakarta", admin_channel="telegram"
    )
    phases: list[tuple[str, float, str]] = []

    async def timed(name: str, work, describe) -> None:  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        result = await work
        phases.append((name, time.perf_counter() - started, describe(result)))

    try:
        await timed(
            "release stale claims",
            release_stale_claims(app, claim_timeout=timedelta(hours=48), language="id"),
            lambda r: f"{r} released (at most 100 a tick)",
        )
        await timed("forget old update ids", forget_old_updates(app), lambda r: f"{r} deleted")
        await timed("route waiting cards", route_waiting_cards(app), lambda r: f"{r} routed")
        await timed("plan reminders", notifier.plan_due(), lambda r: f"{r} planned")
        await timed("plan again (all planned)", notifier.plan_due(), lambda r: f"{r} planned")
        await timed(
            f"send reminders ({budget:g} s budget)",
            notifier.send_due(budget=timedelta(seconds=budget)),
            lambda r: f"{r} sent",
        )
        total = sum(seconds for _n, seconds, _d in phases)
        print("\nOne scheduler tick, by phase")
        for name, seconds, describe in phases:
            print(f"  {name:<34} {seconds * 1000:>9.0f} ms   {describe}")
        print(f"  {'total':<34} {total * 1000:>9.0f} ms")
        send_seconds = phases[-1][1]
        print(f"  sending rate: {channel.posted / send_seconds:.0f} notifications/s (no network)")

        print("\nPlans (EXPLAIN ANALYZE on the seeded data, each rolled back)")
        queries = scheduler_queries(now=NOW + timedelta(minutes=1), today=NOW.date())
        for name, stmt in queries.items():
            async with sessionmaker() as session:
                await session.begin()
                await tune_for_planning(session)  # as the tick's planning transaction does
                lines = await explain(session, stmt, analyze=True)
                await session.rollback()
            kinds = sorted({w for line in lines for w in _scan_kinds(line)})
            print(f"\n-- {name}: {', '.join(kinds) or 'no scan'}")
            for line in lines:
                print("   " + line)
    finally:
        await app.drain()
        await engine.dispose()


def _scan_kinds(line: str) -> list[str]:
    for kind in ("Index Only Scan", "Bitmap Index Scan", "Index Scan", "Seq Scan"):
        if kind in line:
            return [kind]
    return []


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--send-budget", type=float, default=10.0)
    args = parser.parse_args()
    server = make_url(args.url)
    name = f"kurasi_bench_{uuid.uuid4().hex[:8]}"
    admin = make_engine(args.url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = server.set(database=name).render_as_string(hide_password=False)
    try:
        started = time.perf_counter()
        await seed(url, args.n)
        print(f"seeded {args.n:,} producers in {time.perf_counter() - started:.1f} s ({name})")
        await tick(url, args.send_budget)
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


if __name__ == "__main__":
    asyncio.run(main())
