"""Exports of the UMKM database: businesses, products, review history as CSV or XLSX.

Rows stream from the database in batches (a server-side cursor on PostgreSQL, plain column
tuples rather than ORM objects) and go straight into the file (db/xlsx.py streams the sheet
into its ZIP entry), so memory stays flat however many rows there are.

What a spreadsheet user needs is decided here, the words by the caller: every column has a
kind (a date, a number, a code to label, text that must stay text like a phone number or an
NIB), a `Presenter` (handlers/features/export/labels.py) gives the headers and value labels in the
admin's language, dates are written in the configured time zone (real date cells in XLSX),
and the XLSX sheet has a frozen bold header, an autofilter and column widths.

Personal data (owner names and phone numbers) leave only when asked for, and then the
export is written to the audit trail with the person who asked.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import PurePath
from typing import IO, Any, Literal, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Business, Product, Review
from db.products import PRODUCT_FIELDS, STORED, ExportKind, ProductField
from db.regions import get_region

What = Literal["businesses", "products", "reviews"]
Format = Literal["csv", "xlsx"]
WHATS: tuple[What, ...] = ("businesses", "products", "reviews")
FORMATS: tuple[Format, ...] = ("csv", "xlsx")
BATCH = 1000
PERSONAL_ACTION = "export_phones"  # the audit action of an export with personal data

MIME = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "zip": "application/zip",
}

_NUMBER_LIKE = re.compile(r"[+-]?[0-9][0-9 .,]*")
_DIGITS = re.compile(r"\+?[0-9]+")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class FormatError(ValueError):
    """The format asked for and the file's name disagree, or neither names one."""


def format_for(path: str | PurePath, fmt: str | None) -> Format:
    """The export format: `fmt` when given, else the file name's suffix; a `.xlsx` file
    asked to hold CSV (or the reverse) is refused rather than written wrongly."""
    suffix = PurePath(path).suffix.lower().lstrip(".")
    if fmt is not None and fmt not in FORMATS:
        raise FormatError(f"unknown format {fmt!r} (csv or xlsx)")
    if suffix in FORMATS:
        if fmt is not None and fmt != suffix:
            raise FormatError(f"--format {fmt} does not match the file name {PurePath(path).name}")
        return suffix
    if fmt is None:
        raise FormatError(f"cannot tell the format from {PurePath(path).name!r}: use .csv or .xlsx")
    return fmt


