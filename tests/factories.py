"""Small factories: registered producers and submitted products, straight into the database."""

from __future__ import annotations

import hashlib
from datetime import datetime
from itertools import count

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.media_store import MediaStore
from db.models import Business, Photo, Product, ProductStatus, User
from db.reviews import open_round
from tests.support import make_photo

_seq = count(1)


async def producer(
    session: AsyncSession,
    *,
    external_id: str | None = None,
    channel: str = "test",
    sector: str = "food",
    now: datetime,
    language: str = "id",
) -> tuple[User, Business]:
    n = next(_seq)
    user = User(
        channel=channel,
        external_id=external_id or f"producer-{n}",
        display_name=f"Produsen {n}",
        language=language,
        consented_at=now,
        reminder_optouts=[],
    )
    session.add(user)
    await session.flush()
    business = Business(
        owner_id=user.id,
        name=f"UD Usaha {n}",
        owner_name=f"Pemilik {n}",
        phone="+6281234567890",
        region_code="35.07",
        sector=sector,
        nib="1234567890123",
        has_nib=True,
        legal_docs=["pirt", "halal"],
        capacity_amount=500,
        capacity_unit="pcs",
        export_markets=[],
        registered_at=now,
    )
    session.add(business)
    await session.flush()
    return user, business


async def submitted_product(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    now: datetime,
    store: MediaStore,
    sector: str = "food",
    chat_id: str | None = "review",
    channel: str = "test",
    owner: str | None = None,
    name: str | None = None,
    photos: int = 1,
) -> Product:
    """A complete product, submitted, with its review round and card queued."""
    async with sessionmaker() as session, session.begin():
        _user, business = await producer(
            session, external_id=owner, channel=channel, sector=sector, now=now
        )
        n = next(_seq)
        product = Product(
            business_id=business.id,
            name=name or f"Produk {n}",
            sector=sector,
            description="Produk unggulan dengan bahan lokal pilihan dan kemasan rapi.",
            price=25000,
            unit="pack",
            min_order=10,
            capacity=500,
            materials="bahan lokal",
            shelf_life_days=180 if sector == "food" else None,
            legal_docs=["pirt", "halal"],
            status=ProductStatus.submitted,
            submitted_at=now,
            precheck=[],
        )
        session.add(product)
        await session.flush()
        stored = []
        for i in range(photos):
            data = make_photo(seed=1000 * n + i)
            stored.append(
                Photo(
                    product_id=product.id,
                    position=i + 1,
                    sha256=hashlib.sha256(data).hexdigest(),
                    store_key=store.put(data, extension="jpg"),
                    mime="image/jpeg",
                    width=1200,
                    height=900,
                    size=len(data),
                    hints=[],
                    channel_ids={},
                )
            )
        session.add_all(stored)
        await session.flush()
        await open_round(
            session,
            product=product,
            photos=stored,
            channel=channel if chat_id else None,
            chat_id=chat_id,
            now=now,
        )
        return product
