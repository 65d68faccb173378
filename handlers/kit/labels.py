"""Labels shared by the flows: sectors, legal documents, regions, money; their choice
options, and the inputs that ask a business's and a product's sector and documents."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from db.businesses import LEGAL_DOCS, SECTORS
from db.models import ProductStatus
from db.regions import get_region, search_regions
from handlers.i18n import N_
from handlers.kit.context import LANGUAGES, Context, Translate
from handlers.kit.forms.inputs import ChecklistInput, ChoiceInput
from handlers.kit.parsing import SECTOR_ALIASES
from handlers.kit.render import Option

SECTOR_LABELS = {
    "food": N_("Food & beverage"),
    "fashion": N_("Fashion"),
    "handicraft": N_("Handicraft"),
    "furniture": N_("Furniture"),
    "agribusiness": N_("Agribusiness"),
    "spa": N_("Spa, herbal & cosmetics"),
    "other": N_("Other"),
}
LEGAL_LABELS = {
    "pirt": "PIRT",
    "bpom": "BPOM",
    "halal": "Halal",
    "sni": "SNI",
    "merek": N_("Trademark (HKI)"),
}

# Words people type for a legal document, beside its label (sectors: SECTOR_ALIASES).
LEGAL_ALIASES: dict[str, tuple[str, ...]] = {
    "pirt": ("p-irt", "spp-irt", "sppirt"),
    "bpom": ("pom", "badan pom"),
    "halal": ("sertifikat halal", "mui"),
    "sni": ("standar nasional indonesia",),
    "merek": ("merek", "merk", "hki", "haki", "trademark", "merek dagang"),
}


def _all_languages(ctx: Context, label: str) -> tuple[str, ...]:
    return tuple(ctx.translator(lang)(label) for lang in LANGUAGES)


def sector_options(ctx: Context, first: str | None = None) -> list[Option]:
    """Every sector, `first` (the business's own) first and starred."""
    order = [first, *[s for s in SECTORS if s != first]] if first in SECTORS else list(SECTORS)
    return [
        Option(
            code,
            ("⭐ " if code == first else "") + ctx.t(SECTOR_LABELS[code]),
            _all_languages(ctx, SECTOR_LABELS[code]) + SECTOR_ALIASES.get(code, ()),
        )
        for code in order
        if code is not None
    ]


def region_label(code: str | None) -> str | None:
    """ "Kabupaten Malang" for its BPS code ("35.07"); None when unknown."""
    region = get_region(code or "")
    return region.label if region else None


def region_option(code: str) -> Option | None:
    region = get_region(code)
    return Option(region.code, region.label) if region else None


def region_options(query: str) -> list[Option]:
    """The regions a typed name finds (db/regions.py's search), best first."""
    return [Option(r.code, r.label) for r in search_regions(query)]


# The documents that can apply to a sector's products (cloth needs no PIRT, BPOM or Halal);
# a sector not named here is offered all of them.
SECTOR_DOCS: dict[str, tuple[str, ...]] = {
    "fashion": ("sni", "merek"),
    "handicraft": ("sni", "merek"),
    "furniture": ("sni", "merek"),
    "spa": ("bpom", "halal", "sni", "merek"),
}


def legal_options(
    ctx: Context, sector: str | None = None, held: list[str] | None = None
) -> list[Option]:
    """The documents to tick: those of `sector`, and any already `held`."""
    wanted = set(SECTOR_DOCS.get(sector or "", LEGAL_DOCS)) | set(held or [])
    return [
        Option(
            doc,
            ctx.t(LEGAL_LABELS[doc]),
            _all_languages(ctx, LEGAL_LABELS[doc]) + LEGAL_ALIASES.get(doc, ()),
        )
        for doc in LEGAL_DOCS
        if doc in wanted
    ]


DOC_HELP = {
    "pirt": N_("PIRT: home-industry food permit"),
    "bpom": N_("BPOM: food and drug agency"),
    "halal": N_("Halal: BPJPH certificate"),
    "sni": N_("SNI: national standard"),
    "merek": N_("HKI: registered trademark"),
}


def legal_question(ctx: Context, sector: str | None) -> str:
    """The business's documents question, explaining only those its sector can hold."""
    helps = "; ".join(ctx.t(DOC_HELP[d]) for d in SECTOR_DOCS.get(sector or "", LEGAL_DOCS))
    ask = ctx.t("Which legal documents does the business have? Tap each one you have, then “Done”.")
    return f"{ask} ({helps}.)"


def sector_docs(sector: str | None, docs: list[str]) -> list[str]:
    """`docs` less those that cannot apply to `sector`."""
    allowed = SECTOR_DOCS.get(sector or "", LEGAL_DOCS)
    return [d for d in docs if d in allowed]


T = TypeVar("T")  # the record of the form asking


def sector_input(first: Callable[[T], str | None] = lambda record: None) -> ChoiceInput[T]:
    """One sector; a product's offers its business's first."""
    return ChoiceInput(
        choices=lambda ctx, record: sector_options(ctx, first=first(record)),
        refusal=N_("Please choose one of the sectors with the buttons."),
    )


def legal_docs_input(
    start: Callable[[Context, T], list[str]],
    sector: Callable[[T], str | None] = lambda record: None,
) -> ChecklistInput[T]:
    """The legal documents that can apply to the record's sector, ticked; a product's start
    from its business's (those that apply)."""
    return ChecklistInput(
        choices=lambda ctx, record: legal_options(ctx, sector(record)),
        start=lambda ctx, record: sector_docs(sector(record), start(ctx, record)),
        refusal=N_("Please tap the documents you have, or type e.g. “PIRT, Halal”."),
        toggled=N_("Tap each document you have, then “Done”."),
        empty_done=N_("None of these"),
    )


def legal_text(t: Translate, docs: list[str] | None) -> str:
    if docs is None:
        return "—"
    if not docs:
        return t("none")
    return ", ".join(t(LEGAL_LABELS[d]) for d in docs if d in LEGAL_LABELS)


def sector_text(t: Translate, sector: str | None) -> str:
    return t(SECTOR_LABELS.get(sector or "other", SECTOR_LABELS["other"]))


# Units as an English reader calls them; Indonesian readers see the unit as it was typed.
ENGLISH_UNITS = {
    "pcs": "pcs", "pack": "packs", "liter": "litres", "set": "sets", "box": "boxes",
    "botol": "bottles", "lusin": "dozen", "bungkus": "packs", "toples": "jars", "jar": "jars",
    "lembar": "pieces", "buah": "pieces", "biji": "pieces", "kodi": "kodi (20 pieces)",
    "karton": "cartons", "dus": "boxes", "kotak": "boxes", "sachet": "sachets",
    "kaleng": "cans", "gelas": "cups", "porsi": "portions", "ikat": "bunches",
    "potong": "pieces", "pasang": "pairs", "unit": "units", "roll": "rolls",
}  # fmt: skip


def unit_word(ctx: Context, unit: str) -> str:
    """A unit in the reader's language: "botol" reads "bottles" in English."""
    return ENGLISH_UNITS.get(unit, unit) if ctx.language == "en" else unit


def thousands(n: int) -> str:
    """Indonesian digit grouping: 1.500.000."""
    return f"{n:,}".replace(",", ".")


def rupiah(n: int) -> str:
    return f"Rp {thousands(n)}"


STATUS_LABELS = {
    ProductStatus.draft: N_("draft"),
    ProductStatus.submitted: N_("waiting for curation"),
    ProductStatus.in_review: N_("being reviewed"),
    ProductStatus.revision_requested: N_("needs revision"),
    ProductStatus.approved: N_("approved"),
    ProductStatus.rejected: N_("rejected"),
}