def cell(value: Any) -> str | int | None:
    """A raw value as plain text or a number (codes as they are; JSON and bench use it).

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
    return safe_text(str(value))


def safe_text(text: str) -> str:
    if text.startswith(_FORMULA_START) and not _NUMBER_LIKE.fullmatch(text):
        return "'" + text
    return text


def _regency(code: str | None) -> str | None:
    region = get_region(code) if code else None
    return region.label if region else None


# --- what each export holds -------------------------------------------------------------

Kind = ExportKind


@dataclass(frozen=True, slots=True)
class Column:
    """`kind`: int (a number), text, keep (text that must stay text: phone, NIB, codes),
    code (a vocabulary code the presenter labels), when (a moment, shown in local time),
    bool, list (of codes), scores (criterion → 1-3), regency (a BPS code, labelled)."""

    key: str
    kind: Kind
    width: int = 14
    personal: bool = False  # only with personal data asked for (and audited)


# The products export: its own columns, and each exported product field where db/products.py
# STORED says (placed here in their spreadsheet order; a field not placed goes at FIELDS).
_PRODUCT_OWN: dict[str, tuple[Column, Any]] = {
    "product_id": (Column("product_id", "int", 10), Product.id),
    "business_id": (Column("business_id", "int", 10), Product.business_id),
    "business": (Column("business", "text", 28), Business.name),
    "regency_code": (Column("regency_code", "keep", 10), Business.region_code),
    "regency": (Column("regency", "regency", 24), Business.region_code),
    "status": (Column("status", "code", 20), Product.status),
    "round": (Column("round", "int", 7), Product.round),
    "submitted_at": (Column("submitted_at", "when", 17), Product.submitted_at),
    "grade": (Column("grade", "text", 7), Review.grade),
    "scores": (Column("scores", "scores", 30), Review.scores),
    "decided_at": (Column("decided_at", "when", 17), Review.decided_at),
    # curator assist: the confirmed HS heading
    "hs_code": (Column("hs_code", "keep", 10), Product.hs_code),
}
_FIELDS = "fields"  # where exported fields not placed below go
_PRODUCT_ORDER: tuple[str | ProductField, ...] = (
    "product_id",
    "business_id",
    "business",
    "regency_code",
    "regency",
    ProductField.sector,
    ProductField.name,
    "status",
    "round",
    ProductField.price,
    ProductField.unit,
    ProductField.min_order,
    ProductField.capacity,
    ProductField.legal_docs,
    _FIELDS,
    "submitted_at",
    "grade",
    "scores",
    "decided_at",
    "hs_code",
)


def _field_column(field: ProductField) -> list[tuple[Column, Any]]:
    stored = STORED[field]
    if isinstance(stored.export, str) or stored.column is None:
        return []
    key, kind, width = stored.export
    return [(Column(key, kind, width), getattr(Product, stored.column))]


def _product_layout() -> list[tuple[Column, Any]]:
    """The products export's columns with the expression each reads, in order."""
    placed = [f for f in _PRODUCT_ORDER if isinstance(f, ProductField)]
    out: list[tuple[Column, Any]] = []
    for item in _PRODUCT_ORDER:
        if isinstance(item, ProductField):
            out += _field_column(item)
        elif item == _FIELDS:
            out += [c for f in PRODUCT_FIELDS if f not in placed for c in _field_column(f)]
        else:
            out.append(_PRODUCT_OWN[item])
    return out


COLUMNS: dict[What, tuple[Column, ...]] = {
    "businesses": (
        Column("business_id", "int", 10),
        Column("name", "text", 30),
        Column("owner_name", "text", 24, personal=True),
        Column("phone", "keep", 16, personal=True),
        Column("regency_code", "keep", 10),
        Column("regency", "regency", 24),
        Column("sector", "code", 22),
        Column("nib", "keep", 16),
        Column("legal_docs", "list", 20),
        Column("capacity", "int", 10),
        Column("capacity_unit", "text", 12),
        Column("export_markets", "list", 20),
        Column("registered_at", "when", 17),
        Column("contact_consent", "bool", 10),
    ),
    "products": tuple(c for c, _expression in _product_layout()),
    "reviews": (
        Column("review_id", "int", 10),
        Column("product_id", "int", 10),
        Column("product", "text", 30),
        Column("sector", "code", 22),
        Column("round", "int", 7),
        Column("review_chat", "keep", 16),
        Column("curator", "text", 20),
        Column("submitted_at", "when", 17),
        Column("claimed_at", "when", 17),
        Column("decided_at", "when", 17),
        Column("decision", "code", 18),
        Column("grade", "text", 7),
        Column("scores", "scores", 30),
        Column("reasons", "list", 30),
        Column("reason_text", "text", 50),
        Column("override", "bool", 9),
    ),
}


_PRODUCT_KEYS = [c.key for c in COLUMNS["products"]]


def export_columns(what: What, *, personal: bool = False) -> list[Column]:
    return [c for c in COLUMNS[what] if personal or not c.personal]


def columns(what: What, *, phones: bool = False) -> list[str]:
    """The column keys (`phones`: with the personal data: owner names and phone numbers)."""
    return [c.key for c in export_columns(what, personal=phones)]


