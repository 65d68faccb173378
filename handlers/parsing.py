"""Forgiving, meaning-strict parsers for free-text answers typed in chat.

Everything here is pure and stdlib-only so any channel (Telegram, WhatsApp, tests) can use it.
Every parser returns ``None`` rather than guessing when an answer is ambiguous; the calling flow
then asks again.
"""

from __future__ import annotations

import re
import unicodedata
from fractions import Fraction
from typing import NamedTuple

__all__ = [
    "clean_text",
    "is_no_answer",
    "parse_nib",
    "parse_number",
    "parse_phone",
    "parse_price",
    "parse_quantity",
    "split_list",
]

MAX_AMOUNT = 1_000_000_000

# Answers longer than this are never a single number/phone/price. Bounding input also keeps
# int() clear of CPython's 4300-digit conversion limit (which raises instead of returning).
_MAX_FIELD_LEN = 64

# No amount we accept needs more digits than this (separators not counted).
_MAX_DIGITS = 18


# --------------------------------------------------------------------------------------------
# Numbers with Indonesian (1.000,50) or English (1,000.50) separators
# --------------------------------------------------------------------------------------------

_SPACES = "\u00a0\u202f\u2009"  # NBSP, narrow NBSP, thin space: pasted from spreadsheets/web
_NUM_CORE = r"[0-9]+(?:[.,\u0020" + _SPACES + r"][0-9]+)*"
_NUM_RE = re.compile(_NUM_CORE)
_GROUPED_INT_RE = re.compile(r"[1-9][0-9]{0,2}")


class _Num(NamedTuple):
    value: Fraction
    # True when a lone "." or "," is followed by exactly three digits ("1.500"): read as a
    # thousands separator, but it could also be a decimal point ("1.500 jt" = 1.5 jt?).
    ambiguous: bool


def _grouped(groups: list[str]) -> int | None:
    """Join thousands groups like ["1", "000", "000"]; None unless the grouping is well formed."""
    if not _GROUPED_INT_RE.fullmatch(groups[0]):
        return None
    if any(len(g) != 3 for g in groups[1:]):
        return None
    return int("".join(groups))


def _interpret_number(raw: str) -> _Num | None:
    """Interpret a digits-and-separators string (as matched by ``_NUM_CORE``)."""
    parts = re.split(r"([.,\u0020" + _SPACES + r"])", raw)
    groups = parts[0::2]
    seps = [" " if s in _SPACES else s for s in parts[1::2]]
    if sum(len(g) for g in groups) > _MAX_DIGITS:
        return None
    if not seps:
        return _Num(Fraction(int(groups[0])), ambiguous=False)

    kinds = set(seps)
    if len(kinds) == 1:
        sep = seps[0]
        if sep == " " or len(seps) > 1:
            # Spaces and repeated separators can only be thousands grouping.
            value = _grouped(groups)
            return None if value is None else _Num(Fraction(value), ambiguous=False)
        left, right = groups
        if len(right) == 3 and _GROUPED_INT_RE.fullmatch(left):
            return _Num(Fraction(int(left + right)), ambiguous=True)
        if len(right) <= 3:
            return _Num(Fraction(int(left + right), 10 ** len(right)), ambiguous=False)
        return None

    # Mixed separators: grouping separator(s) then exactly one decimal separator at the end.
    decimal_sep = seps[-1]
    group_seps = set(seps[:-1])
    if decimal_sep == " " or len(group_seps) != 1 or decimal_sep in group_seps:
        return None
    whole = _grouped(groups[:-1])
    fraction = groups[-1]
    if whole is None or len(fraction) > 2:
        return None
    return _Num(Fraction(whole) + Fraction(int(fraction), 10 ** len(fraction)), ambiguous=False)


def parse_number(text: str) -> int | None:
    """Parse a non-negative integer, allowing thousands separators ("1.000", "1,000", "1 000").

    Decimals ("1.5", "1,5") are rejected; an all-zero fraction ("1.000,00") is accepted.
    """
    s = text.strip()
    if len(s) > _MAX_FIELD_LEN or not _NUM_RE.fullmatch(s):
        return None
    num = _interpret_number(s)
    if num is None or num.value.denominator != 1:
        return None
    return int(num.value)


