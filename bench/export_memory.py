"""Peak memory of the exports: 100,000 rows each of businesses, products and reviews.

    .venv/bin/python bench/export_memory.py [--rows 100000] [--database-url URL]

Fills a fresh database (SQLite file in a temporary folder unless --database-url names an
empty PostgreSQL database), then runs each export (CSV and XLSX) in a child process and prints
its peak resident memory (VmHWM) above the child's baseline after imports, the time taken and
the file size. The budget is 64 MB above that baseline.
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

BUDGET_MB = 64


def _vm(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(field)


async def fill(url: str, rows: int) -> None:
    from sqlalchemy import insert

    from db.engine import make_engine
    from db.migrate import upgrade
    from db.models import Business, Product, Review, User

    engine = make_engine(url)
    await upgrade(engine)
    now = datetime(2026, 11, 1, tzinfo=UTC)
    sectors = ("food", "fashion", "handicraft", "furniture", "agribusiness", "spa")
    chunk = 5000
    async with engine.begin() as conn:
        for start in range(1, rows + 1, chunk):
            ids = range(start, min(start + chunk, rows + 1))
            await conn.execute(
                insert(User.__table__),
                [
                    {
                        "id": i,
                        "channel": "telegram",
                        "external_id": str(10_000_000 + i),
                        "display_name": f"Produsen {i}",
                        "is_admin": False,
                        "reminder_optouts": [],
                        "created_at": now,
                        "updated_at": now,
                    }
                    for i in ids
                ],
            )
            await conn.execute(
                insert(Business.__table__),
                [
                    {
                        "id": i,
                        "owner_id": i,
                        "name": f"UD Usaha Maju Bersama {i}",
                        "owner_name": f"Ibu Siti Rahayu {i}",
                        "phone": f"+62812{i:08d}",
                        "region_code": f"35.{(i % 29) + 1:02d}",
                        "sector": sectors[i % len(sectors)],
                        "nib": f"{i:013d}",
                        "has_nib": True,
                        "legal_docs": ["pirt", "halal"],
                        "capacity_amount": 500,
                        "capacity_unit": "pcs",
                        "export_markets": ["SG", "MY"],
                        "registered_at": now,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for i in ids
                ],
            )
            await conn.execute(
                insert(Product.__table__),
                [
                    {
                        "id": i,
                        "business_id": i,
                        "name": f"Keripik Tempe Renyah Rasa Original {i}",
                        "sector": sectors[i % len(sectors)],
                        "description": "Keripik tempe renyah dari kedelai lokal pilihan. " * 3,
                        "price": 25_000,
                        "unit": "pack",
                        "min_order": 10,
                        "capacity": 500,
                        "materials": "tempe, tepung beras, bumbu",
                        "legal_docs": ["pirt", "halal"],
                        "status": "approved",
                        "round": 1,
                        "version": 3,
                        "submitted_at": now,
                        "precheck": [],
                        "created_at": now,
                        "updated_at": now,
                    }
                    for i in ids
                ],
            )
            await conn.execute(
                insert(Review.__table__),
                [
                    {
                        "id": i,
                        "product_id": i,
                        "round": 1,
                        "channel": "telegram",
                        "chat_id": "-100123",
                        "snapshot": {},
                        "curator_name": "Kurator Ani",
                        "claimed_at": now + timedelta(hours=2),
                        "scores": {"quality": 3, "packaging": 2, "label": 3, "price": 2},
                        "grade": "A",
                        "decision": "approved",
                        "reasons": [],
                        "override": False,
                        "decided_at": now + timedelta(hours=5),
                        "created_at": now,
                    }
                    for i in ids
                ],
            )
    await engine.dispose()


async def child(url: str, what: str, fmt: str, out: str) -> None:
    from db.engine import make_engine, make_sessionmaker
    from db.exports import write_export

    engine = make_engine(url)
    sessionmaker = make_sessionmaker(engine)
    async with sessionmaker() as session:  # connect first: the baseline includes the driver
        await session.connection()
    import openpyxl  # noqa: F401  (imported in the baseline too)

    baseline = _vm("VmRSS")
    started = time.perf_counter()
    async with sessionmaker() as session, session.begin():
        fh = await asyncio.to_thread(Path(out).open, "wb")
        try:
            count = await write_export(session, what, fmt, fh)  # type: ignore[arg-type]
        finally:
            fh.close()
    elapsed = time.perf_counter() - started
    peak = _vm("VmHWM")
    await engine.dispose()
    print(f"{count}\t{baseline:.1f}\t{peak:.1f}\t{elapsed:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--database-url")
    parser.add_argument("--child", nargs=4, metavar=("URL", "WHAT", "FORMAT", "OUT"))
    args = parser.parse_args()
    if args.child:
        asyncio.run(child(*args.child))
        return
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{tmp}/bench.db"
        started = time.perf_counter()
        asyncio.run(fill(url, args.rows))
        took = time.perf_counter() - started
        print(f"filled {args.rows} rows per table in {took:.0f} s ({url.split(':')[0]})")
        print(
            "export      format  rows     baseline MB  peak MB  above baseline MB  seconds  file MB"
        )
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
                    f"{what:<11} {fmt:<7} {count:<8} {float(baseline):>11.1f}  "
                    f"{float(peak):>7.1f}  {above:>17.1f}  {float(seconds):>7.1f}  {size:>7.1f}"
                )
        verdict = "within" if worst <= BUDGET_MB else "OVER"
        print(f"worst: {worst:.1f} MB above baseline: {verdict} the {BUDGET_MB} MB budget")


if __name__ == "__main__":
    main()
