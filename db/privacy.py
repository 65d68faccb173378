"""A person's data under UU 27/2022: everything we hold about them, and erasing it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, false, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.base import utcnow
from db.businesses import get_business
from db.inbox import erase as erase_inbox
from db.models import (
    AuditEvent,
    Broadcast,
    BroadcastDelivery,
    Business,
    ChatBudget,
    Curator,
    Fair,
    FairInterest,
    Notification,
    OutboxItem,
    Photo,
    Product,
    Review,
    User,
    UserAlias,
    WhatsAppMessage,
)
from db.outbox import ERASE, enqueue
from db.products import STORED, ProductField
from db.stats_snapshots import forget as forget_stats_snapshots

# Every table, and what erasing a person does to it (tests/db/test_privacy.py checks that each
# table of the models is named here, in KEPT_FOR_SECURITY or in HOLDS_NO_PERSON, so a new
# table cannot be missed).
ERASED: dict[str, str] = {
    "users": "the person's row, and the rows of every identity linked to it (user_aliases)",
    "user_aliases": "deleted with the user (ON DELETE CASCADE)",
    "businesses": "deleted with the owner (cascade)",
    "products": "deleted with the business (cascade)",
    "photos": "deleted with the product (cascade); their files, thumbnails included, after",
    "conversations": "deleted with the user (cascade)",
    "reviews": "the producer's: with the product (cascade); as curator: name and link emptied",
    "audit_events": "written reasons about their products and their id in admin changes emptied",
    "outbox": "every message to one of their chats, sent or not; their cards' rows (cascade)",
    "chat_budgets": "the send times of their chats",
    "fair_interests": "deleted with the user (cascade)",
    "notifications": "deleted with the user (cascade), and any to one of their chats",
    "whatsapp_messages": "the delivery statuses of messages to their WhatsApp number",
    "whatsapp_links": "deleted with either user of the offer (cascade)",
    "broadcast_deliveries": "their rows in every broadcast",
    "broadcasts": "as author: the link and where the progress message went",
    "fairs": "as author: the link (ON DELETE SET NULL)",
    "curators": "their curator role, by their identities",
    "photo_hashes": "deleted with the photo, product or business (cascade)",
    "dashboard_tokens": "an admin's login links and sessions: deleted with the user (cascade)",
    "whatsapp_inbox": "their stored, not yet handled messages, by their WhatsApp numbers",
    "inquiries": "buyers' inquiries stay for the admins; their product and producer links go",
    "export_requests": "an admin's /ekspor requests: deleted with the user (cascade)",
    "stats_snapshots": "the admins' figures name curators: every snapshot deleted (recomputed)",
}
# Kept through an erasure on purpose, and only for as long as it protects someone: a hash
# of a number trying link codes, so that erasing the half-made account gives no new tries.
KEPT_FOR_SECURITY: dict[str, str] = {
    "link_throttles": "a hash of the identity, deleted when its lockout or code window ends",
}
# Tables that hold nothing about a person: update ids, shared send budgets, the schema.
HOLDS_NO_PERSON: dict[str, str] = {
    "processed_updates": "platform update ids only, to answer a redelivery once",
    "send_budgets": "a channel's shared send rate",
    "market_requirements": "what destination markets ask of a sector, with public sources",
}


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
        # The curators' decisions on it, in their own words (who curated is theirs, not here).
        rounds = await session.scalars(
            select(Review).where(Review.product_id == product.id).order_by(Review.round)
        )
        data["products"].append(
            {
                # Each product field by its data key (db/products.py STORED), photos below.
                **{
                    stored.data_key: getattr(product, stored.column)
                    for stored in STORED.values()
                    if stored.column is not None
                },
                "legal_document_numbers": product.legal_numbers or {},
                "hs_code": product.hs_code,
                "target_markets": product.target_markets,
                "status": product.status,
                "round": product.round,
                "submitted_at": _iso(product.submitted_at),
                "created_at": _iso(product.created_at),
                STORED[ProductField.photos].data_key: [
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
                "reviews": [
                    {
                        "round": r.round,
                        "submitted_at": _iso(r.created_at),
                        "decision": r.decision,
                        "decided_at": _iso(r.decided_at),
                        "grade": r.grade,
                        "scores": r.scores or {},
                        "reasons": list(r.reasons or []),
                        "written_reason": r.reason_text,
                    }
                    for r in rounds
                ],
            }
        )
    return data


async def erase_user(
    session: AsyncSession, *, user_id: int, now: datetime | None = None
) -> list[str]:
    """Delete the person and everything that is theirs; return photo files no one else uses.

    The person is every identity of theirs: the user row and the rows of the channels linked
    to it (a WhatsApp number joined to a Telegram account has a row of its own, with its
    phone and name). Rows go by the database's ON DELETE CASCADE where they hang off a user
    (cards not yet posted go with their review); rows keyed by a chat (outbox messages,
    WhatsApp delivery statuses, send budgets, broadcast deliveries) are deleted by their
    chats. Cards and photos already in review chats are queued for removal in the same
    transaction. The session is emptied afterwards so that no loaded object of the erased
    person is written back at commit.
    """
    now = now or utcnow()
    person = await session.get(User, user_id)
    identities: set[tuple[str, str]] = set(
        (
            await session.execute(
                select(UserAlias.channel, UserAlias.external_id).where(UserAlias.user_id == user_id)
            )
        ).tuples()
    )
    if person is not None:
        identities.add((person.channel, person.external_id))
    user_ids = {user_id} | set(
        await session.scalars(select(User.id).where(_identity(User, identities)))
    )
    await _queue_review_chat_erasure(session, user_id=user_id, now=now)
    for uid in sorted(user_ids):
        await _erase_stored_messages(session, user_id=uid)
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
    named = [f"{channel}:{external_id}" for channel, external_id in identities]
    if named:  # an admin role given or taken names the person as channel:id
        await session.execute(
            update(AuditEvent).where(AuditEvent.reason_text.in_(named)).values(reason_text=None)
        )
    await session.execute(
        update(Review)
        .where(Review.curator_user_id.in_(user_ids))
        .values(curator_name=None, curator_user_id=None)
    )
    await session.execute(
        update(Broadcast)
        .where(_identity(Broadcast, identities, "report_channel", "report_chat_id"))
        .values(report_channel=None, report_chat_id=None, report_message_id=None)
    )
    # What is keyed by their chats (a private chat's id is the person's id on that channel).
    await session.execute(
        delete(OutboxItem).where(_identity(OutboxItem, identities, "channel", "chat_id"))
    )
    await session.execute(
        delete(ChatBudget).where(_identity(ChatBudget, identities, "channel", "chat_id"))
    )
    await session.execute(
        delete(Notification).where(_identity(Notification, identities, "channel", "chat_id"))
    )
    await session.execute(
        delete(BroadcastDelivery).where(
            or_(
                BroadcastDelivery.user_id.in_(user_ids),
                _identity(BroadcastDelivery, identities, "channel", "chat_id"),
            )
        )
    )
    numbers = [external_id for channel, external_id in identities if channel == "whatsapp"]
    if numbers:
        await session.execute(delete(WhatsAppMessage).where(WhatsAppMessage.chat_id.in_(numbers)))
    await session.execute(
        delete(Curator).where(_identity(Curator, identities, "channel", "external_id"))
    )
    await session.execute(delete(User).where(User.id.in_(user_ids)))
    # The stored statistics may count their decisions under their name; the next tick
    # computes them without.
    await forget_stats_snapshots(session)
    session.expunge_all()
    still_used = set(
        await session.scalars(select(Photo.store_key).where(Photo.store_key.in_(keys)))
    )
    return sorted(keys - still_used)


def _identity(
    model: Any,
    identities: set[tuple[str, str]],
    channel: str = "channel",
    external_id: str = "external_id",
) -> ColumnElement[bool]:
    """Rows whose (channel, id) columns are one of the identities."""
    if not identities:
        return false()
    return or_(
        *(
            and_(getattr(model, channel) == c, getattr(model, external_id) == e)
            for c, e in sorted(identities)
        )
    )


async def _queue_review_chat_erasure(session: AsyncSession, *, user_id: int, now: datetime) -> None:
    """One outbox item per review chat, naming the card and photo messages to remove."""
    posted = await session.execute(
        select(
            Review.channel,
            Review.chat_id,
            Review.album_message_ids,
            Review.card_message_id,
            Review.prompt_message_ids,
        )
        .join(Product, Review.product_id == Product.id)
        .join(Business, Product.business_id == Business.id)
        .where(Business.owner_id == user_id, Review.card_message_id.is_not(None))
        .order_by(Review.id)
    )
    by_chat: dict[tuple[str, str], list[str]] = {}
    for channel, chat_id, album_ids, card_id, prompt_ids in posted.all():
        if channel and chat_id and card_id:
            posts = [*(album_ids or []), card_id, *(prompt_ids or [])]
            by_chat.setdefault((channel, chat_id), []).extend(posts)
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
