"""Legal document numbers, read offline and forgiving of how people type them.

Each kind is a row of `KINDS`: its label, the words people put before the number, and a
reader giving `Finding`s. A number whose structure we do not know (a newer scheme) is
"cannot read the structure", never "invalid". Messages come in two wordings: for the
curator's card, and a friendly hint for the producer.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from enum import IntEnum

from db.regions import get_region
from handlers.i18n import N_


class Level(IntEnum):
    """How a finding weighs, mildest first (a reading's level is its worst finding's)."""

    ok = 0
    note = 1  # read, nothing wrong, something to know (an application, not a registration)
    unread = 2  # the structure is not one we know: never "invalid"
    warn = 3  # read, and something does not fit (regency, year, sector)
    bad = 4  # cannot be a number of this kind (letters, too short or long)


@dataclass(frozen=True, slots=True)
class Finding:
    code: str  # a key of CURATOR and PRODUCER
    level: Level
    params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Reading:
    kind: str
    typed: str
    normalized: str
    findings: tuple[Finding, ...]
    region_code: str | None = None  # "35.07", as db/regions names it
    until: int | None = None  # the year the registration ends

    @property
    def level(self) -> Level:
        return max((f.level for f in self.findings), default=Level.ok)


@dataclass(frozen=True, slots=True)
class Context:
    """What a number is checked against."""

    sector: str | None
    region_code: str | None  # the business's regency
    today: date


LABELS = {
    "nib": "NIB",
    "pirt": "P-IRT",
    "bpom": "BPOM",
    "halal": "Halal",
    "sni": "SNI",
    "merek": N_("Trademark (HKI)"),
    "svlk": "SVLK",
}
# Examples shown in the questions and hints (real shapes, made-up digits).
EXAMPLES = {
    "nib": "1234567890123",
    "pirt": "P-IRT 2063507010158-28",
    "bpom": "MD 224511001234",
    "halal": "ID35110000123450322",
    "sni": "SNI 01-3549-2006",
    "merek": "IDM000123456",
    "svlk": "V-Legal 12.34567-00001.001-ID-JP",
}

# P-IRT digit 1: the packaging code (Peraturan BPOM 22/2018): glass, plastic, carton or
# paper, can, aluminium foil, other (e.g. leaves), composite, double.
PIRT_PACKAGING = frozenset("12345678")
# Digits 2-3: the food type group of the regulation's annex.
PIRT_FOOD_TYPES = frozenset(f"{n:02d}" for n in range(1, 17))
PIRT_VALID_YEARS = 5
BPOM_FOOD = ("MD", "ML")
BPOM_COSMETIC = ("NA", "NB", "NC", "ND", "NE")
BPOM_HERBAL = ("TR", "TI", "SD", "FF")  # traditional medicine, supplements: the spa sector
MAX_TYPED = 60
_NOISE = re.compile(r"[\s\-./:_,#()]+")
_EMOJI_OR_SYMBOL = re.compile(r"[^\w\s\-./:,#()]", re.UNICODE)


def normalize(typed: str, words: tuple[str, ...] = ()) -> str:
    """Upper case without the words before the number, spaces, dashes, dots."""
    text = unicodedata.normalize("NFKC", typed).upper().strip()
    for word in sorted((*words, "NOMOR", "NO", "NR", "NUMBER", "NUM"), key=len, reverse=True):
        text = re.sub(rf"(?<![A-Z]){re.escape(word)}(?![A-Z])", " ", text)
    return _NOISE.sub("", text)


def _digits_problem(kind: str, digits: str, want: int) -> Finding | None:
    if not digits:
        return Finding("empty", Level.bad)
    if _EMOJI_OR_SYMBOL.search(digits) or not digits.isdigit():
        return Finding("letters", Level.bad, {"n": str(want)})
    if len(digits) > 2 * want:
        return Finding("too_long", Level.bad, {"n": str(want), "got": str(len(digits))})
    return None


def read_nib(typed: str, ctx: Context) -> Reading:
    digits = normalize(typed, ("NIB",))
    problem = _digits_problem("nib", digits, 13)
    if problem is None and len(digits) != 13:
        problem = Finding("digit_count", Level.bad, {"n": "13", "got": str(len(digits))})
    return Reading("nib", typed, digits, (problem or Finding("format_ok", Level.ok),))


def read_pirt(typed: str, ctx: Context) -> Reading:
    digits = normalize(typed, ("P-IRT", "PIRT", "SPP-IRT", "SPPIRT", "P IRT", "IRT"))
    problem = _digits_problem("pirt", digits, 15)
    if problem is not None:
        return Reading("pirt", typed, digits, (problem,))
    if len(digits) == 12:
        return Reading("pirt", typed, digits, (Finding("pirt_old", Level.warn),))
    if len(digits) < 15:
        found = Finding("digit_count", Level.bad, {"n": "15", "got": str(len(digits))})
        return Reading("pirt", typed, digits, (found,))
    if len(digits) > 15:  # issued under a newer scheme (OSS): not ours to judge
        return Reading("pirt", typed, digits, (Finding("structure_unknown", Level.unread),))
    if digits[0] not in PIRT_PACKAGING or digits[1:3] not in PIRT_FOOD_TYPES:
        return Reading("pirt", typed, digits, (Finding("structure_unknown", Level.unread),))
    findings: list[Finding] = []
    region = get_region(digits[3:7])
    code = region.code if region else f"{digits[3:5]}.{digits[5:7]}"
    named = region.label if region else code
    if ctx.region_code and code != ctx.region_code:
        own = get_region(ctx.region_code)
        params = {"named": named, "own": own.label if own else ctx.region_code}
        findings.append(Finding("pirt_region", Level.warn, params))
    until = 2000 + int(digits[13:15])
    if until < ctx.today.year:
        findings.append(Finding("expired", Level.warn, {"year": str(until)}))
    elif until > ctx.today.year + PIRT_VALID_YEARS + 1:
        findings.append(Finding("year_far", Level.warn, {"year": str(until)}))
    if not findings:
        findings.append(Finding("format_ok", Level.ok))
    return Reading("pirt", typed, digits, tuple(findings), region_code=code, until=until)


def read_bpom(typed: str, ctx: Context) -> Reading:
    text = normalize(typed, ("BPOM", "BADAN POM", "POM", "RI"))
    prefix, digits = text[:2], text[2:]
    if prefix in (*BPOM_FOOD, *BPOM_COSMETIC, *BPOM_HERBAL):
        want = 12 if prefix in BPOM_FOOD else 11 if prefix in BPOM_COSMETIC else 0
        if not digits.isdigit():
            found = Finding("bpom_shape", Level.bad)
            return Reading("bpom", typed, text, (found,))
        if want and len(digits) != want:
            found = Finding("digit_count", Level.bad, {"n": str(want), "got": str(len(digits))})
            return Reading("bpom", typed, text, (found,))
        fits = {
            "food": BPOM_FOOD,
            "agribusiness": BPOM_FOOD,
            "spa": (*BPOM_COSMETIC, *BPOM_HERBAL),
        }.get(ctx.sector or "")
        if fits is not None and prefix not in fits:
            meant = N_("food") if prefix in BPOM_FOOD else N_("cosmetics")
            found = Finding("bpom_sector", Level.warn, {"prefix": prefix, "meant": meant})
            return Reading("bpom", typed, text, (found,))
        return Reading("bpom", typed, text, (Finding("format_ok", Level.ok),))
    if text.isdigit() or _EMOJI_OR_SYMBOL.search(text) or len(text) > 30 or not text:
        return Reading("bpom", typed, text, (Finding("bpom_shape", Level.bad),))
    return Reading("bpom", typed, text, (Finding("structure_unknown", Level.unread),))


def read_halal(typed: str, ctx: Context) -> Reading:
    text = normalize(typed, ("HALAL", "SERTIFIKAT", "BPJPH", "MUI", "LPPOM"))
    if m := re.fullmatch(r"ID(\d{2})(\d{6,20})", text):
        province = m.group(1)
        own = (ctx.region_code or "")[:2]
        if own and province != own:
            found = Finding("halal_province", Level.note, {"code": province})
            return Reading("halal", typed, text, (found,))
        return Reading("halal", typed, text, (Finding("format_ok", Level.ok),))
    if text.isdigit() and 8 <= len(text) <= 20:  # an MUI-era certificate
        return Reading("halal", typed, text, (Finding("halal_mui", Level.note),))
    if _EMOJI_OR_SYMBOL.search(text) or not text or len(text) > 30:
        return Reading("halal", typed, text, (Finding("halal_shape", Level.bad),))
    return Reading("halal", typed, text, (Finding("halal_unknown", Level.unread),))


def read_sni(typed: str, ctx: Context) -> Reading:
    raw = unicodedata.normalize("NFKC", typed).upper()
    text = normalize(typed, ("SNI", "SPPT", "SPPT-SNI", "SPPT SNI"))
    if re.search(r"\d{1,4}\s*[-:.]\s*\d{4}\b|\d{4,}", raw) and re.fullmatch(r"[\dA-Z]{4,24}", text):
        return Reading("sni", typed, text, (Finding("format_ok", Level.ok),))
    if _EMOJI_OR_SYMBOL.search(text) or not text:
        return Reading("sni", typed, text, (Finding("sni_shape", Level.bad),))
    return Reading("sni", typed, text, (Finding("structure_unknown", Level.unread),))


def read_merek(typed: str, ctx: Context) -> Reading:
    text = normalize(typed, ("HKI", "HAKI", "MEREK", "MERK", "DJKI"))
    if re.fullmatch(r"IDM\d{9}", text):
        return Reading("merek", typed, text, (Finding("format_ok", Level.ok),))
    if re.fullmatch(r"(D|DID|J|JID)\d{9,13}", text):  # an application, not yet registered
        return Reading("merek", typed, text, (Finding("merek_application", Level.note),))
    if re.fullmatch(r"IDM\d+", text):
        found = Finding("digit_count", Level.bad, {"n": "9", "got": str(len(text) - 3)})
        return Reading("merek", typed, text, (found,))
    if _EMOJI_OR_SYMBOL.search(text) or not text:
        return Reading("merek", typed, text, (Finding("merek_shape", Level.bad),))
    return Reading("merek", typed, text, (Finding("structure_unknown", Level.unread),))


def read_svlk(typed: str, ctx: Context) -> Reading:
    text = normalize(typed, ("SVLK", "V-LEGAL", "VLEGAL", "DOKUMEN"))
    if re.search(r"DKP|SDOC|DEKLARASI", text):
        return Reading("svlk", typed, text, (Finding("svlk_declaration", Level.ok),))
    if re.fullmatch(r"[0-9A-Z]{8,40}", text) and sum(c.isdigit() for c in text) >= 6:
        return Reading("svlk", typed, text, (Finding("format_ok", Level.ok),))
    if _EMOJI_OR_SYMBOL.search(text) or not text:
        return Reading("svlk", typed, text, (Finding("svlk_shape", Level.bad),))
    return Reading("svlk", typed, text, (Finding("structure_unknown", Level.unread),))


READERS: dict[str, Callable[[str, Context], Reading]] = {
    "nib": read_nib,
    "pirt": read_pirt,
    "bpom": read_bpom,
    "halal": read_halal,
    "sni": read_sni,
    "merek": read_merek,
    "svlk": read_svlk,
}
NUMBERED = ("pirt", "bpom", "halal", "sni", "merek")  # asked when held (legal_docs)
WOOD_SECTORS = frozenset({"furniture"})
WOOD_WORDS = ("kayu", "wood", "jati", "mahoni", "sonokeling", "trembesi", "mindi", "akasia")


def needs_svlk(sector: str | None, materials: str | None) -> bool:
    """Timber legality applies to wood furniture and wooden handicraft."""
    wood = any(w in (materials or "").lower() for w in WOOD_WORDS)
    return sector in WOOD_SECTORS or (sector == "handicraft" and wood)


def read(kind: str, typed: str, ctx: Context) -> Reading:
    """One typed number; never raises."""
    typed = typed.strip()
    if len(typed) > MAX_TYPED:
        clipped = typed[:MAX_TYPED]
        return Reading(kind, clipped, "", (Finding("too_long", Level.bad, {"n": "", "got": ""}),))
    return READERS[kind](typed, ctx)


# --- wording -------------------------------------------------------------------------

CURATOR = {
    "format_ok": N_("valid format"),
    "empty": N_("no number given"),
    "letters": N_("has letters or symbols where digits belong"),
    "too_long": N_("far too long to be a number of this kind"),
    "digit_count": N_("{got} digits where {n} belong"),
    "pirt_old": N_("12 digits: an older scheme, regency and end year cannot be read"),
    "structure_unknown": N_("structure not readable (maybe a newer scheme); check by hand"),
    "pirt_region": N_("names {named}, business is in {own}"),
    "expired": N_("registration ended in {year}"),
    "year_far": N_("end year {year} is more than 5 years away"),
    "bpom_shape": N_("not MD/ML + 12 digits nor NA–NE + 11 digits"),
    "bpom_sector": N_("prefix {prefix} is a {meant} registration; check it fits the product"),
    "halal_province": N_("issued under province code {code}"),
    "halal_mui": N_("older MUI certificate number"),
    "halal_shape": N_("number format not recognised"),
    "halal_unknown": N_("number format not recognised"),
    "sni_shape": N_("number format not recognised"),
    "merek_application": N_("an application number, not yet a registration"),
    "merek_shape": N_("number format not recognised"),
    "svlk_declaration": N_("supplier's declaration (DKP)"),
    "svlk_shape": N_("number format not recognised"),
}
PRODUCER = {
    "empty": N_("I couldn't find a number in that."),
    "letters": N_(
        "A {label} number has only digits ({n} of them), for example {example}. "
        "Please check it on the certificate or the label."
    ),
    "too_long": N_(
        "That is much longer than a {label} number, for example {example}. "
        "Please type just the number."
    ),
    "digit_count": N_(
        "A {label} number has {n} digits; I counted {got}. For example {example}. "
        "Please check it on the certificate."
    ),
    "pirt_old": N_(
        "This looks like an older 12-digit P-IRT number. Since 2018 P-IRT numbers have 15 "
        "digits; if yours was renewed, please type the new one."
    ),
    "structure_unknown": N_(
        "I couldn't read the structure of this {label} number, so a curator will check it. "
        "That is fine if it is exactly as on the certificate."
    ),
    "pirt_region": N_(
        "This P-IRT number names {named}, but your business is in {own}. Is that right? "
        "P-IRT is issued by the regency where the food is made."
    ),
    "expired": N_(
        "This P-IRT number ended in {year}: its last two digits are the year it ends. "
        "Renew it at your regency's health office (Dinas Kesehatan) or through OSS."
    ),
    "year_far": N_(
        "The last two digits of a P-IRT number are the year it ends ({year}), at most 5 "
        "years after it was issued. Please check the number."
    ),
    "bpom_shape": N_(
        "A BPOM number is MD or ML and 12 digits for food (e.g. MD 224511001234), or NA–NE "
        "and 11 digits for cosmetics. Please check it on the label."
    ),
    "bpom_sector": N_(
        "BPOM {prefix} numbers are for {meant} products; this product is in another "
        "sector. Please check the number and the sector."
    ),
    "halal_shape": N_(
        "A Halal certificate number starts with ID and the province code, for example "
        "{example}. Please check it on the certificate."
    ),
    "halal_unknown": N_(
        "A Halal certificate number starts with ID and the province code, for example "
        "{example}. Please check it on the certificate."
    ),
    "sni_shape": N_("Please type the SNI number as on the certificate, for example {example}."),
    "merek_shape": N_(
        "A registered trademark number starts with IDM and has 9 digits, for example {example}."
    ),
    "svlk_shape": N_(
        "Please type the number of the V-Legal document or of the supplier's declaration "
        "(DKP) as written on it."
    ),
}
CHECK_LATER = N_("I kept it as you typed it; you can correct it from the card, or go on.")


def _params(t: Callable[..., str], finding: Finding) -> dict[str, str]:
    return {k: t(v) if k == "meant" else v for k, v in finding.params.items()}


def curator_line(t: Callable[..., str], reading: Reading) -> str:
    """One line of the card's legality block, e.g. "✅ P-IRT valid format · Kab. Malang ·
    until 2028"."""
    label = t(LABELS[reading.kind])
    mark = {Level.ok: "✅", Level.note: "ℹ️", Level.unread: "❔", Level.warn: "⚠", Level.bad: "❌"}
    worst = [f for f in reading.findings if f.level == reading.level]
    parts = [t(CURATOR[f.code], **_params(t, f)) for f in worst]
    if reading.level == Level.ok:
        region = get_region(reading.region_code or "")
        if region is not None:
            parts.append(region.label)
        if reading.until is not None:
            parts.append(t("until {year}", year=reading.until))
    return f"{mark[reading.level]} {label} " + " · ".join(parts)


