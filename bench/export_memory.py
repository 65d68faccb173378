"""Peak memory and time of the exports, as the bot writes them (labels in Indonesian, WIB).

    .venv/bin/python bench/export_memory.py [--businesses 100000] [--products 200000]
                                            [--database-url URL]

Fills a fresh database (SQLite file in a temporary folder unless --database-url names an
empty PostgreSQL database) with the cluster bench's data (`fill`: every regency, a mix of
statuses, review rounds with written reasons, claims and decisions in the audit trail), then
runs each export (XLSX, CSV with ';' and personal data for businesses) in a child process and
prints its peak resident memory (VmHWM) above the child's idle baseline (after imports and
connecting), the time taken and the file size. The budget is 50 MB above idle.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

BUDGET_MB = 50
NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
CURATORS = 12  # user ids 1..CURATORS are curators; producers follow


def _vm(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(field)


STATUSES = (
    # (status, share in 100, the round's decision)
    ("approved", 60, "approved"),
    ("submitted", 12, None),
    ("in_review", 6, None),
    ("revision_requested", 8, "revision_requested"),
    ("rejected", 6, "rejected"),
    ("draft", 8, None),
)


def _status(i: int) -> tuple[str, str | None]:
    k = (i * 37) % 100
    for status, share, decision in STATUSES:
        if k < share:
            return status, decision
        k -= share
    return "approved", "approved"


async def fill(url: str, businesses: int, products: int | None = None) -> None:
    """`businesses` producers in all 38 regencies and `products` products (default: one
    each) with their review rounds and audit events, bulk-inserted."""
    from sqlalchemy import insert

    from db.engine import make_engine
    from db.migrate import upgrade
    from db.models import AuditEvent, Business, Product, Review, User
    from db.regions import all_regions

    products = businesses if products is None else products
    engine = make_engine(url)
    await upgrade(engine)
    start_at = NOW - timedelta(weeks=10)
    regions = [r.code for r in all_regions()]
    sectors = ("food", "fashion", "handicraft", "furniture", "agribusiness", "spa", "other")
    chunk = 5000
    async with engine.begin() as conn:
        await conn.execute(
            insert(User.__table__),
            [
                {
                    "id": c,
                    "channel": "telegram",
                    "external_id": str(5_000_000 + c),
                    "display_name": f"Kurator {c}",
                    "is_admin": False,
                    "reminder_optouts": [],
                    "created_at": start_at,
                    "updated_at": start_at,
                }
                for c in range(1, CURATORS + 1)
            ],
        )
        for first in range(1, businesses + 1, chunk):
            ids = range(first, min(first + chunk, businesses + 1))
            await conn.execute(
                insert(User.__table__),
                [
                    {
                        "id": CURATORS + i,
                        "channel": "telegram",
                        "external_id": str(10_000_000 + i),
                        "display_name": f"Produsen {i}",
                        "is_admin": False,
                        "reminder_optouts": [],
                        "created_at": start_at,
                        "updated_at": start_at,
                    }
                    for i in ids
                ],
            )
            await conn.execute(
                insert(Business.__table__),
                [
                    {
                        "id": i,
                        "owner_id": CURATORS + i,
                        "name": f"UD Usaha Maju Bersama {i}",
                        "owner_name": f"Ibu Siti Rahayu {i}",
                        "phone": f"0812{i:08d}" if i % 2 else f"+62812{i:08d}",
                        # Busy regencies and quiet ones, every one of the 38 present.
                        "region_code": regions[(i * i) % len(regions)],
                        "sector": sectors[i % len(sectors)],
                        "nib": f"{i:013d}",
                        "has_nib": True,
                        "legal_docs": ["pirt", "halal"],
                        "capacity_amount": 500,
                        "capacity_unit": "pcs",
                        "export_markets": ["SG", "MY"],
                        "registered_at": start_at + timedelta(minutes=i % 90_000),
                        "created_at": start_at,
                        "updated_at": start_at,
                    }
                    for i in ids
                ],
            )
        for first in range(1, products + 1, chunk):
            ids = range(first, min(first + chunk, products + 1))
            rows, reviews, events = [], [], []
            for i in ids:
                status, decision = _status(i)
                submitted = start_at + timedelta(minutes=(i * 7) % 95_000)
                sector = sectors[(i + i // businesses) % len(sectors)]
                rows.append(
                    {
                        "id": i,
                        "business_id": (i - 1) % businesses + 1,
                        "name": f"Keripik Tempe Renyah Rasa Original {i}",
                        "sector": sector,
                        "description": "Keripik tempe renyah dari kedelai lokal pilihan. " * 3,
                        "price": 25_000,
                        "unit": "pack",
                        "min_order": 10,
                        "capacity": 500,
                        "materials": "tempe, tepung beras, bumbu",
                        "legal_docs": ["pirt", "halal"],
                        "status": status,
                        "round": 1,
                        "version": 3,
                        "submitted_at": None if status == "draft" else submitted,
                        "precheck": [],
                        "created_at": submitted,
                        "updated_at": submitted,
                    }
                )
                if status == "draft":
                    continue
                curator = 1 + i % CURATORS
                claimed = submitted + timedelta(hours=1 + i % 20)
                decided = claimed + timedelta(hours=1 + i % 30) if decision else None
                held = status == "in_review" or decision is not None
                reviews.append(
                    {
                        "id": i,
                        "product_id": i,
                        "round": 1,
                        "channel": "telegram",
                        "chat_id": "-100123",
                        "snapshot": {},
                        "curator_user_id": curator if held else None,
                        "curator_name": f"Kurator {curator}" if held else None,
                        "claimed_at": claimed if held else None,
                        "scores": {"legal": 3, "quality": 2, "packaging": 3} if decision else {},
                        "grade": "A" if decision == "approved" else None,
                        "decision": decision,
                        "reasons": [] if decision in (None, "approved") else ["photos"],
                        "reason_text": "Foto kemasan kurang jelas, mohon foto ulang."
                        if decision in ("revision_requested", "rejected")
                        else None,
                        "override": False,
                        "decided_at": decided,
                        "created_at": submitted,
                    }
                )
                if held:
                    events.append(
                        {
                            "at": claimed,
                            "action": "claim",
                            "product_id": i,
                            "actor_user_id": curator,
                            "round": 1,
                            "sector": sector,
                        }
                    )
                if decision:
                    events.append(
                        {
                            "at": decided,
                            "action": {"approved": "approve", "rejected": "reject"}.get(
                                decision, "revise"
                            ),
                            "product_id": i,
                            "actor_user_id": curator,
                            "round": 1,
                            "sector": sector,
                            "grade": "A" if decision == "approved" else None,
                        }
                    )
            await conn.execute(insert(Product.__table__), rows)
            if reviews:
                await conn.execute(insert(Review.__table__), reviews)
            if events:
                await conn.execute(insert(AuditEvent.__table__), events)
        if url.startswith("postgresql"):
            from sqlalchemy import text

            for table in ("users", "businesses", "products", "reviews", "audit_events"):
                await conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                        f"(SELECT max(id) FROM {table}))"
                    )
                )
    if url.startswith("postgresql"):
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            from sqlalchemy import text

            await conn.execute(text("ANALYZE"))
    await engine.dispose()


async def child(url: str, what: str, fmt: str, out: str) -> None:
    from bot.i18n import translator
    from db.engine import make_engine, make_sessionmaker
    from db.exports import Style, write_export
    from handlers.features.export.labels import presenter

    engine = make_engine(url)
    sessionmaker = make_sessionmaker(engine)
    async with sessionmaker() as session:  # connect first: the baseline includes the driver
        await session.connection()
    import openpyxl  # noqa: F401  (imported in the baseline too)

    baseline = _vm("VmRSS")
    started = time.perf_counter()
    style = Style(presenter=presenter(translator("id")), delimiter=";" if fmt == "csv" else ",")
    async with sessionmaker() as session, session.begin():
        fh = await asyncio.to_thread(Path(out).open, "wb")
        try:
            count = await write_export(
                session,
                what=what,  # type: ignore[arg-type]
                fmt=fmt,  # type: ignore[arg-type]
                out=fh,
                phones=what == "businesses",
                style=style,
            )
        finally:
            fh.close()
    elapsed = time.perf_counter() - started
    peak = _vm("VmHWM")
    await engine.dispose()
    print(f"{count}\t{baseline:.1f}\t{peak:.1f}\t{elapsed:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--businesses", "--rows", type=int, default=100_000)
    parser.add_argument("--products", type=int, default=200_000)
    parser.add_argument("--database-url")
    parser.add_argument("--child", nargs=4, metavar=("URL", "WHAT", "FORMAT", "OUT"))
    args = parser.parse_args()
    if args.child:
        asyncio.run(child(*args.child))
        return
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{tmp}/bench.db"
        started = time.perf_counter()
        asyncio.run(fill(url, args.businesses, args.products))
        took = time.perf_counter() - started
        print(
            f"filled {args.businesses} businesses, {args.products} products in {took:.0f} s "
            f"({url.split(':')[0]})"
        )
        print("export      format  rows     idle MB  peak MB  above idle MB  seconds  file MB")
        worst = 0.0
        for what in ("businesses", "products", "reviews"):
            for fmt in ("csv", "xlsx"):
                out = os.path.join(tmp, f"{what}.{fmt}")
                result = subprocess.run(  # noqa: S603  (our own script)
                    [sys.executable, __file__, "--child", url, what, fmt, out],
                    check=True,
                    capture_output=True,
                    text=True,
                )
                count, baseline, peak, seconds = result.stdout.split()
                above = float(peak) - float(baseline)
                worst = max(worst, above)
                size = os.path.getsize(out) / 1024 / 1024
                print(
                    f"{what:<11} {fmt:<7} {count:<8} {float(baseline):>7.1f}  "
                    f"{float(peak):>7.1f}  {above:>13.1f}  {float(seconds):>7.1f}  {size:>7.1f}"
                )
        verdict = "within" if worst <= BUDGET_MB else "OVER"
        print(f"worst: {worst:.1f} MB above idle: {verdict} the {BUDGET_MB} MB budget")


if __name__ == "__main__":
    main()