@dataclass(frozen=True, slots=True)
class Filters:
    """Which rows: sectors, regencies (BPS codes), statuses (a product's; for businesses,
    those with a product in it; for reviews, the round's decision or "pending"), and a
    period [since, until) of registration, submission or the round's opening."""

    sectors: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None

    @staticmethod
    def local_days(
        first: date | None, last: date | None, timezone: str
    ) -> tuple[datetime | None, datetime | None]:
        """Whole local days first..last (inclusive) as [since, until) moments."""
        zone = ZoneInfo(timezone)
        since = datetime.combine(first, time(), tzinfo=zone) if first else None
        until = datetime.combine(last + timedelta(days=1), time(), tzinfo=zone) if last else None
        return since, until

    @property
    def empty(self) -> bool:
        return not (self.sectors or self.regions or self.statuses or self.since or self.until)


REVIEW_STATUSES = ("approved", "revision_requested", "rejected", "pending")


def _period(column: Any, filters: Filters) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = []
    if filters.since is not None:
        found.append(column >= filters.since)
    if filters.until is not None:
        found.append(column < filters.until)
    return found


def _query(what: What, filters: Filters, personal: bool) -> Any:
    f = filters
    if what == "businesses":
        stmt: Any = select(
            Business.id,
            Business.name,
            *((Business.owner_name, Business.phone) if personal else ()),
            Business.region_code,
            Business.region_code,
            Business.sector,
            Business.nib,
            Business.has_nib,
            Business.legal_docs,
            Business.capacity_amount,
            Business.capacity_unit,
            Business.export_markets,
            Business.registered_at,
            Business.contact_consent,
        ).where(*_period(Business.registered_at, f))
        if f.sectors:
            stmt = stmt.where(Business.sector.in_(f.sectors))
        if f.regions:
            stmt = stmt.where(Business.region_code.in_(f.regions))
        if f.statuses:
            stmt = stmt.where(
                exists().where(Product.business_id == Business.id, Product.status.in_(f.statuses))
            )
        return stmt.order_by(Business.id)
    if what == "products":
        stmt = (
            select(*(expression for _c, expression in _product_layout()), Review.decision)
            .join(Business, Business.id == Product.business_id)
            .outerjoin(Review, and_(Review.product_id == Product.id, Review.round == Product.round))
            .where(*_period(Product.submitted_at, f))
        )
        if f.sectors:
            stmt = stmt.where(Product.sector.in_(f.sectors))
        if f.regions:
            stmt = stmt.where(Business.region_code.in_(f.regions))
        if f.statuses:
            stmt = stmt.where(Product.status.in_(f.statuses))
        return stmt.order_by(Product.id)
    stmt = (
        select(
            Review.id,
            Review.product_id,
            Product.name,
            Product.sector,
            Review.round,
            Review.chat_id,
            Review.curator_name,
            Review.created_at,
            Review.claimed_at,
            Review.decided_at,
            Review.decision,
            Review.grade,
            Review.scores,
            Review.reasons,
            Review.reason_text,
            Review.override,
        )
        .join(Product, Product.id == Review.product_id)
        .where(*_period(Review.created_at, f))
    )
    if f.sectors:
        stmt = stmt.where(Product.sector.in_(f.sectors))
    if f.regions:
        stmt = stmt.join(Business, Business.id == Product.business_id).where(
            Business.region_code.in_(f.regions)
        )
    if f.statuses:
        decided = [s for s in f.statuses if s != "pending"]
        stmt = stmt.where(
            or_(
                Review.decision.in_(decided),
                *((Review.decision.is_(None),) if "pending" in f.statuses else ()),
            )
        )
    return stmt.order_by(Review.id)


def _raw(what: What, row: Sequence[Any], personal: bool) -> list[Any]:
    """A result row as the export's values, in `export_columns` order (still raw)."""
    if what == "businesses":
        values = list(row)
        at = 4 if personal else 2
        nib, has_nib = values[at + 3], values[at + 4]
        values[at + 3] = nib if has_nib else ("none" if has_nib is False else None)
        del values[at + 4]
        return values
    if what == "products":
        values = list(row)
        decision = values.pop()
        grade, scores = _PRODUCT_KEYS.index("grade"), _PRODUCT_KEYS.index("scores")
        if not decision:  # a grade and scores only with the decision that gave them
            values[grade] = None
            values[scores] = None
        values[scores] = values[scores] or None
        return values
    values = list(row)
    values[12] = values[12] or None  # scores
    values[13] = values[13] or None  # reasons
    return values