# --------------------------------------------------------------------------------------------
# Phone numbers and NIB
# --------------------------------------------------------------------------------------------

_PHONE_SEPARATORS_RE = re.compile(r"[\s\-.()/" + _SPACES + r"]")
# "+62 (0)812..." writes the national trunk 0 in brackets; it is not part of the number.
_TRUNK_ZERO_RE = re.compile(r"^\s*(\+|00)?\s*62[\s\-.]*\(0\)")
_NSN_RE = re.compile(r"[2-9][0-9]{7,11}")


def parse_phone(text: str) -> str | None:
    """Normalise an Indonesian phone number to E.164 ("+62812...").

    Accepts "08…", "+62…", "62…" and "0062…" with spaces, dashes, dots and parentheses. The
    national number after 62 must start with 2–9 and have 8–12 digits. "812…" (no prefix) is
    rejected as ambiguous.
    """
    if len(text) > _MAX_FIELD_LEN:
        return None
    s = _TRUNK_ZERO_RE.sub(lambda m: (m.group(1) or "") + "62", text)
    s = _PHONE_SEPARATORS_RE.sub("", s)
    if s.startswith("+62"):
        nsn = s[3:]
    elif s.startswith("0062"):
        nsn = s[4:]
    elif s.startswith("62"):
        nsn = s[2:]
    elif s.startswith("0"):
        nsn = s[1:]
    else:
        return None
    if not _NSN_RE.fullmatch(nsn):
        return None
    return "+62" + nsn


_NIB_RE = re.compile(r"(?:nib\s*[:.]?\s*)?([0-9](?:[\s.\-]*[0-9]){12})", re.IGNORECASE)


def parse_nib(text: str) -> str | None:
    """Return the 13 digits of an NIB (Nomor Induk Berusaha), or None.

    Spaces, dashes and dots between digits are allowed, as is a leading "NIB:" label.
    """
    if len(text) > _MAX_FIELD_LEN:
        return None
    m = _NIB_RE.fullmatch(text.strip())
    if m is None:
        return None
    return re.sub(r"[^0-9]", "", m.group(1))


# --------------------------------------------------------------------------------------------
# "No" answers
# --------------------------------------------------------------------------------------------

_NO_ANSWERS = frozenset(
    {
        # Indonesian, formal and chat spellings
        "belum",
        "blm",
        "belum punya",
        "blm punya",
        "belum ada",
        "blm ada",
        "tidak",
        "tdk",
        "tidak ada",
        "tdk ada",
        "tidak punya",
        "tdk punya",
        "gak ada",
        "gk ada",
        "ga ada",
        "gada",
        "nggak ada",
        "ngga ada",
        "enggak ada",
        "engga ada",
        "gak punya",
        "ga punya",
        "nggak punya",
        # English
        "no",
        "nope",
        "none",
        "not yet",
        "don't have",
        "dont have",
        "do not have",
        "i don't have",
        "i dont have",
        "i do not have",
        "n/a",
    }
)
_TRAILING_PUNCT_RE = re.compile(r"[\s.,!?;:…]+$")
_DASHES_RE = re.compile(r"[-\u2013\u2014]+")


def is_no_answer(text: str) -> bool:
    """True when the user says they don't have the thing ("belum punya", "tidak", "no", "-")."""
    if len(text) > _MAX_FIELD_LEN:
        return False
    s = text.casefold().replace("\u2019", "'").replace("`", "'")
    s = _TRAILING_PUNCT_RE.sub("", " ".join(s.split()))
    return s in _NO_ANSWERS or _DASHES_RE.fullmatch(s) is not None


# --------------------------------------------------------------------------------------------
# Amount words shared by quantities and prices
# --------------------------------------------------------------------------------------------

