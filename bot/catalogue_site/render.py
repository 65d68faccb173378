"""The catalogue's pages, drawn from one set of templates for the live app and the static site.

What differs between the two is only where things are: `Links` says it (relative links
either way, so a saved page or a copied folder keeps working). Free text a producer wrote
has phone numbers, e-mail addresses and links hidden unless they consented to contact.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from bot.catalogue_site.i18n import C_, LANGUAGES, NAMES, Label, labels
from db.catalogue import CatalogueEntry, CataloguePhoto
from db.regions import all_regions
from handlers.kit.labels import LEGAL_LABELS, SECTOR_LABELS
from handlers.rules.units import UNIT_LABELS, unit_code

TEXT = {
    "title": C_("Curated products of East Java"),
    "intro": C_("Products of East Java's small businesses, approved by Kurasi's curators."),
    "search": C_("Search products"),
    "all_sectors": C_("All sectors"),
    "all_regions": C_("All regencies"),
    "filter": C_("Show"),
    "none": C_("No approved products match."),
    "price": C_("Price"),
    "moq": C_("Minimum order"),
    "capacity": C_("Monthly capacity"),
    "grade": C_("Curation grade"),
    "sector": C_("Sector"),
    "regency": C_("Regency"),
    "shelf_life": C_("Shelf life"),
    "materials": C_("Materials"),
    "certifications": C_("Certifications held"),
    "producer": C_("Producer"),
    "contact": C_("Contact via WhatsApp"),
    "sort": C_("Sort"),
    "newest": C_("Newest first"),
    "by_grade": C_("Best grade first"),
    "previous": C_("Previous"),
    "next": C_("Next"),
    "newer": C_("Newer products"),
    "older": C_("Older products"),
    "all": C_("All products"),
    "back": C_("Back to the catalogue"),
    "photos": C_("Photos"),
    "details": C_("Details"),
    "language": C_("Language"),
    "in_indonesian": C_("(in Indonesian)"),
    "in_english": C_("(in English)"),
    "hidden": C_("[contact hidden]"),
    "indicative": C_("indicative"),
    "hs_code": C_("HS code"),
    "inquiry": C_("Send an inquiry"),
    "inquiry_intro": C_("Kurasi's export desk forwards your inquiry to the producer."),
    "f_name": C_("Your name"),
    "f_company": C_("Company"),
    "f_country": C_("Country"),
    "f_email": C_("E-mail"),
    "f_quantity": C_("Quantity"),
    "f_message": C_("Message"),
    "f_send": C_("Send inquiry"),
    "f_website": C_("Leave this empty"),
    "sectors": C_("Sectors"),
    "pages": C_("Pages"),
    "search_online": C_("Search the live catalogue"),
}


def n_products(lbl: Label, n: int) -> str:
    return lbl("{n} products", n=f"{n:,}") if n != 1 else lbl("1 product")


def page_of(lbl: Label, page: int, pages: int) -> str:
    return lbl("Page {page} of {pages}", page=page, pages=pages)


def days_text(lbl: Label, days: int) -> str:
    if days % 365 == 0:
        return lbl("{n} years", n=days // 365) if days >= 730 else lbl("1 year")
    if days % 30 == 0:
        return lbl("{n} months", n=days // 30) if days >= 60 else lbl("1 month")
    return lbl("{n} days", n=days)


_C_EXTRA = (  # plural and value forms, for the catalog check
    C_("{n} products"),
    C_("1 product"),
    C_("Page {page} of {pages}"),
    C_("{n} years"),
    C_("1 year"),
    C_("{n} months"),
    C_("1 month"),
    C_("{n} days"),
    C_("Indicative at the rate of {date}"),
    C_("per {unit}"),
)

_PHONE = re.compile(r"(?<![\w/])\+?\d[\d \t().-]{6,}\d")
_LINK = re.compile(
    r"(?i)\b(?:https?://|www\.)\S+|\b[\w.+-]+@[\w-]+\.[\w.-]+|"
    r"\b[\w-]+\.(?:com|id|net|org|co|me|shop|store|info|biz)(?:/\S*)?\b"
)


def mask(text: str | None, *, consent: bool, hidden: str) -> str:
    """`text` with phone numbers, e-mail addresses and links replaced, unless `consent`."""
    if not text or consent:
        return text or ""
    return _PHONE.sub(hidden, _LINK.sub(hidden, text))


def slug(name: str) -> str:
    """ASCII words of a name for its URL ("Kursi Jati Teras" -> "kursi-jati-teras")."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", plain.lower())
    return "-".join(words)[:60].strip("-") or "produk"


def product_path(entry: CatalogueEntry) -> str:
    return f"{entry.id}-{slug(entry.name_en or entry.name)}"


class Links(Protocol):
    """Where things are, relative to the page being drawn."""

    def listing(self, lang: str, **params: Any) -> str: ...
    def detail(self, entry: CatalogueEntry, lang: str) -> str: ...
    def photo(self, photo: CataloguePhoto, size: str) -> str: ...
    def inquiry(self) -> str | None: ...
    def search(self) -> str | None: ...


