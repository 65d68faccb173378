"""Many approved products at once, written directly (the catalogue tests and bench/catalogue.py
need hundreds to 100,000; going through curation would take minutes)."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any

from PIL import Image
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.media_store import MediaStore
from db.models import Business, Photo, Product, Review, User

START = datetime(2026, 1, 1, tzinfo=UTC)
SECTORS = ("food", "fashion", "handicraft", "furniture")
REGIONS = ("35.07", "35.73", "35.15", "35.78")
GRADES = ("A", "B")


def jpeg(color: tuple[int, int, int] = (180, 120, 60), size: tuple[int, int] = (900, 700)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "JPEG", quality=80)
    return out.getvalue()


async def approved_products(
    session: AsyncSession,
    store: MediaStore,
    n: int,
    *,
    start: int = 0,
    names: list[str] | None = None,
    photo: bytes | None = None,
    consent: bool | None = None,
    batch: int = 1000,
    **product: Any,
) -> list[int]:
    """`n` approved products (one business each, one shared photo), the i-th approved at
    START + i minutes; returns their ids. `names[i]` names the i-th, else "Produk {i}"."""
    data = photo or jpeg()
    key = store.put(data, extension="jpg")
    import hashlib

    sha = hashlib.sha256(data).hexdigest()
    ids: list[int] = []
    for first in range(start, start + n, batch):
        last = min(first + batch, start + n)
        users = (
            (
                await session.execute(
                    insert(User).returning(User.id),
                    [
                        {
                            "channel": "test",
                            "external_id": f"bulk-{i}",
                            "display_name": f"P{i}",
                            "language": "id",
                            "reminder_optouts": [],
                        }
                        for i in range(first, last)
                    ],
                )
            )
            .scalars()
            .all()
        )
        businesses = (
            (
                await session.execute(
                    insert(Business).returning(Business.id),
                    [
                        {
                            "owner_id": uid,
                            "name": f"UD Usaha {i}",
                            "owner_name": f"Pemilik {i}",
                            "phone": f"+62812{i:07d}",
                            "region_code": REGIONS[i % len(REGIONS)],
                            "sector": SECTORS[i % len(SECTORS)],
                            "contact_consent": consent,
                        }
                        for i, uid in zip(range(first, last), users, strict=True)
                    ],
                )
            )
            .scalars()
            .all()
        )
        products = (
            (
                await session.execute(
                    insert(Product).returning(Product.id),
                    [
                        {
                            "business_id": bid,
                            "name": names[i - start] if names else f"Produk {i}",
                            "sector": SECTORS[i % len(SECTORS)],
                            "description": f"Deskripsi produk nomor {i} dari Jawa Timur.",
                            "price": 10_000 + i,
                            "unit": "pcs",
                            "min_order": 10,
                            "capacity": 500,
                            "status": "approved",
                            "round": 1,
                            "legal_docs": ["pirt"],
                            "precheck": [],
                            **product,
                        }
                        for i, bid in zip(range(first, last), businesses, strict=True)
                    ],
                )
            )
            .scalars()
            .all()
        )
        await session.execute(
            insert(Review),
            [
                {
                    "product_id": pid,
                    "round": 1,
                    "decision": "approved",
                    "grade": GRADES[i % 2],
                    "decided_at": START + timedelta(minutes=i),
                    "snapshot": {},
                    "scores": {},
                    "reasons": [],
                    "album_message_ids": [],
                }
                for i, pid in zip(range(first, last), products, strict=True)
            ],
        )
        await session.execute(
            insert(Photo),
            [
                {
                    "product_id": pid,
                    "position": 0,
                    "sha256": sha,
                    "store_key": key,
                    "mime": "image/jpeg",
                    "width": 900,
                    "height": 700,
                    "size": len(data),
                    "hints": [],
                    "channel_ids": {},
                }
                for pid in products
            ],
        )
        ids.extend(products)
    return ids