_MULTIPLIERS: dict[str, int] = {
    "k": 1_000,
    "rb": 1_000,
    "rbu": 1_000,
    "ribu": 1_000,
    "rebu": 1_000,  # East Javanese colloquial
    "thousand": 1_000,
    "jt": 1_000_000,
    "jta": 1_000_000,
    "juta": 1_000_000,
    "million": 1_000_000,
    "mio": 1_000_000,
    "miliar": 1_000_000_000,
    "milyar": 1_000_000_000,
    "billion": 1_000_000_000,
    # Deliberately absent: "m" (Indonesian miliar vs English million) and "b".
}
_MULT_ALT = "|".join(sorted(_MULTIPLIERS, key=len, reverse=True))

# --------------------------------------------------------------------------------------------
# Quantities
# --------------------------------------------------------------------------------------------

_PER_MONTH_RE = re.compile(
    r"""
    (?:
        \s*/\s*(?:bulan|bln|month|mo)      # "/bulan", "/bln", "/month"
      | \s*(?<![a-z])(?:per|tiap|setiap)\s*-?\s*(?:bulan|bln|month)   # "per bulan", "perbulan"
      | \s*(?<![a-z])(?:sebulan|a\s+month|each\s+month|monthly|bulan|bln)
    )\s*$
    """,
    re.VERBOSE,
)
# "2 ribu bungkus" is 2000 bungkus, not 2 of a unit called "ribu".
_QUANTITY_RE = re.compile(
    r"(" + _NUM_CORE + r")\s*(?:(" + _MULT_ALT + r")(?![a-z]))?\s*([a-z]{1,20})?"
)


def parse_quantity(text: str) -> tuple[int, str | None] | None:
    """Parse a monthly quantity like "1.000 kg/bulan" into ``(1000, "kg")``.

    The amount must be a whole number from 1 to 1,000,000,000 ("2 ribu" and "1,5 rb" count as
    2000 and 1500); the optional unit is a single lowercase ASCII word of at most 20 letters.
    Per-month wording is dropped.
    """
    if len(text) > _MAX_FIELD_LEN:
        return None
    s = " ".join(text.casefold().split())
    s = s.rstrip(".!")
    s = _PER_MONTH_RE.sub("", s).strip()
    m = _QUANTITY_RE.fullmatch(s)
    if m is None:
        return None
    num = _interpret_number(m.group(1))
    if num is None:
        return None
    value = num.value
    if m.group(3) in _MULTIPLIERS:
        return None
    if m.group(2):
        if num.ambiguous:
            return None
        value *= _MULTIPLIERS[m.group(2)]
    if value.denominator != 1 or not 1 <= value <= MAX_AMOUNT:
        return None
    return int(value), m.group(3)


# --------------------------------------------------------------------------------------------
# Prices in rupiah
# --------------------------------------------------------------------------------------------

_PRICE_TERM_RE = re.compile(r"\s*(" + _NUM_CORE + r")\s*(?:(" + _MULT_ALT + r")(?![a-z]))?")
_CURRENCY_PREFIX_RE = re.compile(r"^(?:rp|idr)\s*[.:]?\s*")
_CURRENCY_SUFFIX_RE = re.compile(r"\s*(?:rupiah|rp|idr)$")
_DASH_SUFFIX_RE = re.compile(r"\s*[,.]?\s*-+$")  # "Rp 25.000,-"


def parse_price(text: str) -> int | None:
    """Parse a rupiah amount ("Rp 25.000,-", "25rb", "1,5 jt", "2 juta 500 ribu") to an int.

    Returns None for zero, negatives, fractions of a rupiah, amounts above 1,000,000,000 and
    ambiguous input such as "1.500 jt" (1.5 juta or 1,500 juta?).
    """
    if len(text) > _MAX_FIELD_LEN:
        return None
    s = " ".join(text.casefold().split())
    s = _CURRENCY_PREFIX_RE.sub("", s)
    s = _DASH_SUFFIX_RE.sub("", s)
    s = s.rstrip(".!")
    s = _CURRENCY_SUFFIX_RE.sub("", s).strip()
    if not s:
        return None

    terms: list[tuple[_Num, int | None]] = []
    pos = 0
    while pos < len(s):
        m = _PRICE_TERM_RE.match(s, pos)
        if m is None or m.end() == pos:
            return None
        num = _interpret_number(m.group(1))
        if num is None:
            return None
        mult = _MULTIPLIERS[m.group(2)] if m.group(2) else None
        terms.append((num, mult))
        pos = m.end()

    total = _combine_price_terms(terms)
    if total is None or total.denominator != 1 or not 1 <= total <= MAX_AMOUNT:
        return None
    return int(total)


