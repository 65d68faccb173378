"""Exports of the UMKM database: businesses, products, review history as CSV or XLSX.

Rows stream from the database in batches (a server-side cursor on PostgreSQL) and go straight
into the file (openpyxl's write-only workbook keeps rows on disk until saved), so memory stays
flat however many rows there are. Phone numbers leave only when asked for, and then the
export is written to the audit trail.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator, Sequence
from datetime import date, datetime
from typing import IO, Any, Literal

from sqlalchemy import Executable, and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import AuditEvent, Business, Product, Review
from db.regions import get_region

What = Literal["businesses", "products", "reviews"]
Format = Literal["csv", "xlsx"]
WHATS: tuple[What, ...] = ("businesses", "products", "reviews")
FORMATS: tuple[Format, ...] = ("csv", "xlsx")
BATCH = 1000

MIME = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

_NUMBER_LIKE = re.compile(r"[+-]?[0-9][0-9 .,]*")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> str | int | None:
    """One value as it goes into both formats, so CSV and XLSX hold the same rows.

    Text that a spreadsheet would run as a formula gets a leading apostrophe (phone numbers
    and negative numbers are left alone).
    """
    if value is None:
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        value = ";".join(str(v) for v in value)
    elif isinstance(value, dict):
        value = ";".join(f"{k}={v}" for k, v in sorted(value.items()))
    text = str(value)
    if text.startswith(_FORMULA_START) and not _NUMBER_LIKE.fullmatch(text):
        text = "'" + text
    return text


def _regency(code: str | None) -> str | None:
    region = get_region(code) if code else None
    return region.label if region else None


# --- what each export holds -------------------------------------------------------------


def columns(what: What, *, phones: bool = False) -> list[str]:
    if what == "businesses":
        head = ["business_id", "name", "owner_name"]
        return [
            *head,
            *(["phone"] if phones else []),
            "regency_code",
            "regency",
            "sector",
            "nib",
            "legal_docs",
            "capacity",
            "capacity_unit",
            "export_markets",
            "registered_at",
            "contact_consent",
        ]
    if what == "products":
        return [
            "product_id",
            "business_id",
            "business",
            "regency_code",
            "regency",
            "sector",
            "name",
            "status",
            "round",
            "price_idr",
            "unit",
            "min_order",
            "monthly_capacity",
            "legal_docs",
            "submitted_at",
            "grade",
            "scores",
            "decided_at",
        ]
    return [
        "review_id",
        "product_id",
        "product",
        "sector",
        "round",
        "review_chat",
        "curator",
        "submitted_at",
        "claimed_at",
        "decided_at",
        "decision",
        "grade",
        "scores",
        "reasons",
        "override",
    ]


def _query(what: What) -> Executable:
    if what == "businesses":
        return select(Business).order_by(Business.id)
    if what == "products":
        return (
            select(Product, Business.name, Business.region_code, Review)
            .join(Business, Business.id == Product.business_id)
            .outerjoin(Review, and_(Review.product_id == Product.id, Review.round == Product.round))
            .order_by(Product.id)
        )
    return (
        select(Review, Product.name, Product.sector)
        .join(Product, Product.id == Review.product_id)
        .order_by(Review.id)
    )


def _row(what: What, row: Any, phones: bool) -> list[Any]:
    if what == "businesses":
        b: Business = row[0]
        return [
            b.id,
            b.name,
            b.owner_name,
            *([b.phone] if phones else []),
            b.region_code,
            _regency(b.region_code),
            b.sector,
            b.nib if b.has_nib else ("none" if b.has_nib is False else None),
            b.legal_docs,
            b.capacity_amount,
            b.capacity_unit,
            b.export_markets,
            b.registered_at,
            b.contact_consent,
        ]
    if what == "products":
        p: Product = row[0]
        business_name, region_code, review = row[1], row[2], row[3]
        return [
            p.id,
            p.business_id,
            business_name,
            region_code,
            _regency(region_code),
            p.sector,
            p.name,
            p.status,
            p.round,
            p.price,
            p.unit,
            p.min_order,
            p.capacity,
            p.legal_docs,
            p.submitted_at,
            review.grade if review and review.decision else None,
            review.scores if review and review.scores else None,
            review.decided_at if review else None,
        ]
    r: Review = row[0]
    return [
        r.id,
        r.product_id,
        row[1],
        row[2],
        r.round,
        r.chat_id,
        r.curator_name,
        r.created_at,
        r.claimed_at,
        r.decided_at,
        r.decision,
        r.grade,
        r.scores or None,
        r.reasons or None,
        r.override,
    ]


async def rows(
    session: AsyncSession, what: What, *, phones: bool = False, batch: int = BATCH
) -> AsyncIterator[list[list[str | int | None]]]:
    """The export's rows, a batch at a time, read through a streaming cursor."""
    if phones and what != "businesses":
        raise ValueError("phone numbers are only in the businesses export")
    result = await session.stream(_query(what).execution_options(yield_per=batch))
    async for partition in result.partitions(batch):
        # The identity map holds rows weakly: a batch is forgotten once written.
        yield [[cell(v) for v in _row(what, row, phones)] for row in partition]


async def audit_phone_export(
    session: AsyncSession, *, actor_user_id: int | None, via: str, now: datetime
) -> None:
    """Phone numbers left the system: who, when, how (bot or command line)."""
    session.add(
        AuditEvent(at=now, action="export_phones", actor_user_id=actor_user_id, reason_text=via)
    )
    await session.flush()


# --- writers ----------------------------------------------------------------------------


class _Csv:
    def __init__(self, out: IO[bytes]) -> None:
        # UTF-8 with a byte-order mark: Excel then reads Indonesian names right.
        self._text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="", write_through=True)
        self._writer = csv.writer(self._text)

    def write(self, batch: Sequence[Sequence[Any]]) -> None:
        self._writer.writerows(["" if v is None else v for v in row] for row in batch)

    def close(self) -> None:
        self._text.flush()
        self._text.detach()  # the caller owns `out`


class _Xlsx:
    def __init__(self, out: IO[bytes], title: str) -> None:
        from openpyxl import Workbook

        self._out = out
        self._book = Workbook(write_only=True)
        self._sheet = self._book.create_sheet(title)

    def write(self, batch: Sequence[Sequence[Any]]) -> None:
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

        for row in batch:
            self._sheet.append(
                [ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in row]
            )

    def close(self) -> None:
        self._book.save(self._out)


async def write_export(
    session: AsyncSession,
    what: What,
    fmt: Format,
    out: IO[bytes],
    *,
    phones: bool = False,
    batch: int = BATCH,
) -> int:
    """Write the export to `out` (a binary file); returns the number of data rows."""
    writer: _Csv | _Xlsx = _Csv(out) if fmt == "csv" else _Xlsx(out, what)
    writer.write([columns(what, phones=phones)])
    count = 0
    async for chunk in rows(session, what, phones=phones, batch=batch):
        writer.write(chunk)
        count += len(chunk)
    writer.close()
    return count


def filename(what: What, fmt: Format, *, today: date, phones: bool = False) -> str:
    return f"kurasi-{what}{'-with-phones' if phones else ''}-{today.isoformat()}.{fmt}"
