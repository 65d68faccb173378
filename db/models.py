"""Typed SQLAlchemy models. Schema changes go through Alembic (db/migrations)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.base import Base, JSONType, Timestamped, utcnow

# Names come from the platforms. Telegram allows a first and a last name of 64 characters
# each (shown joined by a space) and usernames of up to 32; longer values from any channel
# are cut at the edge (db.users.clip), never refused: a name must not lock anyone out.
DISPLAY_NAME_MAX = 129
USERNAME_MAX = 64


def _where(condition: str) -> dict[str, Any]:
    """A partial index's condition, for both backends."""
    return {"postgresql_where": text(condition), "sqlite_where": text(condition)}


class User(Timestamped, Base):
    """One person on one channel (a Telegram account, a WhatsApp number, the console)."""

    __tablename__ = "users"
    __table_args__ = (
        UniqueConstraint("channel", "external_id"),
        Index("ix_users_admins", "id", **_where("is_admin")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str | None] = mapped_column(String(DISPLAY_NAME_MAX))
    username: Mapped[str | None] = mapped_column(String(USERNAME_MAX))
    # None until the person picks one; the channel's hint is used meanwhile.
    language: Mapped[str | None] = mapped_column(String(5))
    consented_at: Mapped[datetime | None]
    phone: Mapped[str | None] = mapped_column(String(20))
    is_admin: Mapped[bool] = mapped_column(default=False)
    reminder_optouts: Mapped[list[str]] = mapped_column(JSONType, default=list)
    blocked_at: Mapped[datetime | None]
    last_inbound_at: Mapped[datetime | None]

    business: Mapped[Business | None] = relationship(back_populates="owner", uselist=False)


class Business(Timestamped, Base):
    """A producer's business profile, filled in as they answer; None = not asked yet."""

    __tablename__ = "businesses"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), unique=True, index=True
    )
    name: Mapped[str | None] = mapped_column(String(100))
    owner_name: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(20))
    region_code: Mapped[str | None] = mapped_column(String(8), index=True)
    sector: Mapped[str | None] = mapped_column(String(16), index=True)
    nib: Mapped[str | None] = mapped_column(String(13))
    # False = "belum punya" (answered, no NIB); None = not answered yet.
    has_nib: Mapped[bool | None]
    legal_docs: Mapped[list[str] | None] = mapped_column(JSONType)
    capacity_amount: Mapped[int | None]
    capacity_unit: Mapped[str | None] = mapped_column(String(20))
    # [] = no export experience yet.
    export_markets: Mapped[list[str] | None] = mapped_column(JSONType)
    registered_at: Mapped[datetime | None]
    # May buyers of the public catalogue contact the producer on WhatsApp? None = not asked.
    contact_consent: Mapped[bool | None]

    owner: Mapped[User] = relationship(back_populates="business")
    products: Mapped[list[Product]] = relationship(
        back_populates="business", cascade="all, delete-orphan", passive_deletes=True
    )


class ProductStatus(StrEnum):
    draft = "draft"
    submitted = "submitted"
    in_review = "in_review"
    revision_requested = "revision_requested"
    approved = "approved"
    rejected = "rejected"


