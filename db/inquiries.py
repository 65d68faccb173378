"""Buyers' inquiries from the catalogue: stored, rate-limited by a hashed address, answered
by the producer with a tap (compare-and-set), listed for admins and exported."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import IO, Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.exports import cell
from db.models import Business, Inquiry, InquiryState, Product, ProductStatus, User

ANSWERS = ("interested", "not_now")
SOURCE_KEPT = timedelta(days=1)
COLUMNS = [
    "inquiry_id",
    "created_at",
    "product_id",
    "product",
    "business_id",
    "buyer_name",
    "company",
    "country",
    "email",
    "quantity",
    "message",
    "language",
    "state",
    "answer",
    "answered_at",
]


@dataclass(frozen=True, slots=True)
class Recipient:
    """The producer an inquiry may go to: only when they consented to contact."""

    business_id: int
    product_name: str
    user: User | None  # None when they did not consent


async def product_for_inquiry(session: AsyncSession, *, product_id: int) -> Recipient | None:
    """An approved product's business and name, or None (a forged or withdrawn id)."""
    row = (
        await session.execute(
            select(Product.name, Business.id, Business.contact_consent, User)
            .join(Business, Business.id == Product.business_id)
            .join(User, User.id == Business.owner_id)
            .where(Product.id == product_id, Product.status == ProductStatus.approved)
        )
    ).one_or_none()
    if row is None:
        return None
    name, business_id, consent, user = row
    return Recipient(business_id, name or "", user if consent is True else None)


async def sent_since(session: AsyncSession, *, source: str, since: datetime) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(Inquiry)
        .where(Inquiry.source == source, Inquiry.created_at >= since)
    )
    return int(count or 0)


async def add_inquiry(
    session: AsyncSession,
    *,
    product_id: int,
    business_id: int,
    product_name: str,
    buyer_name: str,
    company: str | None,
    country: str,
    email: str,
    quantity: str | None,
    message: str,
    language: str,
    source: str,
    now: datetime,
) -> Inquiry:
    inquiry = Inquiry(
        product_id=product_id,
        business_id=business_id,
        product_name=product_name[:100],
        buyer_name=buyer_name,
        company=company,
        country=country,
        email=email,
        quantity=quantity,
        message=message,
        language=language,
        source=source,
        state=InquiryState.forwarded,
        created_at=now,
    )
    session.add(inquiry)
    await session.flush()
    return inquiry


async def answer_inquiry(
    session: AsyncSession, *, inquiry_id: int, owner_user_id: int, answer: str, now: datetime
) -> Inquiry | None:
    """The producer's answer, once (compare-and-set on the state); None when it is not theirs
    or was answered already."""
    if answer not in ANSWERS:
        return None
    owned = select(Business.id).where(Business.owner_id == owner_user_id).scalar_subquery()
    done = await session.execute(
        update(Inquiry)
        .where(
            Inquiry.id == inquiry_id,
            Inquiry.state == InquiryState.forwarded,
            Inquiry.business_id == owned,
        )
        .values(state=InquiryState.answered, answer=answer, answered_at=now)
        .execution_options(synchronize_session=False)
    )
    if getattr(done, "rowcount", 0) != 1:
        return None
    return await session.get(Inquiry, inquiry_id, populate_existing=True)


async def get_inquiry(session: AsyncSession, *, inquiry_id: int) -> Inquiry | None:
    return await session.get(Inquiry, inquiry_id)


async def open_inquiries(session: AsyncSession, *, limit: int = 20) -> list[Inquiry]:
    """Inquiries the producer has not answered yet, newest first."""
    found = await session.scalars(
        select(Inquiry)
        .where(Inquiry.state != InquiryState.answered)
        .order_by(Inquiry.created_at.desc(), Inquiry.id.desc())
        .limit(limit)
    )
    return list(found)


async def open_for_owner(
    session: AsyncSession, *, owner_user_id: int, limit: int = 5
) -> list[Inquiry]:
    """A producer's unanswered inquiries, newest first."""
    found = await session.scalars(
        select(Inquiry)
        .join(Business, Business.id == Inquiry.business_id)
        .where(Business.owner_id == owner_user_id, Inquiry.state == InquiryState.forwarded)
        .order_by(Inquiry.created_at.desc(), Inquiry.id.desc())
        .limit(limit)
    )
    return list(found)


async def count_open(session: AsyncSession) -> int:
    count = await session.scalar(
        select(func.count()).select_from(Inquiry).where(Inquiry.state != InquiryState.answered)
    )
    return int(count or 0)


async def forget_sources(session: AsyncSession, *, now: datetime) -> int:
    """Addresses are kept a day (for the rate limit), then cleared."""
    done = await session.execute(
        update(Inquiry)
        .where(Inquiry.source.is_not(None), Inquiry.created_at < now - SOURCE_KEPT)
        .values(source=None)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(done, "rowcount", 0) or 0)


def _row(i: Inquiry) -> list[Any]:
    return [
        i.id,
        i.created_at,
        i.product_id,
        i.product_name,
        i.business_id,
        i.buyer_name,
        i.company,
        i.country,
        i.email,
        i.quantity,
        i.message,
        i.language,
        i.state,
        i.answer,
        i.answered_at,
    ]


async def rows(session: AsyncSession, *, batch: int = 1000) -> AsyncIterator[list[list[Any]]]:
    result = await session.stream(
        select(Inquiry).order_by(Inquiry.id).execution_options(yield_per=batch)
    )
    async for part in result.partitions(batch):
        yield [[cell(v) for v in _row(row[0])] for row in part]


async def write_inquiries(session: AsyncSession, *, fmt: str, out: IO[bytes]) -> int:
    """Every inquiry as CSV (UTF-8 with BOM) or XLSX; returns the number of rows."""
    count = 0
    if fmt == "csv":
        text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="", write_through=True)
        writer = csv.writer(text)
        writer.writerow(COLUMNS)
        async for chunk in rows(session):
            writer.writerows(["" if v is None else v for v in r] for r in chunk)
            count += len(chunk)
        text.flush()
        text.detach()
        return count
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    book = Workbook(write_only=True)
    sheet = book.create_sheet("inquiries")
    sheet.append(COLUMNS)
    async for chunk in rows(session):
        for r in chunk:
            sheet.append([ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in r])
        count += len(chunk)
    book.save(out)
    return count