def _combine_price_terms(terms: list[tuple[_Num, int | None]]) -> Fraction | None:
    if len(terms) == 1:
        num, mult = terms[0]
        if mult is None:
            return num.value
        if num.ambiguous:
            return None
        return num.value * mult

    # Compound "2 juta 500 ribu": every term needs a unit, units strictly decreasing, each
    # later term smaller than one of the previous unit, and only whole numbers. A bare trailing
    # number ("2 juta 500") is refused: 2.000.500 and 2.500.000 are both plausible readings.
    total = Fraction(0)
    previous_mult: int | None = None
    for num, mult in terms:
        if mult is None or num.value.denominator != 1:
            return None
        if previous_mult is not None and (
            mult >= previous_mult or num.value * mult >= previous_mult
        ):
            return None
        total += num.value * mult
        previous_mult = mult
    return total


# --------------------------------------------------------------------------------------------
# Lists and free text
# --------------------------------------------------------------------------------------------

_LIST_SPLIT_RE = re.compile(r"[,;\n\r•]|\b(?:dan|and)\b", re.IGNORECASE)
_BULLET_RE = re.compile(r"^(?:[-*·]|[0-9]{1,2}[.)])\s+")


def split_list(text: str) -> list[str]:
    """Split "Malaysia, Jepang dan Singapura" (also ";", "and", newlines) into unique items.

    Items are trimmed, whitespace-collapsed, stripped of list bullets and trailing full stops;
    duplicates are dropped case-insensitively, keeping the first spelling.
    """
    items: list[str] = []
    seen: set[str] = set()
    for line in text.splitlines() or [""]:
        line = _BULLET_RE.sub("", line.strip())
        for piece in _LIST_SPLIT_RE.split(line):
            item = " ".join(piece.split()).rstrip(".!?").strip()
            item = _BULLET_RE.sub("", item)
            key = item.casefold()
            if item and key not in seen:
                seen.add(key)
                items.append(item)
    return items


def clean_text(text: str, *, max_len: int) -> str | None:
    """Collapse whitespace and strip; None if the result is empty or longer than ``max_len``.

    Control characters are dropped too (PostgreSQL rejects NUL in text columns).
    """
    s = "".join(ch for ch in text if ch.isspace() or unicodedata.category(ch) != "Cc")
    s = " ".join(s.split())
    if not s or len(s) > max_len:
        return None
    return s


_DURATION_UNITS: dict[str, int] = {
    "hari": 1, "hr": 1, "day": 1, "days": 1, "d": 1,
    "minggu": 7, "mgg": 7, "week": 7, "weeks": 7,
    "bulan": 30, "bln": 30, "month": 30, "months": 30,
    "tahun": 365, "thn": 365, "th": 365, "year": 365, "years": 365,
}  # fmt: skip
_DURATION_RE = re.compile(r"([0-9]{1,4})\s*([a-z]+)")


def parse_duration_days(text: str) -> int | None:
    """Shelf life in days: "6 bulan", "1 tahun", "2 minggu", "90 hari", "12 months".

    A bare number is refused: "6" may mean days or months, and a wrong guess misleads buyers.
    """
    if len(text) > _MAX_FIELD_LEN:
        return None
    match = _DURATION_RE.fullmatch(" ".join(text.lower().split()).rstrip(".!"))
    if match is None or match.group(2) not in _DURATION_UNITS:
        return None
    days = int(match.group(1)) * _DURATION_UNITS[match.group(2)]
    return days if 1 <= days <= 3650 else None
