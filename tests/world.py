"""A small curated world for statistics, exports and the catalogue: several sectors,
regencies and review rounds at known moments, so every figure can be computed by hand.

Times are UTC; Jakarta is UTC+7. "Now" is Wednesday 25 November 2026, 10:00 in Jakarta.

| product | sector     | regency | story                                                        |
|---------|------------|---------|--------------------------------------------------------------|
| P1      | food       | 35.07   | submitted 9 Nov 03:00, claimed +2h, approved +5h (A, by C1)   |
| P2      | food       | 35.73   | 10 Nov 03:00, claimed +4h, revise +6h (C, C1); round 2 on     |
|         |            |         | 17 Nov 03:00, claimed +1h, approved +3h (B, C2)              |
| P3      | fashion    | 35.07   | 15 Nov 10:00, claimed +10h, released, claimed +20h, rejected  |
|         |            |         | +30h (no grade, C2)                                           |
| P4      | handicraft | 35.15   | 24 Nov 03:00, waiting (chat review-a)                         |
| P5      | fashion    | 35.73   | 23 Nov 03:00, claimed +1h, held (chat review-b)               |
| P6      | food       | 35.07   | a draft (submitted once, withdrawn)                           |
| -       | agribusiness | 35.78 | a producer without products                                   |
| -       | -          | -       | a half-registered business (not counted)                      |
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.media_store import MediaStore
from db.models import Business, Product, Review, User
from db.products import change_status
from db.reviews import claim, close_unclaimed_round, decide, latest_review, open_round, release
from tests.factories import producer, submitted_product

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
H = timedelta(hours=1)


@dataclass
class World:
    products: dict[str, int]
    curators: dict[str, int]
    businesses: dict[str, int]


async def _curator(session: AsyncSession, name: str) -> int:
    user = User(channel="test", external_id=f"cur-{name}", display_name=name, reminder_optouts=[])
    session.add(user)
    await session.flush()
    return user.id


async def _product(
    sessionmaker: async_sessionmaker[AsyncSession],
    store: MediaStore,
    *,
    sector: str,
    region: str,
    at: datetime,
    chat: str | None,
    name: str,
) -> int:
    product = await submitted_product(
        sessionmaker, now=at, store=store, sector=sector, chat_id=chat, name=name
    )
    async with sessionmaker() as session, session.begin():
        business = await session.get(Business, product.business_id)
        assert business is not None
        business.region_code = region
        business.name = f"UD {name}"
    return product.id


async def _step(
    sessionmaker: async_sessionmaker[AsyncSession],
    product_id: int,
    what: str,
    at: datetime,
    curator: int | None = None,
    grade: str | None = None,
) -> None:
    async with sessionmaker() as session, session.begin():
        product = await session.scalar(
            select(Product)
            .where(Product.id == product_id)
            .execution_options(populate_existing=True)
        )
        assert product is not None
        review = await latest_review(session, product_id=product_id)
        if what == "resubmit":
            assert await change_status(
                session, product_id=product_id, action="submit", expected=product.status, now=at
            )
            await session.refresh(product)
            await open_round(
                session, product=product, photos=[], channel="test", chat_id="review-a", now=at
            )
            return
        assert review is not None
        if what == "claim":
            assert curator is not None
            ok = await claim(
                session,
                review=review,
                product=product,
                curator_user_id=curator,
                curator_name="x",
                now=at,
            )
        elif what == "release":
            ok = await release(session, review=review, product=product, actor_user_id=None, now=at)
        else:
            assert curator is not None
            ok = await decide(
                session,
                review=review,
                product=product,
                action=what,
                actor_user_id=curator,
                grade=grade,
                reasons=[] if what == "approve" else ["photo"],
                reason_text=None,
                override=False,
                now=at,
            )
        assert ok, (what, product_id)


async def build_world(sessionmaker: async_sessionmaker[AsyncSession], store: MediaStore) -> World:
    async with sessionmaker() as session, session.begin():
        c1 = await _curator(session, "Ani")
        c2 = await _curator(session, "Bayu")
    p: dict[str, int] = {}
    t1 = datetime(2026, 11, 9, 3, tzinfo=UTC)
    p["P1"] = await _product(
        sessionmaker,
        store,
        sector="food",
        region="35.07",
        at=t1,
        chat="review-a",
        name="Keripik Tempe",
    )
    await _step(sessionmaker, p["P1"], "claim", t1 + 2 * H, c1)
    await _step(sessionmaker, p["P1"], "approve", t1 + 5 * H, c1, "A")

    t2 = datetime(2026, 11, 10, 3, tzinfo=UTC)
    p["P2"] = await _product(
        sessionmaker,
        store,
        sector="food",
        region="35.73",
        at=t2,
        chat="review-a",
        name="Sambal Bawang",
    )
    await _step(sessionmaker, p["P2"], "claim", t2 + 4 * H, c1)
    await _step(sessionmaker, p["P2"], "revise", t2 + 6 * H, c1, "C")
    t2b = datetime(2026, 11, 17, 3, tzinfo=UTC)
    await _step(sessionmaker, p["P2"], "resubmit", t2b)
    await _step(sessionmaker, p["P2"], "claim", t2b + H, c2)
    await _step(sessionmaker, p["P2"], "approve", t2b + 3 * H, c2, "B")

    t3 = datetime(2026, 11, 15, 10, tzinfo=UTC)
    p["P3"] = await _product(
        sessionmaker,
        store,
        sector="fashion",
        region="35.07",
        at=t3,
        chat="review-a",
        name="Batik Tulis",
    )
    await _step(sessionmaker, p["P3"], "claim", t3 + 10 * H, c1)
    await _step(sessionmaker, p["P3"], "release", t3 + 12 * H)
    await _step(sessionmaker, p["P3"], "claim", t3 + 20 * H, c2)
    await _step(sessionmaker, p["P3"], "reject", t3 + 30 * H, c2, None)

    t4 = datetime(2026, 11, 24, 3, tzinfo=UTC)
    p["P4"] = await _product(
        sessionmaker,
        store,
        sector="handicraft",
        region="35.15",
        at=t4,
        chat="review-a",
        name="Anyaman Bambu",
    )
    t5 = datetime(2026, 11, 23, 3, tzinfo=UTC)
    p["P5"] = await _product(
        sessionmaker,
        store,
        sector="fashion",
        region="35.73",
        at=t5,
        chat="review-b",
        name="Tas Rotan",
    )
    await _step(sessionmaker, p["P5"], "claim", t5 + H, c2)

    t6 = datetime(2026, 11, 20, 3, tzinfo=UTC)
    p["P6"] = await _product(
        sessionmaker,
        store,
        sector="food",
        region="35.07",
        at=t6,
        chat=None,
        name="Kopi Draf Rahasia",
    )
    async with sessionmaker() as session, session.begin():
        assert await close_unclaimed_round(session, product_id=p["P6"])
        assert await change_status(
            session, product_id=p["P6"], action="withdraw", expected="submitted", now=t6 + H
        )

    b: dict[str, int] = {}
    async with sessionmaker() as session, session.begin():
        _user, lone = await producer(session, sector="agribusiness", now=t1)
        lone.region_code = "35.78"
        b["lone"] = lone.id
        _user, half = await producer(session, sector="spa", now=t1)
        half.registered_at = None
        b["half"] = half.id
        for key in ("P1", "P2", "P3", "P6"):
            product = await session.get(Product, p[key])
            assert product is not None
            b[key] = product.business_id
    return World(products=p, curators={"C1": c1, "C2": c2}, businesses=b)


async def reviews_of(session: AsyncSession, product_id: int) -> list[Review]:
    return list(await session.scalars(select(Review).where(Review.product_id == product_id)))
