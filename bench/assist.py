"""The curator assist against planted faults, and the photo lookup at a million hashes.

    .venv/bin/python -m bench.assist [--url postgresql+asyncpg://postgres@127.0.0.1:5432/test]
                                     [--submissions 500] [--hashes 1000000] [--lookups 300]
                                     [--radius 2 [1 ...]]

Creates (and drops) a database of its own next to --url. Part 1: 60 approved products per
sector (the price medians), then --submissions synthetic submissions, each its own business
in a random East Java regency with two generated photos (hashed by the real photo check),
half clean and half with one planted fault each, in turn: a photo copied from another
business (resized, recompressed or cropped 5 %), a P-IRT naming another regency, an expired
P-IRT, a BPOM prefix of the wrong sector, a capacity above the business's own, a price ×20.
Each is assessed as it is submitted (seeing only those before it), as the bot does. Prints
the share of faults flagged per kind and the share of clean submissions flagged.

Part 2: --hashes random 64-bit hashes inserted in bulk (generate_series; the bench drops the
photo foreign key so no photo rows are needed), then --lookups near-duplicate lookups as the
card makes them (half near a stored hash, half random): p50/p95/p99 of one lookup.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import random
import statistics
import time
import uuid
from collections import Counter
from datetime import UTC, date, datetime

from PIL import Image, ImageDraw, ImageFilter
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.assist import near_photos, store_photo_hash
from db.engine import make_engine, make_sessionmaker
from db.migrate import upgrade
from db.models import Business, Photo, Product, ProductStatus, User
from db.regions import all_regions
from handlers.features.review.assist import assess
from handlers.rules import photo_hash
from handlers.rules.photos import inspect_photo

NOW = datetime(2026, 12, 6, 3, 0, tzinfo=UTC)
TODAY = date(2026, 12, 6)
FAULTS = ("copied_photo", "wrong_regency", "expired_pirt", "bpom_sector", "capacity", "price")
SECTORS = {  # name stem, unit, typical price, shelf life
    "food": (("Keripik Tempe", "Keripik Singkong", "Kerupuk Udang", "Kopi Robusta"), 25_000),
    "spa": (("Lulur Rempah", "Sabun Sereh", "Minyak Atsiri"), 40_000),
    "furniture": (("Meja Jati", "Kursi Mahoni", "Lemari Jati"), 1_500_000),
}
REGENCIES = [r.code for r in all_regions()]


def photo(rng: random.Random) -> Image.Image:
    """A product-like picture: a background and a few soft shapes."""
    img = Image.new("RGB", (1200, 900), tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(img)
    for _ in range(rng.randrange(4, 10)):
        x, y, s = rng.randrange(1200), rng.randrange(900), rng.randrange(90, 450)
        fill = tuple(rng.randrange(256) for _ in range(3))
        shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
        shape((x - s // 2, y - s // 2, x + s // 2, y + s // 2), fill=fill)
    return img.filter(ImageFilter.GaussianBlur(2))


def jpeg(img: Image.Image, quality: int = 85) -> bytes:
    out = io.BytesIO()
    img.save(out, "JPEG", quality=quality)
    return out.getvalue()


def copied(data: bytes, how: int) -> bytes:
    img = Image.open(io.BytesIO(data)).convert("RGB")
    w, h = img.size
    if how == 0:
        return jpeg(img.resize((w * 3 // 4, h * 3 // 4)))
    if how == 1:
        return jpeg(img, quality=40)
    dx, dy = round(w * 0.025), round(h * 0.025)  # 5 % of each side in all, centred
    return jpeg(img.crop((dx, dy, w - dx, h - dy)))


def pirt(region: str, year: int, rng: random.Random) -> str:
    code = region.replace(".", "")
    return (
        f"P-IRT {rng.randrange(1, 9)}{rng.randrange(1, 17):02d}{code}"
        f"{rng.randrange(1, 99):02d}{rng.randrange(1, 9999):04d}-{year % 100:02d}"
    )


async def add_submission(
    session: AsyncSession, n: int, rng: random.Random, fault: str | None, photos: list[bytes]
) -> tuple[Product, Business, list[Photo]]:
    sector = "food" if fault in ("wrong_regency", "expired_pirt") else rng.choice(list(SECTORS))
    if fault == "bpom_sector":
        sector = rng.choice(("food", "spa"))
    names, base_price = SECTORS[sector]
    region = rng.choice(REGENCIES)
    user = User(channel="bench", external_id=f"u{n}", language="id", created_at=NOW)
    session.add(user)
    await session.flush()
    capacity = rng.randrange(300, 5000)
    business = Business(
        owner_id=user.id,
        name=f"Usaha {n}",
        region_code=region,
        sector=sector,
        nib=f"{rng.randrange(10**12, 10**13)}",
        has_nib=True,
        capacity_amount=capacity,
        capacity_unit="pcs",
        registered_at=NOW,
        created_at=NOW,
        updated_at=NOW,
    )
    session.add(business)
    await session.flush()
    numbers: dict[str, str] = {}
    if sector == "food":
        other = rng.choice([r for r in REGENCIES if r != region])
        year = TODAY.year + rng.randrange(0, 5)
        if fault == "wrong_regency":
            numbers["pirt"] = pirt(other, year, rng)
        elif fault == "expired_pirt":
            numbers["pirt"] = pirt(region, TODAY.year - rng.randrange(1, 6), rng)
        elif fault == "bpom_sector":
            numbers["bpom"] = f"NA{rng.randrange(10**10, 10**11)}"
        else:
            numbers["pirt"] = pirt(region, year, rng)
        numbers["halal"] = f"ID{region[:2]}{rng.randrange(10**12, 10**13)}"
    elif sector == "spa":
        prefix = "MD" if fault == "bpom_sector" else rng.choice(("NA", "NB", "NC", "ND", "NE"))
        digits = 12 if prefix == "MD" else 11
        numbers["bpom"] = f"{prefix} {rng.randrange(10 ** (digits - 1), 10**digits)}"
    else:
        numbers["svlk"] = f"V-Legal {rng.randrange(10**8, 10**9)}-{rng.randrange(100, 999)}-ID"
    product_capacity = int(capacity * rng.uniform(0.2, 1.0))
    if fault == "capacity":
        product_capacity = capacity * rng.randrange(3, 50)
    price = int(base_price * rng.uniform(0.5, 2.0))
    if fault == "price":
        price *= 20
    product = Product(
        business_id=business.id,
        name=f"{rng.choice(names)} {n}",
        sector=sector,
        description="Produk sintetis untuk benchmark kurasi.",
        price=price,
        unit="pcs",
        min_order=max(1, product_capacity // rng.randrange(10, 50)),
        capacity=product_capacity,
        materials="kayu jati" if sector == "furniture" else "bahan lokal",
        shelf_life_days=rng.randrange(90, 365) if sector == "food" else None,
        legal_docs=sorted(numbers),
        legal_numbers=numbers,
        status=ProductStatus.submitted,
        submitted_at=NOW,
        created_at=NOW,
        updated_at=NOW,
    )
    session.add(product)
    await session.flush()
    stored = []
    for position, data in enumerate(photos, start=1):
        report = inspect_photo(data)
        assert report.ok and report.phash is not None, report
        row = Photo(
            product_id=product.id,
            position=position,
            sha256=report.sha256,
            store_key=report.sha256,
            mime="image/jpeg",
            width=report.width,
            height=report.height,
            size=report.size,
            hints=[],
            channel_ids={},
            created_at=NOW,
        )
        session.add(row)
        await session.flush()
        await store_photo_hash(
            session,
            photo_id=row.id,
            product_id=product.id,
            business_id=business.id,
            value=photo_hash.to_signed(report.phash),
        )
        stored.append(row)
    return product, business, stored


async def approved_baseline(session: AsyncSession, rng: random.Random) -> None:
    user = User(channel="bench", external_id="baseline", language="id", created_at=NOW)
    session.add(user)
    await session.flush()
    business = Business(owner_id=user.id, name="Baseline", created_at=NOW, updated_at=NOW)
    session.add(business)
    await session.flush()
    for sector, (names, base) in SECTORS.items():
        for i in range(60):
            session.add(
                Product(
                    business_id=business.id,
                    name=f"{names[0]} approved {i}",
                    sector=sector,
                    price=int(base * rng.uniform(0.5, 2.0)),
                    unit="pcs",
                    legal_numbers={},
                    status=ProductStatus.approved,
                    created_at=NOW,
                    updated_at=NOW,
                )
            )
    await session.flush()


EXPECTED = {
    "copied_photo": "photo_copy",
    "wrong_regency": "legal:pirt:pirt_region",
    "expired_pirt": "legal:pirt:expired",
    "bpom_sector": "legal:bpom:bpom_sector",
    "capacity": "plausibility:capacity_above_business",
    "price": "plausibility:price_vs_median",
}


async def part_one(url: str, submissions: int) -> None:
    engine = make_engine(url)
    await upgrade(engine)
    sessionmaker = make_sessionmaker(engine)
    rng = random.Random(23)  # noqa: S311 - synthetic data, not security
    planted: Counter[str] = Counter()
    caught: Counter[str] = Counter()
    clean_flagged: Counter[str] = Counter()
    clean = 0
    earlier: list[bytes] = []
    started = time.perf_counter()
    timings: list[float] = []
    async with sessionmaker() as session, session.begin():
        await approved_baseline(session, rng)
    for n in range(submissions):
        fault = FAULTS[(n // 2) % len(FAULTS)] if n % 2 else None
        if fault == "copied_photo" and not earlier:
            fault = None
        own = [jpeg(photo(rng)), jpeg(photo(rng))]
        if fault == "copied_photo":
            own[0] = copied(rng.choice(earlier), planted[fault] % 3)
        async with sessionmaker() as session, session.begin():
            product, business, photos = await add_submission(session, n, rng, fault, own)
            t0 = time.perf_counter()
            flags = (
                await assess(
                    session, product=product, business=business, photos=photos, today=TODAY
                )
            ).flags
            timings.append(time.perf_counter() - t0)
        earlier.extend(own if fault != "copied_photo" else own[1:])
        if fault is None:
            clean += 1
            clean_flagged.update(flags)
            if flags:
                clean_flagged["(submissions)"] += 1
        else:
            planted[fault] += 1
            if EXPECTED[fault] in flags:
                caught[fault] += 1
    elapsed = time.perf_counter() - started
    total_planted, total_caught = sum(planted.values()), sum(caught.values())
    print(
        f"{submissions} submissions in {elapsed:.1f} s; assessment p50 "
        f"{statistics.median(timings) * 1000:.1f} ms"
    )
    for fault in FAULTS:
        print(f"  {fault:14} {caught[fault]:3}/{planted[fault]:3} flagged")
    share = total_caught / max(total_planted, 1)
    print(f"planted faults flagged: {total_caught}/{total_planted} = {share:.1%} (target ≥ 95 %)")
    flagged = clean_flagged.pop("(submissions)", 0)
    print(
        f"clean submissions flagged: {flagged}/{clean} = {flagged / max(clean, 1):.1%} "
        f"(target ≤ 2 %) {dict(clean_flagged) or ''}"
    )
    await engine.dispose()


async def part_two(url: str, hashes: int, lookups: int, radii: list[int]) -> None:
    engine = make_engine(url)
    sessionmaker = make_sessionmaker(engine)
    rng = random.Random(64)  # noqa: S311 - synthetic data, not security
    async with engine.begin() as conn:
        await conn.execute(
            text("ALTER TABLE photo_hashes DROP CONSTRAINT fk_photo_hashes_photo_id_photos")
        )
        product, business = (
            await conn.execute(text("SELECT id, business_id FROM products LIMIT 1"))
        ).one()
        for band in ("b0", "b1", "b2", "b3"):
            await conn.execute(text(f"DROP INDEX ix_photo_hashes_{band}"))
        started = time.perf_counter()
        await conn.execute(
            text(
                """
                INSERT INTO photo_hashes (photo_id, product_id, business_id, hash, b0, b1, b2, b3)
                SELECT 10000000 + g, :product, :business, h,
                       (h & 65535)::int, ((h >> 16) & 65535)::int,
                       ((h >> 32) & 65535)::int, ((h >> 48) & 65535)::int
                FROM (SELECT g, (floor(random() * 4294967296)::bigint << 32)
                                | floor(random() * 4294967296)::bigint AS h
                      FROM generate_series(1, :n) AS g) AS s
                """
            ),
            {"product": product, "business": business, "n": hashes},
        )
        for band in ("b0", "b1", "b2", "b3"):
            await conn.execute(
                text(
                    f"CREATE INDEX ix_photo_hashes_{band} ON photo_hashes ({band})"
                    " INCLUDE (hash, business_id, product_id, photo_id)"
                )
            )
        count = (await conn.execute(text("SELECT count(*) FROM photo_hashes"))).scalar_one()
        sample = [
            int(v)
            for v in (
                await conn.execute(
                    text("SELECT hash FROM photo_hashes WHERE photo_id % 997 = 1 LIMIT :k"),
                    {"k": lookups},
                )
            ).scalars()
        ]
    # What autovacuum does after a bulk load: statistics, and the visibility map that lets
    # the lookups read the covering indexes only.
    vacuum = make_engine(url, isolation_level="AUTOCOMMIT")
    async with vacuum.connect() as conn:
        await conn.execute(text("VACUUM ANALYZE photo_hashes"))
    await vacuum.dispose()
    stored_in = time.perf_counter() - started
    print(f"{count:,} hashes stored in {stored_in:.1f} s; {len(sample)} sampled for lookups")
    for radius in radii:
        await lookup(sessionmaker, rng, sample, count, lookups, radius)
    await engine.dispose()


async def lookup(
    sessionmaker: async_sessionmaker[AsyncSession],
    rng: random.Random,
    sample: list[int],
    count: int,
    lookups: int,
    radius: int,
) -> None:
    times: list[float] = []
    found = 0
    for i in range(lookups):
        if i % 2 and sample:
            value = photo_hash.to_unsigned(sample[i % len(sample)])
            for bit in rng.sample(range(64), rng.randrange(1, 9)):
                value ^= 1 << bit
        else:
            value = rng.getrandbits(64)
        signed = photo_hash.to_signed(value)
        probes = [photo_hash.probes(b, radius) for b in photo_hash.bands(signed)]
        async with sessionmaker() as session:
            t0 = time.perf_counter()
            near = await near_photos(
                session,
                value=signed,
                probes=probes,
                max_distance=photo_hash.DISTANCE,
                exclude_business_id=None,
                limit=1,
            )
            times.append(time.perf_counter() - t0)
        found += bool(near)
    times.sort()
    q = [times[int(len(times) * p) - 1] * 1000 for p in (0.5, 0.95, 0.99)]
    print(
        f"photo lookup (bands probed within {radius} bits) at {count:,} hashes: "
        f"p50 {q[0]:.1f} ms, p95 {q[1]:.1f} ms, "
        f"p99 {q[2]:.1f} ms (target p99 < 50 ms); {found}/{lookups} found a match "
        f"(half were within 1-8 bits of a stored hash)"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--submissions", type=int, default=500)
    parser.add_argument("--hashes", type=int, default=1_000_000)
    parser.add_argument("--lookups", type=int, default=300)
    parser.add_argument("--radius", type=int, nargs="+", default=[photo_hash.PROBE_RADIUS])
    args = parser.parse_args()
    server = make_url(args.url)
    name = f"kurasi_bench_{uuid.uuid4().hex[:8]}"
    admin = make_engine(args.url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = server.set(database=name).render_as_string(hide_password=False)
    try:
        await part_one(url, args.submissions)
        if args.hashes:
            await part_two(url, args.hashes, args.lookups, args.radius)
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


if __name__ == "__main__":
    asyncio.run(main())