@dataclass(frozen=True)
class Rates:
    date: str | None = None
    per_unit: dict[str, float] = field(default_factory=dict)  # rupiah for one USD/JPY/CNY

    def indicative(self, rupiah: int | None) -> list[tuple[str, str]]:
        if rupiah is None:
            return []
        out = []
        for code, rate in self.per_unit.items():
            value = rupiah / rate
            digits = 0 if code == "JPY" or value >= 100 else 2
            out.append((code, f"{value:,.{digits}f}"))
        return out


@dataclass
class Listing:
    """One listing page as drawn."""

    entries: Sequence[CatalogueEntry]
    total: int | None  # None: not shown (a static archive page)
    page: int | None = None
    pages: int | None = None
    prev_href: str | None = None
    next_href: str | None = None
    prev_label: str = "previous"
    next_label: str = "next"
    page_links: list[tuple[str, str, bool]] = field(default_factory=list)
    filters: dict[str, str] = field(default_factory=dict)
    sector_links: list[tuple[str, str, bool]] = field(default_factory=list)
    live: bool = True


class Pages:
    """The Jinja2 environment (autoescaped) and the drawing of each page kind."""

    def __init__(self, rates: Rates | None = None) -> None:
        self.env = Environment(
            loader=PackageLoader("bot", "catalogue_site/templates"),
            autoescape=select_autoescape(["html", "xml"]),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.rates = rates or Rates()
        self._fixed: dict[str, dict[str, Any]] = {}
        self._listing = self.env.get_template("listing.html")
        self._detail = self.env.get_template("detail.html")
        self._thanks = self.env.get_template("thanks.html")

    def fingerprint(self) -> str:
        """Changes when a template or the rates change: the static site then redraws all."""
        import hashlib

        h = hashlib.sha256()
        assert self.env.loader is not None
        for name in sorted(self.env.list_templates()):
            source, _f, _u = self.env.loader.get_source(self.env, name)
            h.update(source.encode())
        h.update(repr((self.rates.date, sorted(self.rates.per_unit.items()))).encode())
        for lang in LANGUAGES:
            h.update(repr(sorted(labels_table(lang).items())).encode())
        return h.hexdigest()[:16]

    def _common(
        self, lang: str, links: Links, switch: dict[str, str], csp: str | None
    ) -> dict[str, Any]:
        fixed = self._fixed.get(lang)
        if fixed is None:
            fixed = self._fixed[lang] = self._language_context(lang)
        return {**fixed, "switch": switch, "csp": csp, "links": links}

    def _language_context(self, lang: str) -> dict[str, Any]:
        """What a page needs that depends on its language only (made once per language)."""
        lbl = labels(lang)
        sectors = {code: lbl(label) for code, label in SECTOR_LABELS.items()}
        return {
            "lang": lang,
            "t": lbl,
            "text": {k: lbl(v) for k, v in TEXT.items()},
            "languages": [(code, NAMES[code]) for code in LANGUAGES],
            "shown": lambda e: shown(e, lang, lbl),
            "sector_label": lambda code: sectors.get(code) or sectors["other"],
            "legal": lambda code: lbl(LEGAL_LABELS.get(code) or str(code)),
            "unit": lambda u: unit_label(lbl, u),
            "rupiah": lambda n: f"Rp {n:,}".replace(",", ".") if n is not None else "—",
            "number": lambda n: f"{n:,}",
            "days": lambda n: days_text(lbl, n),
            "indicative": self.rates.indicative,
            "rate_note": lbl("Indicative at the rate of {date}", date=self.rates.date)
            if self.rates.per_unit and self.rates.date
            else None,
            "n_products": lambda n: n_products(lbl, n),
            "page_of": lambda p, n: page_of(lbl, p, n),
        }

    def listing(
        self,
        lang: str,
        listing: Listing,
        links: Links,
        *,
        hreflang: dict[str, str],
        switch: dict[str, str],
        csp: str | None = None,
    ) -> str:
        lbl = labels(lang)
        return self._listing.render(
            **self._common(lang, links, switch, csp),
            view=listing,
            sectors=[(code, lbl(label)) for code, label in SECTOR_LABELS.items()],
            regions=[(r.code, r.label) for r in all_regions()],
            hreflang=hreflang,
        )

    def detail(
        self,
        lang: str,
        entry: CatalogueEntry,
        links: Links,
        *,
        hreflang: dict[str, str],
        switch: dict[str, str],
        csp: str | None = None,
        canonical: str | None = None,
        og_image: str | None = None,
        hs_code: str | None = None,
    ) -> str:
        common = self._common(lang, links, switch, csp)
        view = shown(entry, lang, common["t"])
        hs_code = hs_code or entry.hs_code
        return self._detail.render(
            **common,
            e=entry,
            view=view,
            hreflang=hreflang,
            canonical=canonical,
            og_image=og_image,
            # The confirmed HS heading (curator assist), in the JSON-LD too; none drawn if none.
            hs_code=hs_code,
            # json.dumps with <, > and & escaped: safe inside its script element.
            jsonld=Markup(jsonld(entry, view, links, canonical, hs_code)),  # noqa: S704
        )

    def thanks(self, lang: str, *, ok: bool, message: str, back: str) -> str:
        return self._thanks.render(
            lang=lang, text={k: labels(lang)(v) for k, v in TEXT.items()}, ok=ok,
            message=message, back=back,
        )  # fmt: skip


def labels_table(lang: str) -> dict[str, str]:
    from bot.catalogue_site.i18n import messages

    return messages(lang)


def unit_label(lbl: Label, unit: str | None) -> str:
    if not unit:
        return ""
    code = unit_code(unit)
    return lbl(UNIT_LABELS[code]) if code else unit


@dataclass(frozen=True)
class Shown:
    """A product's texts in the buyer's language, or in the language they exist in."""

    name: str
    name_lang: str
    description: str
    description_lang: str
    materials: str
    note_name: str | None  # "(in Indonesian)" when not in the buyer's language
    note_description: str | None


def shown(entry: CatalogueEntry, lang: str, lbl: Label) -> Shown:
    hidden = lbl(TEXT["hidden"])
    consent = entry.contact_consent
    notes = {"id": lbl(TEXT["in_indonesian"]), "en": lbl(TEXT["in_english"])}
    if lang != "id" and entry.name_en:
        name, name_lang = entry.name_en, "en"
    else:
        name, name_lang = entry.name, "id"
    if lang != "id" and entry.description_en:
        desc, desc_lang = entry.description_en, "en"
    else:
        desc, desc_lang = entry.description_id or "", "id"
    return Shown(
        name=mask(name, consent=consent, hidden=hidden),
        name_lang=name_lang,
        description=mask(desc, consent=consent, hidden=hidden),
        description_lang=desc_lang,
        materials=mask(entry.materials, consent=consent, hidden=hidden),
        note_name=None if name_lang == lang else notes[name_lang],
        note_description=None if not desc or desc_lang == lang else notes[desc_lang],
    )


def jsonld(
    entry: CatalogueEntry,
    view: Shown,
    links: Links,
    canonical: str | None,
    hs_code: str | None = None,
) -> str:
    """schema.org Product for the detail page (escaped so it cannot close its script tag)."""
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "Product",
        "sku": str(entry.id),
        "name": view.name,
        "description": view.description,
        "category": entry.sector,
        "image": [links.photo(p, "full") for p in entry.photos],
        "brand": {"@type": "Brand", "name": entry.business_name},
    }
    if canonical:
        data["url"] = canonical
    if entry.price_idr is not None:
        data["offers"] = {
            "@type": "Offer",
            "price": entry.price_idr,
            "priceCurrency": "IDR",
            "availability": "https://schema.org/InStock",
        }
    if entry.grade:
        data["additionalProperty"] = [
            {"@type": "PropertyValue", "name": "curation_grade", "value": entry.grade}
        ]
    if hs_code:
        data.setdefault("additionalProperty", []).append(
            {"@type": "PropertyValue", "name": "hs_code", "value": hs_code}
        )
    text = json.dumps(data, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


# --- the JSON document (catalogue.json, /katalog.json) ----------------------------------


def entry_json(
    entry: CatalogueEntry,
    photos: list[str],
    *,
    rates: Rates | None = None,
    url: str | None = None,
    hs_code: str | None = None,
) -> dict[str, Any]:
    hidden = "[…]"
    consent = entry.contact_consent
    doc: dict[str, Any] = {
        "id": entry.id,
        "name": mask(entry.name, consent=consent, hidden=hidden),
        "name_en": mask(entry.name_en, consent=consent, hidden=hidden) or None,
        "sector": entry.sector,
        "description": {
            "id": mask(entry.description_id, consent=consent, hidden=hidden) or None,
            "en": mask(entry.description_en, consent=consent, hidden=hidden) or None,
        },
        "price_idr": entry.price_idr,
        "unit": entry.unit,
        "unit_code": unit_code(entry.unit) if entry.unit else None,
        "min_order": entry.min_order,
        "monthly_capacity": entry.monthly_capacity,
        "materials": mask(entry.materials, consent=consent, hidden=hidden) or None,
        "shelf_life_days": entry.shelf_life_days,
        "certifications": entry.certifications,
        "grade": entry.grade,
        "approved_at": entry.approved_at.isoformat() if entry.approved_at else None,
        "business": {
            "name": entry.business_name,
            "regency_code": entry.regency_code,
            "regency": entry.regency,
        },
        "contact": {"whatsapp": entry.whatsapp} if entry.whatsapp else None,
        "photos": photos,
    }
    if rates and rates.per_unit and entry.price_idr is not None:
        doc["indicative_prices"] = {
            "date": rates.date,
            **{code: round(entry.price_idr / r, 2) for code, r in rates.per_unit.items()},
        }
    if url:
        doc["url"] = url
    hs_code = hs_code or entry.hs_code
    if hs_code:  # the confirmed HS heading (curator assist)
        doc["hs_code"] = hs_code
    return doc


def document_head(now: datetime, **extra: Any) -> dict[str, Any]:
    return {"version": 1, "generated_at": now.isoformat(), "currency": "IDR", **extra}


Draw = Callable[[str], str]