def producer_hint(t: Callable[..., str], reading: Reading) -> str | None:
    """What the producer hears when the number cannot be right; None when it reads fine."""
    if reading.level < Level.unread:
        return None
    worst = next(f for f in reading.findings if f.level == reading.level)
    message = PRODUCER.get(worst.code)
    if message is None:
        return None
    params = {"label": t(LABELS[reading.kind]), "example": EXAMPLES[reading.kind]}
    params.update(_params(t, worst))
    return f"{t(message, **params)}\n{t(CHECK_LATER)}"


# --- the suggested Legalitas score ------------------------------------------------------

# What the sector needs (any one of each group), beyond the NIB.
REQUIRED: dict[str, tuple[frozenset[str], ...]] = {
    "food": (frozenset({"pirt", "bpom"}), frozenset({"halal"})),
    "spa": (frozenset({"bpom"}),),
    "furniture": (frozenset({"svlk"}),),
}


def suggested_score(
    readings: dict[str, Reading], *, sector: str | None, has_nib: bool, wood: bool
) -> int:
    """3 when the NIB and every document the sector needs are held with readable numbers,
    1 when the NIB and the sector's main permit are both missing or cannot be right, else 2."""
    groups = list(REQUIRED.get(sector or "", ()))
    if wood and frozenset({"svlk"}) not in groups:
        groups.append(frozenset({"svlk"}))

    def held(kinds: frozenset[str]) -> Level | None:
        levels = [readings[k].level for k in kinds if k in readings]
        return min(levels) if levels else None

    fine = [(level := held(g)) is not None and level <= Level.note for g in groups]
    if has_nib and all(fine) and all(r.level <= Level.note for r in readings.values()):
        return 3
    if not has_nib and groups and not fine[0]:
        return 1
    return 2
