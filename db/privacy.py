"""A person's data under UU 27/2022: everything we hold about them, and erasing it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.base import utcnow
from db.businesses import get_business
from db.inbox import erase as erase_inbox
from db.models import (
    AuditEvent,
    Business,
    Fair,
    FairInterest,
    Photo,
    Product,
    Review,
    User,
    UserAlias,
)
from db.outbox import ERASE, enqueue


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


async def export_user_data(session: AsyncSession, *, user: User) -> dict[str, Any]:
    """Everything stored about this person, as plain JSON-ready data."""
    business = await get_business(session, owner_id=user.id)
    data: dict[str, Any] = {
        "user": {
            "channel": user.channel,
            "id_on_channel": user.external_id,
            "name": user.display_name,
            "username": user.username,
            "phone": user.phone,
            "language": user.language,
            "privacy_consent_at": _iso(user.consented_at),
            "reminders_switched_off": list(user.reminder_optouts or []),
            "first_seen_at": _iso(user.created_at),
        },
        "business": None,
        "products": [],
        "fair_interests": [
            {"fair": name, "start_date": start.isoformat(), "registered_at": _iso(at)}
            for name, start, at in (
                await session.execute(
                    select(Fair.name, Fair.start_date, FairInterest.created_at)
                    .join(FairInterest, FairInterest.fair_id == Fair.id)
                    .where(FairInterest.user_id == user.id)
                    .order_by(Fair.start_date)
                )
            ).all()
        ],
    }
    if business is None:
        return data
    data["business"] = {
        "name": business.name,
        "owner_name": business.owner_name,
        "phone": business.phone,
        "region_code": business.region_code,
        "sector": business.sector,
        "nib": business.nib,
        "has_nib": business.has_nib,
        "legal_documents": business.legal_docs,
        "monthly_capacity": business.capacity_amount,
        "capacity_unit": business.capacity_unit,
        "export_markets": business.export_markets,
        "registered_at": _iso(business.registered_at),
    }
    products = await session.scalars(
        select(Product).where(Product.business_id == business.id).order_by(Product.id)
    )
    for product in products:
        photos = await session.scalars(
            select(Photo).where(Photo.product_id == product.id).order_by(Photo.position)
        )
        data["products"].append(
            {
                "name": product.name,
                "sector": product.sector,
                "description": product.description,
                "price_rupiah": product.price,
                "unit": product.unit,
                "minimum_order": product.min_order,
                "monthly_capacity": product.capacity,
                "materials": product.materials,
                "shelf_life_days": product.shelf_life_days,
                "legal_documents": product.legal_docs,
                "status": product.status,
                "round": product.round,
                "submitted_at": _iso(product.submitted_at),
                "created_at": _iso(product.created_at),
                "photos": [
                    {
                        "position": p.position,
                        "sha256": p.sha256,
                        "type": p.mime,
                        "width": p.width,
                        "height": p.height,
                        "bytes": p.size,
                        "quality_hints": p.hints,
                    }
                    for p in photos
                ],
            }
        )
    return data


async def erase_user(
    session: AsyncSession, *, user_id: int, now: datetime | None = None
) -> list[str]:
    """Delete the person and everything that is theirs; return photo files no one else uses.

    Rows go by the database's ON DELETE CASCADE (cards not yet posted go with their review).
    Cards and photos already in review chats are queued for removal in the same transaction.
    The session is emptied afterwards so that no loaded object of the erased person is
    written back at commit.
    """
    await _queue_review_chat_erasure(session, user_id=user_id, now=now or utcnow())
    await _erase_stored_messages(session, user_id=user_id)
    keys = set(
        await session.scalars(
            select(Photo.store_key)
            .join(Product, Photo.product_id == Product.id)
            .join(Business, Product.business_id == Business.id)
            .where(Business.owner_id == user_id)
        )
    )
    # The audit trail keeps that a product was curated, never who or what was written.
    owned = (
        select(Product.id)
        .join(Business, Product.business_id == Business.id)
        .where(Business.owner_id == user_id)
    )
    await session.execute(
        update(AuditEvent).where(AuditEvent.product_id.in_(owned)).values(reason_text=None)
    )
    await session.execute(delete(User).where(User.id == user_id))
    session.expunge_all()
    still_used = set(
        await session.scalars(select(Photo.store_key).where(Photo.store_key.in_(keys)))
    )
    return sorted(keys - still_used)


async def _queue_review_chat_erasure(session: AsyncSession, *, user_id: int, now: datetime) -> None:
    """One outbox item per review chat, naming the card and photo messages to remove."""
    posted = await session.execute(
        select(Review.channel, Review.chat_id, Review.album_message_ids, Review.card_message_id)
        .join(Product, Review.product_id == Product.id)
        .join(Business, Product.business_id == Business.id)
        .where(Business.owner_id == user_id, Review.card_message_id.is_not(None))
        .order_by(Review.id)
    )
    by_chat: dict[tuple[str, str], list[str]] = {}
    for channel, chat_id, album_ids, card_id in posted.all():
        if channel and chat_id and card_id:
            by_chat.setdefault((channel, chat_id), []).extend([*(album_ids or []), card_id])
    for (channel, chat_id), message_ids in by_chat.items():
        payload = {"message_ids": message_ids}
        await enqueue(
            session, channel=channel, chat_id=chat_id, kind=ERASE, payload=payload, now=now
        )


async def _erase_stored_messages(session: AsyncSession, *, user_id: int) -> None:
    """WhatsApp messages of theirs still stored in the inbox (the one being handled is gone
    already: its transaction took it), from their own number or one linked to them."""
    own = select(User.external_id).where(User.id == user_id, User.channel == "whatsapp")
    linked = select(UserAlias.external_id).where(
        UserAlias.user_id == user_id, UserAlias.channel == "whatsapp"
    )
    numbers = set(await session.scalars(own.union(linked)))
    await erase_inbox(session, chat_ids=numbers)
