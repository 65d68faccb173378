"""The words of the exports in the admin's language: column headers and value labels
(db/exports.py decides the layout, this module the wording), and the filters an admin types."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from db.businesses import SECTORS
from db.exports import REVIEW_STATUSES, Filters, Presenter, What
from db.models import ProductStatus, ReviewDecision
from db.products import STORED
from db.regions import get_region, search_regions
from handlers.features.fields import PRODUCT_FIELD_LABELS
from handlers.features.review.card import DECISION_LABELS, REASONS
from handlers.i18n import N_
from handlers.kit.context import Translate
from handlers.kit.labels import LEGAL_LABELS, SECTOR_LABELS, STATUS_LABELS
from handlers.kit.parsing import SECTOR_ALIASES
from handlers.rules.rubric import CRITERIA, CRITERION_SHORT

HEADERS = {
    "business_id": N_("Business ID"),
    "name": N_("Name"),
    "owner_name": N_("Owner"),
    "phone": N_("Phone"),
    "regency_code": N_("Regency code"),
    "regency": N_("Regency / city"),
    "sector": N_("Sector"),
    "nib": N_("NIB"),
    "legal_docs": N_("Legal documents"),
    "capacity": N_("Capacity"),
    "capacity_unit": N_("Capacity unit"),
    "export_markets": N_("Export markets"),
    "registered_at": N_("Registered (WIB)"),
    "contact_consent": N_("Agrees to be contacted"),
    "product_id": N_("Product ID"),
    "business": N_("Business"),
    "status": N_("Status"),
    "round": N_("Round"),
    "price_idr": N_("Price (Rp)"),
    "unit": N_("Unit"),
    "min_order": N_("Minimum order"),
    "monthly_capacity": N_("Monthly capacity"),
    "submitted_at": N_("Submitted (WIB)"),
    "grade": N_("Grade"),
    "scores": N_("Scores"),
    "decided_at": N_("Decided (WIB)"),
    "hs_code": N_("HS code"),
    "review_id": N_("Review ID"),
    "product": N_("Product"),
    "review_chat": N_("Review chat"),
    "curator": N_("Curator"),
    "claimed_at": N_("Claimed (WIB)"),
    "decision": N_("Decision"),
    "reasons": N_("Reasons"),
    "reason_text": N_("Written reason"),
    "override": N_("Grade overridden"),
}
# A product field's column without a header above reads as the field's label.
FIELD_HEADERS = {
    stored.export[0]: PRODUCT_FIELD_LABELS[field]
    for field, stored in STORED.items()
    if not isinstance(stored.export, str)
}
PENDING = N_("pending")


class LabelPresenter:
    """Headers and labels in one language (`t`): "Makanan & minuman", not `food`."""

    def __init__(self, t: Translate) -> None:
        self.t = t
        self._cache: dict[tuple[str, str], str] = {}

    def header(self, key: str) -> str:
        return self.t(HEADERS.get(key) or FIELD_HEADERS.get(key, key))

    def label(self, key: str, value: Any) -> str:
        if isinstance(value, bool):
            return self.t("yes") if value else self.t("no")
        if isinstance(value, dict):
            return ", ".join(
                f"{self.t(CRITERION_SHORT.get(k) or k)} {v}"
                for k, v in sorted(value.items(), key=lambda kv: _order(kv[0]))
            )
        if isinstance(value, list | tuple):
            vocabulary: Mapping[str, str] = (
                REASONS if key == "reasons" else LEGAL_LABELS if key == "legal_docs" else {}
            )
            return ", ".join(self.t(vocabulary[v]) if v in vocabulary else str(v) for v in value)
        text = str(value)
        found = self._cache.get((key, text))
        if found is None:
            found = self._cache[(key, text)] = self._word(key, text)
        return found

    def _word(self, key: str, text: str) -> str:
        if key == "sector":
            return self.t(SECTOR_LABELS.get(text, SECTOR_LABELS["other"]))
        if key == "status" and text in ProductStatus.__members__:
            return self.t(STATUS_LABELS[ProductStatus(text)])
        if key == "decision" and text in ReviewDecision.__members__:
            return self.t(DECISION_LABELS[ReviewDecision(text)])
        if key == "nib" and text == "none":
            return self.t("none")
        return text


def _order(criterion: str) -> int:
    return CRITERIA.index(criterion) if criterion in CRITERIA else len(CRITERIA)


def presenter(t: Translate) -> Presenter:
    return LabelPresenter(t)


# --- filters as typed ----------------------------------------------------------------------


class FilterError(ValueError):
    """A filter word that names nothing; the message is an English msgid with {value}."""

    def __init__(self, msgid: str, value: str) -> None:
        super().__init__(msgid)
        self.msgid = msgid
        self.value = value


def sector_code(word: str) -> str | None:
    w = word.strip().lower()
    if w in SECTORS:
        return w
    for code, aliases in SECTOR_ALIASES.items():
        if w in aliases:
            return code
    return None


def region_code(word: str) -> str | None:
    """A BPS code ("35.07", "3507") or a name that finds exactly one regency."""
    w = word.strip()
    region = get_region(w)
    if region is not None:
        return region.code
    found = search_regions(w.replace("_", " "))
    return found[0].code if len(found) == 1 else None


def parse_day(text: str) -> date | None:
    for fmt in ("%d/%m/%Y", "%d-%m-%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(text.strip(), fmt).date()
        except ValueError:
            continue
    return None


STATUS_WORDS = {
    **{s.value: s.value for s in ProductStatus},
    "disetujui": "approved",
    "ditolak": "rejected",
    "revisi": "revision_requested",
    "menunggu": "submitted",
    "diajukan": "submitted",
    "ditinjau": "in_review",
    "draf": "draft",
    "pending": "pending",
}


@dataclass(frozen=True, slots=True)
class Typed:
    """Filters as typed: `sektor:food wilayah:35.07 status:approved dari:01/11/2026`."""

    sectors: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    first: date | None = None
    last: date | None = None

    def filters(self, timezone: str) -> Filters:
        since, until = Filters.local_days(self.first, self.last, timezone)
        return Filters(self.sectors, self.regions, self.statuses, since, until)


KEYS = {
    "sektor": "sector",
    "sector": "sector",
    "wilayah": "region",
    "kabupaten": "region",
    "kota": "region",
    "regency": "region",
    "status": "status",
    "dari": "from",
    "from": "from",
    "sejak": "from",
    "sampai": "to",
    "to": "to",
    "until": "to",
}


def parse_filters(words: list[str], what: What) -> Typed:
    """`key:value` words into filters; raises FilterError naming the word that is wrong."""
    sectors: list[str] = []
    regions: list[str] = []
    statuses: list[str] = []
    first: date | None = None
    last: date | None = None
    allowed = REVIEW_STATUSES if what == "reviews" else tuple(s.value for s in ProductStatus)
    for word in words:
        key, sep, value = word.partition(":")
        if not sep:
            key, sep, value = word.partition("=")
        kind = KEYS.get(key.strip().lower())
        if not sep or kind is None or not value:
            raise FilterError(N_("I don't know the filter {value}."), word[:40])
        if kind == "sector":
            code = sector_code(value)
            if code is None:
                raise FilterError(N_("No sector is called {value}."), value[:40])
            sectors.append(code)
        elif kind == "region":
            code = region_code(value)
            if code is None:
                raise FilterError(N_("No single regency or city matches {value}."), value[:40])
            regions.append(code)
        elif kind == "status":
            status = STATUS_WORDS.get(value.strip().lower())
            if status is None or status not in allowed:
                raise FilterError(N_("No status is called {value}."), value[:40])
            statuses.append(status)
        else:
            day = parse_day(value)
            if day is None:
                raise FilterError(N_("{value} is not a date (day/month/year)."), value[:40])
            if kind == "from":
                first = day
            else:
                last = day
    if first and last and last < first:
        raise FilterError(N_("The period ends before it starts: {value}."), f"{first} > {last}")
    return Typed(tuple(sectors), tuple(regions), tuple(statuses), first, last)


def describe(t: Translate, typed: Typed) -> str:
    """The filters in words ("all rows" when none)."""
    parts: list[str] = []
    if typed.sectors:
        parts.append(", ".join(t(SECTOR_LABELS[s]) for s in typed.sectors))
    for code in typed.regions:
        region = get_region(code)
        parts.append(region.label if region else code)
    if typed.statuses:
        parts.append(
            ", ".join(
                t(STATUS_LABELS[ProductStatus(s)]) if s in ProductStatus.__members__ else t(PENDING)
                for s in typed.statuses
            )
        )
    if typed.first or typed.last:
        parts.append(
            t(
                "{first} to {last}",
                first=typed.first.strftime("%d/%m/%Y") if typed.first else "…",
                last=typed.last.strftime("%d/%m/%Y") if typed.last else "…",
            )
        )
    return "; ".join(parts) if parts else t("all rows")
