"""The export catalogue at 10,000 and 100,000 approved products (PostgreSQL).

    .venv/bin/python -m bench.catalogue [--products 10000,100000] [--seconds 5]
        [--url postgresql+asyncpg://postgres@127.0.0.1:5432/test]

For each size, in a database of its own next to --url: fills it, then in a child process
(so its peak RSS is the build's own) builds the static site from scratch (four languages:
listing, sector and detail pages, sitemap, catalogue.json), approves one more product and
rebuilds incrementally; prints times and the child's peak RSS (VmHWM). Then starts one
worker process serving the live pages (make_http_app + Catalogue, as `kurasi run` does) and
loads it with 8 and 50 concurrent clients for --seconds each, listing pages and detail pages
separately: p50/p99 and requests/s. The load generator runs beside the worker on the same
cores. Photos: every product shares one picture, so the build measures pages, not JPEG
resizing (sizes are made once per picture and kept; the cost of one is printed too).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TARGETS = (
    "targets: 10,000 built <= 60 s; 100,000 completes with RSS <= 300 MB; incremental <= 2 s; "
    "live p99 < 50 ms and >= 300 req/s at 100,000"
)


def _vm(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(field)


async def fill(url: str, n: int, media: Path) -> None:
    from db.engine import make_engine, make_sessionmaker
    from db.media_store import MediaStore
    from db.migrate import upgrade
    from tests.catalogue_data import approved_products

    engine = make_engine(url)
    await upgrade(engine)
    sessionmaker = make_sessionmaker(engine)
    store = MediaStore(media)
    step = 10_000
    for start in range(0, n, step):
        async with sessionmaker() as session, session.begin():
            await approved_products(
                session, store, min(step, n - start), start=start, batch=2000,
                materials="tempe, tepung beras, bumbu", shelf_life_days=180,
            )  # fmt: skip
    async with engine.connect() as conn:  # as autovacuum would after a load
        await conn.exec_driver_sql("ANALYZE")
        await conn.commit()
    await engine.dispose()


async def build_child(url: str, out: str, media: str) -> None:
    from bot.catalogue_site.render import Pages, Rates
    from bot.catalogue_site.static import Site
    from db.base import utcnow
    from db.engine import make_engine, make_sessionmaker
    from db.media_store import MediaStore
    from tests.catalogue_data import approved_products

    engine = make_engine(url)
    sessionmaker = make_sessionmaker(engine)
    async with sessionmaker() as session:
        await session.connection()
    baseline = _vm("VmRSS")
    store = MediaStore(Path(media))
    rates = Rates(date="2026-12-01", per_unit={"USD": 16000.0, "JPY": 107.0, "CNY": 2250.0})
    site = Site(Path(out), store, Path(media) / "thumbs", Pages(rates), per_page=24)
    started, cpu = time.perf_counter(), time.process_time()
    async with sessionmaker() as session:
        full = await site.build(session, now=utcnow())
    full_s = time.perf_counter() - started
    full_cpu = time.process_time() - cpu
    full_peak = _vm("VmHWM")
    async with sessionmaker() as session, session.begin():
        await approved_products(session, store, 1, start=10_000_000)
    started = time.perf_counter()
    async with sessionmaker() as session:
        inc = await site.build(session, now=utcnow())
    inc_s = time.perf_counter() - started
    await engine.dispose()
    files = sum(1 for _ in Path(out).rglob("*") if _.is_file())  # noqa: ASYNC240 (done)
    print(
        f"{full.products}\t{full_s:.1f}\t{full.written}\t{files}\t{baseline:.0f}\t{full_peak:.0f}"
        f"\t{inc_s:.2f}\t{inc.written}\t{_vm('VmHWM'):.0f}\t{full_cpu:.1f}"
    )


def serve_child(url: str, port: str, media: str) -> None:
    from aiohttp import web

    from bot.catalogue_site.live import Catalogue
    from bot.catalogue_site.render import Rates
    from bot.http import make_http_app
    from db.engine import make_engine, make_sessionmaker
    from db.media_store import MediaStore

    async def run() -> None:
        engine = make_engine(url, pool_size=15)
        rates = Rates(date="2026-12-01", per_unit={"USD": 16000.0, "JPY": 107.0, "CNY": 2250.0})
        catalogue = Catalogue(
            make_sessionmaker(engine), MediaStore(Path(media)), Path(media) / "thumbs", rates=rates
        )
        runner = web.AppRunner(make_http_app(engine, catalogue=catalogue), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", int(port)).start()
        print("ready", flush=True)
        await asyncio.Event().wait()

    import gc

    gc.collect()
    gc.freeze()
    asyncio.run(run())


async def load(
    base: str, paths: list[str], concurrency: int, seconds: float
) -> tuple[float, float, float, int]:
    import aiohttp

    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(
        connector=connector, headers={"Accept-Encoding": "gzip"}
    ) as http:

        async def client(seed: int) -> None:
            nonlocal errors
            rng = random.Random(seed)  # noqa: S311 (a load pattern)
            while time.perf_counter() < deadline:
                path = rng.choice(paths)
                t0 = time.perf_counter()
                async with http.get(base + path, allow_redirects=False) as resp:
                    await resp.read()
                    if resp.status != 200:
                        errors += 1
                latencies.append(time.perf_counter() - t0)

        started = time.perf_counter()
        await asyncio.gather(*(client(i) for i in range(concurrency)))
        took = time.perf_counter() - started
    latencies.sort()

    def q(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    return q(0.5), q(0.99), len(latencies) / took, errors


async def warm(base: str, paths: list[str]) -> tuple[float, float]:
    import aiohttp

    took = []
    async with aiohttp.ClientSession(headers={"Accept-Encoding": "gzip"}) as http:
        for path in paths:
            t0 = time.perf_counter()
            async with http.get(base + path, allow_redirects=False) as resp:
                await resp.read()
            took.append((time.perf_counter() - t0) * 1000)
    took.sort()
    return took[len(took) // 2], took[min(len(took) - 1, int(0.99 * len(took)))]


async def live(url: str, media: Path, ids: list[int], seconds: float) -> None:
    from tests.bot.processes import free_port

    port = free_port()
    proc = subprocess.Popen(  # noqa: S603, ASYNC220  (our own script, read in a thread)
        [sys.executable, "-m", "bench.catalogue", "--serve", url, str(port), str(media)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        await asyncio.to_thread(proc.stdout.readline)
        base = f"http://127.0.0.1:{port}"
        langs = ("id", "en", "ja", "zh-Hans")
        listing = [
            f"/katalog?lang={lang}&hal={page}" + (f"&sektor={sector}" if sector else "")
            for lang in langs
            for page in range(1, 11)
            for sector in ("", "food", "fashion", "handicraft", "furniture")
        ]
        rng = random.Random(1)  # noqa: S311 (a load pattern)
        detail = [
            f"/katalog/produk/{pid}-produk-{pid - ids[0]}?lang={rng.choice(langs)}"
            for pid in rng.sample(ids[:-1], min(1000, len(ids) - 1))  # not the extra one
        ]
        print("live pages, one worker process (load generator on the same 2 cores):")
        for name, paths in (("listing", listing), ("detail", detail)):
            # Each page once, one at a time: a page drawn for the first time since the last
            # change (after an approval every listing page is, a detail page only its own).
            cold = await warm(base, paths)
            print(f"  {name}: first draw p50 {cold[0]:.1f} ms, p99 {cold[1]:.1f} ms")
        print("  pages     clients  p50 ms  p99 ms  req/s  errors  (drawn pages, from the cache)")
        for name, paths in (("listing", listing), ("detail", detail)):
            for concurrency in (8, 50):
                p50, p99, rps, errors = await load(base, paths, concurrency, seconds)
                figures = f"{p50:>6.1f}  {p99:>6.1f}  {rps:>5.0f}  {errors:>6}"
                print(f"  {name:<9} {concurrency:>7}  {figures}")
        search = [f"/katalog?q=produk+{rng.randrange(len(ids))}" for _ in range(20)]
        t0 = time.perf_counter()
        async with __import__("aiohttp").ClientSession() as http:
            for path in search:
                async with http.get(base + path) as resp:
                    await resp.read()
        each = (time.perf_counter() - t0) / len(search) * 1000
        print(f"  search, uncached, one at a time: {each:.0f} ms each")
        rss = Path(f"/proc/{proc.pid}/status").read_text()  # noqa: ASYNC240
        hwm = next(line for line in rss.splitlines() if line.startswith("VmHWM"))
        print(f"  worker peak RSS: {int(hwm.split()[1]) / 1024:.0f} MB")
    finally:
        proc.terminate()
        proc.wait(10)


async def _build(url: str, tmp: Path) -> None:
    result = subprocess.run(  # noqa: S603, ASYNC221  (our own script; nothing else runs)
        [
            sys.executable,
            "-m",
            "bench.catalogue",
            "--build",
            url,
            str(tmp / "site"),
            str(tmp / "media"),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    line = result.stdout.strip().splitlines()[-1]
    products, full_s, written, files, base, peak, inc_s, inc_written, peak2, cpu = line.split("\t")
    print(
        f"static build: {int(products):,} products, {full_s} s ({cpu} s CPU), "
        f"{int(written):,} files written ({int(files):,} in the folder), "
        f"peak RSS {peak} MB (baseline {base} MB)"
    )
    print(
        f"incremental after one approval: {inc_s} s, {inc_written} files written "
        f"(peak RSS {peak2} MB)"
    )


async def one_size(server: str, n: int, seconds: float, *, build: bool = True) -> None:
    from sqlalchemy import select

    from db.engine import make_engine
    from db.models import Product
    from tests.support import create_database, drop_database

    url = await create_database(server)
    tmp = Path(tempfile.mkdtemp(prefix="kurasi-bench-catalogue-"))
    try:
        started = time.perf_counter()
        await fill(url, n, tmp / "media")
        print(f"\n== {n:,} approved products (filled in {time.perf_counter() - started:.0f} s)")
        if build:
            await _build(url, tmp)
        engine = make_engine(url)
        async with engine.connect() as conn:
            ids = list((await conn.execute(select(Product.id).order_by(Product.id))).scalars())
        await engine.dispose()
        await live(url, tmp / "media", ids, seconds)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        await drop_database(server, url)


def photo_cost() -> None:
    import io

    from PIL import Image

    from bot.catalogue_site.photos import SIZES, resize

    buf = io.BytesIO()
    Image.effect_noise((3000, 2250), 60).convert("RGB").save(buf, "JPEG", quality=90)
    data = buf.getvalue()
    t0 = time.perf_counter()
    for side in SIZES.values():
        resize(data, side)
    print(f"making both sizes of one 3000x2250 photo: {(time.perf_counter() - t0) * 1000:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--products", default="10000,100000")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--build", nargs=3)
    parser.add_argument("--live-only", action="store_true", help="skip the static build")
    parser.add_argument("--serve", nargs=3)
    args = parser.parse_args()
    if args.build:
        asyncio.run(build_child(*args.build))
        return
    if args.serve:
        serve_child(*args.serve)
        return
    print(TARGETS)
    photo_cost()
    for n in (int(x) for x in args.products.split(",")):
        asyncio.run(one_size(args.url, n, args.seconds, build=not args.live_only))
    os.sync()


if __name__ == "__main__":
    main()
