"""What destination markets ask of a sector's products: the shipped table
db/data/market_requirements.csv (one row per destination × sector × requirement, each with
its public source), or the rows admins imported (`kurasi requirements import`), checked
against what a producer holds. handlers/rules/readiness.py words it for people."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.businesses import SECTORS
from db.models import Business, MarketRequirement, Product

DESTINATIONS = ("JP", "CN", "US", "EU", "MY", "SA", "AU")
ANY = "*"
# What a row's met_by names: a legal document kind (held with a number), "hs" (a confirmed HS
# heading), "english" (an English description), alternatives joined by "|"; "manual" and
# "importer" are things Kurasi cannot see (to do with the buyer or an agency).
CHECKABLE = frozenset({"nib", "pirt", "bpom", "halal", "sni", "merek", "svlk", "hs", "english"})
OPEN = frozenset({"manual", "importer"})
CSV_HEADER = ("destination", "sector", "requirement", "met_by", "label_en", "label_id", "source")


@dataclass(frozen=True, slots=True)
class Requirement:
    destination: str
    sector: str
    requirement: str
    met_by: str
    label_en: str
    label_id: str
    source: str

    def label(self, language: str) -> str:
        return self.label_id if language == "id" else self.label_en

    def applies(self, destination: str, sector: str | None) -> bool:
        return self.destination in (destination, ANY) and self.sector in (sector, ANY)


@dataclass(frozen=True, slots=True)
class Check:
    requirement: Requirement
    met: bool | None  # None: not something Kurasi can see


@cache
def shipped() -> tuple[Requirement, ...]:
    text = (resources.files("db") / "data" / "market_requirements.csv").read_text("utf-8")
    rows, errors = parse(text)
    if errors:
        raise ValueError(f"db/data/market_requirements.csv: {errors[0]}")
    return tuple(rows)


def checklist(
    rows: Iterable[Requirement], destination: str, sector: str | None, held: frozenset[str]
) -> list[Check]:
    """`held`: the kinds the producer holds with a number, plus "hs" and "english"."""
    checks = []
    for row in rows:
        if not row.applies(destination, sector):
            continue
        options = set(row.met_by.split("|"))
        met = None if options & OPEN else bool(options & held)
        checks.append(Check(row, met))
    return checks


def score(checks: list[Check]) -> tuple[int, int]:
    """(met, checkable) of a checklist."""
    known = [c for c in checks if c.met is not None]
    return sum(1 for c in known if c.met), len(known)


def parse(text: str) -> tuple[list[Requirement], list[tuple[int, str]]]:
    """A requirements CSV read and checked row by row: (rows, [(line, problem)])."""
    text = text.removeprefix("\ufeff")
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[Requirement] = []
    errors: list[tuple[int, str]] = []
    seen: dict[tuple[str, str, str], int] = {}
    previous_end = 0
    try:
        for cells in reader:
            line = previous_end + 1
            previous_end = reader.line_num
            if line == 1:
                if tuple(c.strip().lower() for c in cells) != CSV_HEADER:
                    return [], [(1, "the header must be exactly: " + ",".join(CSV_HEADER))]
                continue
            if not any(c.strip() for c in cells):
                continue
            if len(cells) != len(CSV_HEADER):
                errors.append((line, f"expected {len(CSV_HEADER)} columns, found {len(cells)}"))
                continue
            cell = dict(zip(CSV_HEADER, (c.strip() for c in cells), strict=True))
            problems = []
            destination = cell["destination"].upper()
            if destination not in (*DESTINATIONS, ANY):
                known = ", ".join(DESTINATIONS)
                problems.append(f"destination must be one of {known} or *")
            if cell["sector"] not in (*SECTORS, ANY):
                problems.append("sector must be one of " + ", ".join(SECTORS) + " or *")
            if not cell["requirement"] or len(cell["requirement"]) > 40:
                problems.append("requirement: a short code of at most 40 characters")
            options = set(cell["met_by"].split("|"))
            if not options <= CHECKABLE | OPEN:
                problems.append("met_by must be " + "|".join(sorted(CHECKABLE | OPEN)))
            for name in ("label_en", "label_id"):
                if not cell[name] or len(cell[name]) > 300:
                    problems.append(f"{name} is required (at most 300 characters)")
            if not cell["source"].startswith(("https://", "http://")) or len(cell["source"]) > 300:
                problems.append("source must be an http:// or https:// address")
            key = (destination, cell["sector"], cell["requirement"])
            if not problems and key in seen:
                problems.append(f"the same requirement as line {seen[key]}")
            if problems:
                errors.extend((line, p) for p in problems)
                continue
            seen[key] = line
            rows.append(Requirement(**{**cell, "destination": destination}))
    except csv.Error as exc:
        errors.append((previous_end + 1, f"unreadable CSV: {exc}"))
    if previous_end == 0:
        return [], [(1, "the file is empty; the header must be: " + ",".join(CSV_HEADER))]
    return rows, errors


# --- stored rows -------------------------------------------------------------------------


async def requirement_rows(session: AsyncSession) -> list[Requirement]:
    """The imported table, or the shipped one while nothing was imported."""
    stored = (await session.scalars(select(MarketRequirement).order_by(MarketRequirement.id))).all()
    if not stored:
        return list(shipped())
    return [
        Requirement(
            r.destination, r.sector, r.requirement, r.met_by, r.label_en, r.label_id, r.source
        )
        for r in stored
    ]


async def replace_requirements(session: AsyncSession, *, rows: Sequence[Requirement]) -> int:
    """The imported file becomes the whole table (the shipped rows no longer apply)."""
    await session.execute(delete(MarketRequirement))
    session.add_all(
        MarketRequirement(
            destination=r.destination,
            sector=r.sector,
            requirement=r.requirement,
            met_by=r.met_by,
            label_en=r.label_en,
            label_id=r.label_id,
            source=r.source,
        )
        for r in rows
    )
    await session.flush()
    return len(rows)


def held_by(product: Product, business: Business | None) -> frozenset[str]:
    """What a product can show a market: documents held with a number, an NIB, a confirmed
    HS heading ("hs") and an English description ("english")."""
    held = {kind for kind, number in (product.legal_numbers or {}).items() if number}
    if business is not None and business.has_nib and business.nib:
        held.add("nib")
    if product.hs_code:
        held.add("hs")
    if product.description_en:
        held.add("english")
    return frozenset(held)


@dataclass(frozen=True, slots=True)
class ExportFacts:
    """For the catalogue: the HS heading and, per destination, (met, checkable)."""

    hs_code: str | None
    readiness: dict[str, tuple[int, int]]


async def product_export_facts(session: AsyncSession, *, product_id: int) -> ExportFacts | None:
    found = (
        await session.execute(
            select(Product, Business)
            .join(Business, Product.business_id == Business.id)
            .where(Product.id == product_id)
        )
    ).first()
    if found is None:
        return None
    product, business = found
    rows = await requirement_rows(session)
    held = held_by(product, business)
    markets = product.target_markets or list(DESTINATIONS)
    return ExportFacts(
        product.hs_code or None,
        {d: score(checklist(rows, d, product.sector, held)) for d in markets if d in DESTINATIONS},
    )