async def count_rows(session: AsyncSession, *, what: What, filters: Filters | None = None) -> int:
    stmt = _query(what, filters or Filters(), False).order_by(None).subquery()
    return int(await session.scalar(select(func.count()).select_from(stmt)) or 0)


async def raw_rows(
    session: AsyncSession,
    *,
    what: What,
    personal: bool = False,
    filters: Filters | None = None,
    batch: int = BATCH,
) -> AsyncIterator[list[list[Any]]]:
    """The export's rows as raw values, a batch at a time, through a streaming cursor."""
    stmt = _query(what, filters or Filters(), personal).execution_options(yield_per=batch)
    result = await session.stream(stmt)
    async for partition in result.partitions(batch):
        yield [_raw(what, row, personal) for row in partition]


async def rows(
    session: AsyncSession,
    *,
    what: What,
    phones: bool = False,
    filters: Filters | None = None,
    batch: int = BATCH,
) -> AsyncIterator[list[list[str | int | None]]]:
    """The export's rows as plain cells (codes, ISO times), a batch at a time."""
    async for chunk in raw_rows(session, what=what, personal=phones, filters=filters, batch=batch):
        yield [[cell(v) for v in row] for row in chunk]


# --- presenting values -------------------------------------------------------------------


class Presenter(Protocol):
    """The words of an export in one language: headers and labels of codes."""

    def header(self, key: str) -> str: ...

    def label(self, key: str, value: Any) -> str: ...


class RawPresenter:
    """Column keys as headers, codes as they are (for programs)."""

    def header(self, key: str) -> str:
        return key

    def label(self, key: str, value: Any) -> str:
        if isinstance(value, bool):
            return "yes" if value else "no"
        if isinstance(value, dict):
            return ";".join(f"{k}={v}" for k, v in sorted(value.items()))
        if isinstance(value, list | tuple):
            return ";".join(str(v) for v in value)
        return str(value)


@dataclass(frozen=True, slots=True)
class Style:
    """How a file is laid out: its time zone, the presenter and, for CSV, the separator
    (";" for a spreadsheet in an Indonesian locale: dates day first and digit strings kept
    as text there too)."""

    timezone: str = "Asia/Jakarta"
    presenter: Presenter = field(default_factory=RawPresenter)
    delimiter: str = ","


def _local(value: datetime, zone: ZoneInfo) -> datetime:
    moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    return moment.astimezone(zone).replace(tzinfo=None, microsecond=0)


def _converters(
    columns_: Sequence[Column], style: Style, zone: ZoneInfo
) -> list[Callable[[Any], Any]]:
    """One function per column from a raw value (never None) to what goes into a file:
    numbers stay numbers, moments become local datetimes, codes become labels, text is made
    safe from formulas. Chosen once per export, not per cell."""
    label = style.presenter.label

    def number(value: Any) -> Any:
        return value if isinstance(value, int) else safe_text(str(value))

    def moment(value: Any) -> Any:
        return _local(value, zone) if isinstance(value, datetime) else value

    def text(value: Any) -> Any:
        return safe_text(str(value))

    def regency(value: Any) -> Any:
        return _regency(value) or safe_text(str(value))

    def words(key: str) -> Callable[[Any], Any]:
        return lambda value: safe_text(label(key, value))

    kinds: dict[str, Callable[[Any], Any]] = {
        "int": number,
        "when": moment,
        "text": text,
        "keep": text,
        "regency": regency,
    }
    return [kinds.get(c.kind) or words(c.key) for c in columns_]


def _presented(
    columns_: Sequence[Column], row: Sequence[Any], style: Style, zone: ZoneInfo
) -> list[Any]:
    """One row's values ready for a file (see `_converters`)."""
    return [
        None if v is None else f(v)
        for f, v in zip(_converters(columns_, style, zone), row, strict=True)
    ]


