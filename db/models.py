"""Typed SQLAlchemy models. Schema changes go through Alembic (db/migrations)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.base import Base, JSONType, Timestamped, utcnow


class User(Timestamped, Base):
    """One person on one channel (a Telegram account, a WhatsApp number, the console)."""

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str | None] = mapped_column(String(128))
    username: Mapped[str | None] = mapped_column(String(64))
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

    owner: Mapped[User] = relationship(back_populates="business")


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
