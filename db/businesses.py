"""Business profiles: the draft that fills in as the producer answers, and its completeness."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import inspect, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Business

SECTORS: tuple[str, ...] = (
    "food",
    "fashion",
    "handicraft",
    "furniture",
    "agribusiness",
    "spa",
    "other",
)
LEGAL_DOCS: tuple[str, ...] = ("pirt", "bpom", "halal", "sni", "merek")

# The profile's fields in the order a producer is asked for them.
PROFILE_FIELDS: tuple[str, ...] = (
    "name",
    "owner_name",
    "phone",
    "region",
    "sector",
    "nib",
    "legal_docs",
    "capacity",
    "export",
)


def answered(business: Business, field: str) -> bool:
    match field:
        case "region":
            return business.region_code is not None
        case "nib":
            return business.has_nib is not None
        case "capacity":
            return business.capacity_amount is not None and business.capacity_unit is not None
        case "export":
            return business.export_markets is not None
        case _:
            return getattr(business, field) is not None


def missing_fields(business: Business) -> list[str]:
    return [f for f in PROFILE_FIELDS if not answered(business, f)]


_LOADED = "kurasi.business_of"


def business_loaded(session: AsyncSession, owner_id: int, business: Business | None) -> None:
    """Keep the business the update's first statement loaded with its owner (held here,
    so the session's weak identity map cannot drop it) for `get_business`."""
    if business is not None:
        session.info.setdefault(_LOADED, {})[owner_id] = business


async def get_business(session: AsyncSession, *, owner_id: int) -> Business | None:
    known: Business | None = session.info.get(_LOADED, {}).get(owner_id)
    if known is not None:
        state = inspect(known)
        if state.persistent and not state.deleted and known.owner_id == owner_id:
            return known  # loaded with the update's first statement: no second query
    return await session.scalar(select(Business).where(Business.owner_id == owner_id))


async def get_or_create_business(
    session: AsyncSession, *, owner_id: int, now: datetime
) -> Business:
    business = await get_business(session, owner_id=owner_id)
    if business is None:
        business = Business(owner_id=owner_id, created_at=now, updated_at=now)
        session.add(business)
        await session.flush()
    return business


def complete_registration(business: Business, *, now: datetime) -> list[str]:
    """Mark the profile registered; returns the fields still missing (then nothing changes)."""
    missing = missing_fields(business)
    if not missing and business.registered_at is None:
        business.registered_at = now
    return missing