# --- writers ----------------------------------------------------------------------------


class _Csv:
    def __init__(self, out: IO[bytes], columns_: Sequence[Column], style: Style) -> None:
        # UTF-8 with a byte-order mark: Excel then reads Indonesian names right.
        self._text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="", write_through=True)
        self._writer = csv.writer(self._text, delimiter=style.delimiter)
        self._excel = style.delimiter == ";"
        self._keep = [c.kind == "keep" for c in columns_]
        self._when = "%d/%m/%Y %H:%M" if self._excel else "%Y-%m-%d %H:%M"

    def header(self, names: Sequence[str]) -> None:
        self._writer.writerow(names)

    def write(self, batch: Sequence[Sequence[Any]]) -> None:
        self._writer.writerows(self._line(row) for row in batch)

    def _line(self, row: Sequence[Any]) -> list[Any]:
        line: list[Any] = []
        for keep, value in zip(self._keep, row, strict=True):
            if value is None:
                line.append("")
            elif isinstance(value, datetime):
                line.append(value.strftime(self._when))
            elif keep and self._excel and _DIGITS.fullmatch(value):
                # A spreadsheet would read 0812… or a 13-digit NIB as a number and drop
                # the zero; ="…" keeps it text (only ever around digits).
                line.append(f'="{value}"')
            else:
                line.append(value)
        return line

    def close(self, rows_written: int) -> None:
        self._text.flush()
        self._text.detach()  # the caller owns `out`


class _Xlsx:
    """The sheet through db/xlsx.py (openpyxl's per-cell cost is a minute at 200,000 rows)."""

    def __init__(self, out: IO[bytes], title: str, columns_: Sequence[Column]) -> None:
        from db.xlsx import XlsxWriter

        self._writer = XlsxWriter(out, title, [c.width for c in columns_])

    def header(self, names: Sequence[str]) -> None:
        self._writer.header(names)

    def write(self, batch: Sequence[Sequence[Any]]) -> None:
        self._writer.write(batch)

    def close(self, rows_written: int) -> None:
        self._writer.close(rows_written)


Progress = Callable[[int], Awaitable[None]]


async def write_export(
    session: AsyncSession,
    *,
    what: What,
    fmt: Format,
    out: IO[bytes],
    phones: bool = False,
    filters: Filters | None = None,
    style: Style | None = None,
    batch: int = BATCH,
    progress: Progress | None = None,
) -> int:
    """Write the export to `out` (a binary file); returns the number of data rows.
    `phones`: with the personal data (owner names and phone numbers; audit it first).
    `progress` is awaited with the rows written so far after each batch."""
    style = style or Style()
    zone = ZoneInfo(style.timezone)
    cols = export_columns(what, personal=phones)
    writer: _Csv | _Xlsx = _Csv(out, cols, style) if fmt == "csv" else _Xlsx(out, what, cols)
    writer.header([style.presenter.header(c.key) for c in cols])
    count = 0

    convert = _converters(cols, style, zone)

    def present_and_write(chunk: list[list[Any]]) -> None:
        writer.write(
            [
                [None if v is None else f(v) for f, v in zip(convert, row, strict=True)]
                for row in chunk
            ]
        )

    async for chunk in raw_rows(session, what=what, personal=phones, filters=filters, batch=batch):
        # In a worker thread: a batch of XLSX rows is tens of milliseconds of CPU, which
        # would otherwise stall every other update on the event loop.
        await asyncio.to_thread(present_and_write, chunk)
        count += len(chunk)
        if progress is not None:
            await progress(count)
    await asyncio.to_thread(writer.close, count)
    return count


def filename(
    what: What, fmt: Format, *, today: date, phones: bool = False, suffix: str = ""
) -> str:
    return (
        f"kurasi-{what}{'-with-personal-data' if phones else ''}{suffix}-{today.isoformat()}.{fmt}"
    )