class Product(Timestamped, Base):
    """A product card. Fields fill in as the producer answers; status moves by compare-and-set."""

    __tablename__ = "products"
    __table_args__ = (
        Index("ix_products_status_submitted", "status", "submitted_at"),
        # Drafts idle since, revisions waiting since: the scheduler's planning queries.
        Index("ix_products_status_updated", "status", "updated_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    business_id: Mapped[int] = mapped_column(
        ForeignKey("businesses.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str | None] = mapped_column(String(100))
    sector: Mapped[str | None] = mapped_column(String(16), index=True)
    description: Mapped[str | None] = mapped_column(Text)
    # Optional, by the producer, for the export catalogue's foreign buyers.
    description_en: Mapped[str | None] = mapped_column(Text)
    name_en: Mapped[str | None] = mapped_column(String(100))  # optional, for the catalogue
    price: Mapped[int | None] = mapped_column(BigInteger)  # whole rupiah
    unit: Mapped[str | None] = mapped_column(String(20))
    min_order: Mapped[int | None]
    capacity: Mapped[int | None]  # units a month
    materials: Mapped[str | None] = mapped_column(String(300))
    shelf_life_days: Mapped[int | None]  # food and beverage only
    legal_docs: Mapped[list[str] | None] = mapped_column(JSONType)
    status: Mapped[str] = mapped_column(String(24), default=ProductStatus.draft)
    round: Mapped[int] = mapped_column(default=1)
    version: Mapped[int] = mapped_column(default=1)
    submitted_at: Mapped[datetime | None]
    # Codes of the pre-check rules that fired at the last submit, for the curator's card.
    precheck: Mapped[list[str]] = mapped_column(JSONType, default=list)
    # Curator assist (issue 23). The number of each document held, as typed ("" = not at
    # hand); the HS heading confirmed and by whom ("producer" / "curator"); destination
    # markets named; the machine's flags at the last submit (triage).
    legal_numbers: Mapped[dict[str, str]] = mapped_column(JSONType, default=dict)
    hs_code: Mapped[str | None] = mapped_column(String(12))
    hs_source: Mapped[str | None] = mapped_column(String(12))
    target_markets: Mapped[list[str] | None] = mapped_column(JSONType)
    flags: Mapped[list[str]] = mapped_column(JSONType, default=list)

    business: Mapped[Business] = relationship(back_populates="products")
    photos: Mapped[list[Photo]] = relationship(
        back_populates="product",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="Photo.position",
    )


class Photo(Base):
    """A product photo: bytes in the media store under `store_key`, ids cached per channel."""

    __tablename__ = "photos"
    __table_args__ = (UniqueConstraint("product_id", "sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    store_key: Mapped[str] = mapped_column(String(200))
    mime: Mapped[str] = mapped_column(String(32))
    width: Mapped[int]
    height: Mapped[int]
    size: Mapped[int]
    hints: Mapped[list[str]] = mapped_column(JSONType, default=list)
    # {"telegram": "<file_id>"}: re-sending by id costs no upload.
    channel_ids: Mapped[dict[str, str]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    product: Mapped[Product] = relationship(back_populates="photos")


class Conversation(Base):
    """The unfinished chat of one user: which flow, which step, the answers kept so far."""

    __tablename__ = "conversations"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    flow: Mapped[str | None] = mapped_column(String(32))
    step: Mapped[str | None] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ProcessedUpdate(Base):
    """Update ids already handled, so a redelivered webhook or poll is answered once."""

    __tablename__ = "processed_updates"

    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    update_key: Mapped[str] = mapped_column(String(128), primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class Curator(Base):
    """A certified curator, by channel identity; `chat_id` None = every review chat."""

    __tablename__ = "curators"
    __table_args__ = (UniqueConstraint("channel", "external_id", "chat_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), default="telegram")
    external_id: Mapped[str] = mapped_column(String(64), index=True)
    chat_id: Mapped[str | None] = mapped_column(String(64))
    added_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReviewDecision(StrEnum):
    approved = "approved"
    revision_requested = "revision_requested"
    rejected = "rejected"


class Verdict(StrEnum):
    """A curator's decision as an action (the button, the audit trail, the transition)."""

    approve = "approve"
    revise = "revise"
    reject = "reject"

    @property
    def decision(self) -> ReviewDecision:
        return {
            "approve": ReviewDecision.approved,
            "revise": ReviewDecision.revision_requested,
            "reject": ReviewDecision.rejected,
        }[self.value]


class Review(Base):
    """One round of one product in a review chat: who holds it, the scores, the decision."""

    __tablename__ = "reviews"
    __table_args__ = (
        UniqueConstraint("product_id", "round"),
        Index("ix_reviews_open_touched", "touched_at", **_where("decision IS NULL")),
        Index("ix_reviews_decided_at", "decided_at"),
        Index("ix_reviews_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), index=True
    )
    round: Mapped[int]
    channel: Mapped[str | None] = mapped_column(String(16))
    chat_id: Mapped[str | None] = mapped_column(String(64), index=True)
    # The product as submitted, to show the next round what changed.
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    curator_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    curator_name: Mapped[str | None] = mapped_column(String(DISPLAY_NAME_MAX))
    claimed_at: Mapped[datetime | None]
    touched_at: Mapped[datetime | None]  # last claim or score: the claim timeout counts from it
    scores: Mapped[dict[str, int]] = mapped_column(JSONType, default=dict)
    grade: Mapped[str | None] = mapped_column(String(1))
    decision: Mapped[str | None] = mapped_column(String(24))
    reasons: Mapped[list[str]] = mapped_column(JSONType, default=list)
    reason_text: Mapped[str | None] = mapped_column(Text)
    override: Mapped[bool] = mapped_column(default=False)
    decided_at: Mapped[datetime | None]
    card_message_id: Mapped[str | None] = mapped_column(String(32))
    # The photo messages posted above the card, so erasing the producer can remove them too.
    album_message_ids: Mapped[list[str]] = mapped_column(JSONType, default=list)
    # The bot's prompts about this review in its chat (the reason question names the
    # product): erasing the producer removes them too.
    prompt_message_ids: Mapped[list[str] | None] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEvent(Base):
    """Every curation action. Erasing a producer nulls the links and the free text here,
    so only anonymous facts remain (a product of this sector was approved on this date)."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    action: Mapped[str] = mapped_column(String(24))
    product_id: Mapped[int | None] = mapped_column(
        ForeignKey("products.id", ondelete="SET NULL"), index=True
    )
    actor_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    round: Mapped[int | None]
    sector: Mapped[str | None] = mapped_column(String(16))
    grade: Mapped[str | None] = mapped_column(String(1))
    scores: Mapped[dict[str, int] | None] = mapped_column(JSONType)
    reasons: Mapped[list[str] | None] = mapped_column(JSONType)
    reason_text: Mapped[str | None] = mapped_column(Text)


class OutboxKind(StrEnum):
    review_card = "review_card"
    notice = "notice"  # any message to another person; `payload` is the reply
    # Remove a producer's messages from a review chat after they erased their data;
    # `payload` = {"message_ids": [...]}: the review row is gone by then.
    erase = "erase"
    # A notification fallen due (migration 0022): `payload` is its rendered reply and
    # `notification_id` the row whose result follows this one's.
    notification = "notification"


class OutboxItem(Base):
    """A message to someone other than the sender, waiting for its chat's send budget:
    review cards (rendered when sent) and notices (`payload`: the reply, as sent)."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_pending", "channel", "chat_id", "sent_at", "id"),
        Index("ix_outbox_waiting", "id", **_where("sent_at IS NULL AND failed_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(24))
    review_id: Mapped[int | None] = mapped_column(
        ForeignKey("reviews.id", ondelete="CASCADE"), index=True
    )
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    failed_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(300))
    next_attempt_at: Mapped[datetime | None]  # after a failed send: not before then
    # A notice the recipient's platform takes only once they write again (WhatsApp's window,
    # no template): later messages to them may pass it; released when they write.
    held_until: Mapped[datetime | None]
    # The notification it delivers (migration 0022): its result follows this row's.
    notification_id: Mapped[int | None]


class ChatBudget(Base):
    """When messages went into one chat lately; shared by every worker, and its row lock
    makes one worker at a time the sender for that chat, which keeps the order."""

    __tablename__ = "chat_budgets"

    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    chat_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    sent: Mapped[list[float]] = mapped_column(JSONType, default=list)  # unix times


class Fair(Base):
    """An export or trade fair, entered by an admin (never hard-coded)."""

    __tablename__ = "fairs"
    __table_args__ = (Index("ix_fairs_end_date", "end_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    place: Mapped[str] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(String(100))
    start_date: Mapped[date] = mapped_column(index=True)
    end_date: Mapped[date]
    registration_deadline: Mapped[date | None]
    sectors: Mapped[list[str]] = mapped_column(JSONType, default=list)  # [] = every sector
    link: Mapped[str | None] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class FairInterest(Base):
    """A producer pressed "Saya tertarik" for a fair."""

    __tablename__ = "fair_interests"
    __table_args__ = (UniqueConstraint("fair_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    fair_id: Mapped[int] = mapped_column(ForeignKey("fairs.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Notification(Base):
    """Every scheduled or event message: planned once (unique dedupe key), sent once.

    `result` says what became of it: sent, opted_out, blocked, failed.
    """

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_pending", "sent_at", "due_at"),
        # What is left to send, oldest first: the claim query walks only unsent rows.
        Index("ix_notifications_due", "due_at", "id", **_where("sent_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(64))
    subject_id: Mapped[int | None]  # the product or fair it is about
    # What the message needs when its subject may be gone (a cancelled fair's name and dates).
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    due_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    result: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Rendered into an outbox row (migration 0022), which sends it; never claimed again.
    queued_at: Mapped[datetime | None]


class WhatsAppMessage(Base):
    """A message sent on WhatsApp and what Meta said of it since (sent, delivered, read, failed),
    so an admin can see whether a notification arrived."""

    __tablename__ = "whatsapp_messages"

    message_id: Mapped[str] = mapped_column(String(128), primary_key=True)  # Meta's wamid
    chat_id: Mapped[str] = mapped_column(String(64), index=True)
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default="accepted")
    status_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(String(300))
    # What it was sent for ("outbox:ID", "notification:ID"): reopened when Meta reports
    # later that the window was closed (131047). Migration 0014.
    source: Mapped[str | None] = mapped_column(String(40))


class WhatsAppLink(Base):
    """A pending offer to join a WhatsApp number to the Telegram account with the same phone:
    the code sent on Telegram, and the wrong tries typed on WhatsApp."""

    __tablename__ = "whatsapp_links"

    whatsapp_user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    telegram_user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    code_hash: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime]
    failures: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    declined: Mapped[bool] = mapped_column(default=False)  # "no, start fresh": not asked again
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class UserAlias(Base):
    """Another channel's identity of the same person: after linking, a WhatsApp number's
    messages belong to the Telegram account's user (one profile, one set of products)."""

    __tablename__ = "user_aliases"

    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    external_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class BroadcastState(StrEnum):
    scheduled = "scheduled"  # waits for scheduled_at
    running = "running"  # deliveries exist; senders work through them
    paused = "paused"
    done = "done"
    cancelled = "cancelled"


class Broadcast(Base):
    """An admin's announcement to a segment. The audience is snapshotted into deliveries
    when it starts; `filters` says who it was for (see db/broadcasts.Audience)."""

    __tablename__ = "broadcasts"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    text: Mapped[str] = mapped_column(Text)
    html: Mapped[bool] = mapped_column(default=False)  # text is Telegram HTML
    media_kind: Mapped[str | None] = mapped_column(String(16))  # photo | document
    media_path: Mapped[str | None] = mapped_column(String(500))  # a local file to upload
    media_name: Mapped[str | None] = mapped_column(String(200))
    # {"telegram": "<file_id>"}: uploaded once, re-sent by id.
    media_ids: Mapped[dict[str, str]] = mapped_column(JSONType, default=dict)
    filters: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    urgent: Mapped[bool] = mapped_column(default=False)  # sent during quiet hours too
    state: Mapped[str] = mapped_column(String(16), default=BroadcastState.scheduled, index=True)
    scheduled_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    total: Mapped[int] = mapped_column(default=0)
    # Where the live progress message is (the admin's chat), once posted.
    report_channel: Mapped[str | None] = mapped_column(String(16))
    report_chat_id: Mapped[str | None] = mapped_column(String(64))
    report_message_id: Mapped[str | None] = mapped_column(String(32))


class DeliveryState(StrEnum):
    pending = "pending"
    sent = "sent"
    failed = "failed"
    blocked = "blocked"
    needs_template = "needs_template"  # WhatsApp outside 24 h with no template configured


class BroadcastDelivery(Base):
    """One recipient of one broadcast. A sender leases pending rows (lease_owner,
    lease_until) after claiming them with FOR UPDATE SKIP LOCKED; a dead sender's lease runs
    out and another takes the rows over."""

    __tablename__ = "broadcast_deliveries"
    __table_args__ = (
        UniqueConstraint("broadcast_id", "user_id"),
        Index("ix_broadcast_deliveries_work", "broadcast_id", "state", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcasts.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    channel: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), default=DeliveryState.pending)
    message_id: Mapped[str | None] = mapped_column(String(32))
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(300))
    next_attempt_at: Mapped[datetime | None]
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]


class SendBudget(Base):
    """A channel's send rate, shared by every worker: the next free send slot (unix time),
    a pause every worker honours after a 429 retry_after, and holds: [from, until) spans of
    future slots no worker uses, set after a send that may have reached the platform late
    (bot.budget)."""

    __tablename__ = "send_budgets"

    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    next_slot: Mapped[float] = mapped_column(default=0.0)
    paused_until: Mapped[float] = mapped_column(default=0.0)
    holds: Mapped[list[list[float]]] = mapped_column(JSONType, default=list, server_default="[]")


# --- Curator assist (issue 23): what a machine checks before a curator reads ----------------


PHOTO_HASH_COVERS = ("hash", "business_id", "product_id", "photo_id")


class PhotoHash(Base):
    """A photo's 64-bit perceptual hash, split into four 16-bit bands, each indexed: two
    near-identical photos share a band exactly or nearly (db/assist.py probes each band
    within a small radius), so a lookup reads a few index pages among a million rows."""

    __tablename__ = "photo_hashes"
    # Covering on PostgreSQL: a lookup reads the index only, never the table's pages.
    __table_args__ = tuple(
        Index(f"ix_photo_hashes_{band}", band, postgresql_include=list(PHOTO_HASH_COVERS))
        for band in ("b0", "b1", "b2", "b3")
    )

    photo_id: Mapped[int] = mapped_column(
        ForeignKey("photos.id", ondelete="CASCADE"), primary_key=True
    )
    product_id: Mapped[int] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), index=True
    )
    business_id: Mapped[int] = mapped_column(
        ForeignKey("businesses.id", ondelete="CASCADE"), index=True
    )
    hash: Mapped[int] = mapped_column(BigInteger)  # signed: the unsigned hash minus 2**63 if set
    b0: Mapped[int]
    b1: Mapped[int]
    b2: Mapped[int]
    b3: Mapped[int]


class MarketRequirement(Base):
    """What a destination market asks of a sector's products, with its public source.
    Empty table: the shipped db/data/market_requirements.csv is used."""

    __tablename__ = "market_requirements"
    __table_args__ = (UniqueConstraint("destination", "sector", "requirement"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    destination: Mapped[str] = mapped_column(String(8))
    sector: Mapped[str] = mapped_column(String(16))
    requirement: Mapped[str] = mapped_column(String(40))
    met_by: Mapped[str] = mapped_column(String(60))
    label_en: Mapped[str] = mapped_column(String(300))
    label_id: Mapped[str] = mapped_column(String(300))
    source: Mapped[str] = mapped_column(String(300))


# --- account linking's throttle (migration 0015) --------------------------------------------


class LinkThrottle(Base):
    """Wrong link codes and codes sent, per WhatsApp number trying and per account codes go
    to, keyed by a hash of that identity. Not a person's row on purpose: it outlives an
    erasure, "batal" or a new offer for exactly its period (a lockout, the codes' window),
    then it is deleted."""

    __tablename__ = "link_throttles"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of channel:id
    failures: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    codes: Mapped[int] = mapped_column(default=0)  # sent since window_start
    window_start: Mapped[datetime | None]
    last_code_at: Mapped[datetime | None]
    expires_at: Mapped[datetime] = mapped_column(index=True)  # nothing left to hold after


# --- the admins' web dashboard (issue 24) -------------------------------------------------


class DashboardToken(Base):
    """A dashboard login link (kind "link": single use, minutes) or a browser session (kind
    "session", hours), held by an admin. Only the SHA-256 of the secret is stored; erased with
    the person (ON DELETE CASCADE)."""

    __tablename__ = "dashboard_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class ExportRequest(Base):
    """An admin's /ekspor, stored in the update that asked for it: the job that builds and
    sends its files holds a lease while it runs (renewed as it goes); a job stopped by a
    restart or a crash is picked up again from here. Erased with the admin (cascade)."""

    __tablename__ = "export_requests"
    __table_args__ = (Index("ix_export_requests_open", "id", **_where("finished_at IS NULL")),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    spec: Mapped[dict[str, Any]] = mapped_column(JSONType)  # the ExportJob, as JSON
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    runs: Mapped[int] = mapped_column(default=0)  # how often a job started on it
    lease_until: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


# --- the admins' statistics, kept per tick ------------------------------------------------


class StatsSnapshot(Base):
    """/statistik's and `kurasi stats`'s figures as a scheduler tick last computed them, one
    row per time zone (the weeks and the month are on its calendar). `claimed_at` is when a
    worker last took on computing them: one worker per tick interval does. The figures name
    curators (their decisions this month): an erasure deletes every snapshot."""

    __tablename__ = "stats_snapshots"

    timezone: Mapped[str] = mapped_column(String(64), primary_key=True)
    claimed_at: Mapped[datetime]
    stats: Mapped[dict[str, Any] | None] = mapped_column(JSONType)  # Stats.to_json()
    computed_at: Mapped[datetime | None]  # the moment the figures are of (None: not yet)


# --- the WhatsApp inbox ---------------------------------------------------------------------


class WhatsAppInbound(Base):
    """A WhatsApp message acknowledged to Meta and not handled yet: stored by the webhook
    before it answers 200, deleted by the transaction that handles it (whose processed
    update id then keeps a redelivery from being answered again). `body` is the message as
    Meta sent it, with the sender's profile: personal data, erased by /hapusdata."""

    __tablename__ = "whatsapp_inbox"
    __table_args__ = (Index("ix_whatsapp_inbox_sender", "chat_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)  # arrival order
    message_id: Mapped[str] = mapped_column(String(128), unique=True)  # Meta's wamid
    chat_id: Mapped[str] = mapped_column(String(64))  # the sender's wa_id
    body: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime]


# --- the export catalogue: its search, buyers' inquiries ---------------------------------

_ACCENTED = "àáâãäåāèéêëēìíîïīòóôõöøōùúûüūýÿñçčšž"
_PLAIN = "aaaaaaaeeeeeiiiiiooooooouuuuuyyncesz"
# PostgreSQL: the words of a product's names and descriptions, folded (lower case, no
# accents), as a text-search vector; indexed (GIN), so a catalogue search is an index lookup.
# db.catalogue.search_ids queries this very expression. SQLite searches with LIKE instead.
SEARCH_VECTOR = (
    "to_tsvector('simple'::regconfig, translate(lower("
    "coalesce(name, '') || ' ' || coalesce(name_en, '') || ' ' || "
    "coalesce(description, '') || ' ' || coalesce(description_en, '')), "
    f"'{_ACCENTED}', '{_PLAIN}'))"
)
# The same expression as PostgreSQL spells it back (so that Alembic's comparison agrees).
_SEARCH_VECTOR_AS_STORED = (
    "to_tsvector('simple'::regconfig, translate(lower((((((COALESCE(name, "
    "''::character varying)::text || ' '::text) || COALESCE(name_en, "
    "''::character varying)::text) || ' '::text) || COALESCE(description, ''::text)) || "
    "' '::text) || COALESCE(description_en, ''::text)), "
    f"'{_ACCENTED}'::text, '{_PLAIN}'::text))"
)
Index(
    "ix_products_search",
    text(_SEARCH_VECTOR_AS_STORED),
    postgresql_using="gin",
    _table=Product.__table__,  # type: ignore[arg-type]  # a mapped class's Table
).ddl_if(dialect="postgresql")


class InquiryState(StrEnum):
    new = "new"
    forwarded = "forwarded"  # queued to the admins' chat (and the producer, with consent)
    answered = "answered"  # the producer tapped an answer


class Inquiry(Base):
    """A buyer's question about a product, from the catalogue's form. The producer's erasure
    unlinks it (product and business set NULL); the product's name stays for the admins."""

    __tablename__ = "inquiries"
    __table_args__ = (
        Index("ix_inquiries_source_created", "source", "created_at"),
        Index("ix_inquiries_state_created", "state", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int | None] = mapped_column(
        ForeignKey("products.id", ondelete="SET NULL"), index=True
    )
    business_id: Mapped[int | None] = mapped_column(
        ForeignKey("businesses.id", ondelete="SET NULL"), index=True
    )
    product_name: Mapped[str | None] = mapped_column(String(100))
    buyer_name: Mapped[str] = mapped_column(String(100))
    company: Mapped[str | None] = mapped_column(String(150))
    country: Mapped[str] = mapped_column(String(60))
    email: Mapped[str] = mapped_column(String(254))
    quantity: Mapped[str | None] = mapped_column(String(60))
    message: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(8))
    # A keyed hash of the sender's address, for the rate limit; cleared after a day.
    source: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), default=InquiryState.new)
    answer: Mapped[str | None] = mapped_column(String(16))  # interested | not_now
    answered_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
