"""Forgiving, meaning-strict parsers for free-text answers typed in chat.

Everything here is pure and stdlib-only so any channel (Telegram, WhatsApp, tests) can use it.
Every parser returns ``None`` rather than guessing when an answer is ambiguous; the calling flow
then asks again.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from difflib import SequenceMatcher
from enum import StrEnum
from fractions import Fraction
from typing import Generic, NamedTuple, TypeVar

from handlers.i18n import N_

__all__ = [
    "COUNTING_UNITS",
    "REFUSAL_TEXT",
    "SECTOR_ALIASES",
    "Choice",
    "Price",
    "Quantity",
    "Reason",
    "Refused",
    "clean_text",
    "fold",
    "is_no_answer",
    "match_choice",
    "parse_duration_days",
    "parse_nib",
    "parse_number",
    "parse_phone",
    "parse_price",
    "parse_quantity",
    "read_price",
    "read_quantity",
    "refusal_text",
    "split_list",
]

MAX_AMOUNT = 1_000_000_000

# Answers longer than this are never a single number/phone/price. Bounding input also keeps
# int() clear of CPython's 4300-digit conversion limit (which raises instead of returning).
_MAX_FIELD_LEN = 64

# Amounts written out in words are longer: "tujuh ratus delapan puluh sembilan juta ...".
_MAX_AMOUNT_LEN = 200

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
# Why an answer was refused
# --------------------------------------------------------------------------------------------


class Reason(StrEnum):
    """What was wrong with a typed amount, so the reply can say the real rule."""

    NOT_A_NUMBER = "not_a_number"
    TOO_SMALL = "too_small"
    TOO_LARGE = "too_large"
    NOT_WHOLE = "not_whole"
    AMBIGUOUS = "ambiguous"
    BAD_UNIT = "bad_unit"
    NOT_MONTHLY = "not_monthly"


@dataclass(frozen=True, slots=True)
class Refused:
    """An answer turned down, with the bounds that applied (for the message)."""

    reason: Reason
    minimum: int = 1
    maximum: int = MAX_AMOUNT


REFUSAL_TEXT: dict[Reason, str] = {
    Reason.NOT_A_NUMBER: N_(
        "I couldn't read a number there. Type it in digits or words, for example 100, "
        "1.500 or seratus."
    ),
    Reason.TOO_SMALL: N_("It has to be at least {minimum}. Please type {minimum} or more."),
    Reason.TOO_LARGE: N_("That is more than {maximum}. Please check the number and type it again."),
    Reason.NOT_WHOLE: N_("Please type a whole number, without a decimal part."),
    Reason.AMBIGUOUS: N_(
        "That can be read two ways. Please write it in full, for example 2.500.000 or "
        "2 juta 500 ribu."
    ),
    Reason.BAD_UNIT: N_(
        "Please type a number and at most one word for the unit, for example 500 pcs."
    ),
    Reason.NOT_MONTHLY: N_("Please give the amount per month, for example 500 pcs per bulan."),
}


def refusal_text(
    t: Callable[..., str], refused: Refused, *, not_a_number: str | None = None
) -> str:
    """The reader's-language reply for a refusal; `not_a_number` (marked with N_) replaces
    the generic "couldn't read a number" with the question's own example."""
    template = REFUSAL_TEXT[refused.reason]
    if refused.reason is Reason.NOT_A_NUMBER and not_a_number is not None:
        template = not_a_number
    return t(
        template,
        minimum=_dotted(refused.minimum),
        maximum=_dotted(refused.maximum),
    )


def _dotted(n: int) -> str:
    return f"{n:,}".replace(",", ".")


def _checked(value: Fraction | Reason, *, minimum: int) -> int | Refused:
    if isinstance(value, Reason):
        return Refused(value, minimum=minimum)
    if value < minimum:
        return Refused(Reason.TOO_SMALL, minimum=minimum)
    if value > MAX_AMOUNT:
        return Refused(Reason.TOO_LARGE, minimum=minimum)
    if value.denominator != 1:
        return Refused(Reason.NOT_WHOLE, minimum=minimum)
    return int(value)


# --------------------------------------------------------------------------------------------
# Numbers written in words: "lima belas ribu", "dua juta lima ratus ribu", "fifteen thousand"
# --------------------------------------------------------------------------------------------

_UNIT_WORDS: dict[str, int] = {
    "nol": 0, "kosong": 0, "satu": 1, "dua": 2, "tiga": 3, "empat": 4, "lima": 5, "enam": 6,
    "tujuh": 7, "delapan": 8, "sembilan": 9,
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9,
}  # fmt: skip
# Whole tens and teens: nothing smaller may follow them inside a group.
_TEEN_WORDS: dict[str, int] = {
    "sepuluh": 10, "sebelas": 11,
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
_TENS_WORDS: dict[str, int] = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90,
}  # fmt: skip
_SE_SCALES = {"seribu": 1_000, "sejuta": 1_000_000, "semiliar": 1_000_000_000}
_FILLERS = frozenset({"dan", "and"})  # "one hundred and fifty"
_NUMBER_WORDS = frozenset(
    {*_UNIT_WORDS, *_TEEN_WORDS, *_TENS_WORDS, *_SE_SCALES, "seratus", "setengah", "a"}
    | {"belas", "puluh", "ratus", "hundred"}
)
_WORD_SPLIT_RE = re.compile(r"[\s\-]+")


def _words_value(tokens: list[str]) -> Fraction | Reason:
    """The value of number words (digits may stand for a group: "2 juta lima ratus ribu").

    Parts within a group of three digits must get strictly smaller, and groups ("ribu",
    "juta", "miliar") too. A bare group after juta or miliar ("dua juta lima ratus") is
    refused as ambiguous, as its digit twin "2 juta 500" is.
    """
    if not tokens or not any(tok in _NUMBER_WORDS and tok != "a" for tok in tokens):
        return Reason.NOT_A_NUMBER
    total = Fraction(0)
    group = Fraction(0)
    pending: int | None = None  # a digit word waiting for "belas", "puluh" or "ratus"
    room = 1000  # the next part of the group must be smaller than this
    last_scale: int | None = None
    for i, tok in enumerate(tokens):
        following = tokens[i + 1] if i + 1 < len(tokens) else ""
        if tok in _FILLERS:
            continue
        if tok == "a" and (following == "hundred" or following in _MULTIPLIERS):
            tok = "one"
        if tok in _UNIT_WORDS:
            if pending is not None or room <= 1:
                return Reason.NOT_A_NUMBER
            pending = _UNIT_WORDS[tok]
        elif tok in ("belas", "puluh", "ratus", "hundred"):
            if not pending:
                return Reason.NOT_A_NUMBER
            value, size, room_after = {
                "belas": (10 + pending, 10, 1),
                "puluh": (10 * pending, 10, 10),
                "ratus": (100 * pending, 100, 100),
                "hundred": (100 * pending, 100, 100),
            }[tok]
            if size >= room:
                return Reason.NOT_A_NUMBER
            group += value
            pending, room = None, room_after
        elif tok in _TEEN_WORDS or tok in _TENS_WORDS or tok == "seratus":
            value = _TEEN_WORDS.get(tok) or _TENS_WORDS.get(tok) or 100
            size = 100 if value == 100 else 10
            if pending is not None or size >= room:
                return Reason.NOT_A_NUMBER
            group += value
            room = 1 if tok in _TEEN_WORDS else size
        elif tok == "setengah" or tok.isdigit():
            if pending is not None or group or room != 1000 or (len(tok) > 3 and tok.isdigit()):
                return Reason.NOT_A_NUMBER
            group = Fraction(1, 2) if tok == "setengah" else Fraction(int(tok))
            room = 0
        elif tok in _MULTIPLIERS or tok in _SE_SCALES:
            if tok in _SE_SCALES:
                if pending is not None or group:
                    return Reason.NOT_A_NUMBER
                size, amount = _SE_SCALES[tok], Fraction(1)
            else:
                size, amount = _MULTIPLIERS[tok], group + (pending or 0)
            if amount <= 0 or (last_scale is not None and amount * size >= last_scale):
                return Reason.NOT_A_NUMBER
            total += amount * size
            last_scale, group, pending, room = size, Fraction(0), None, 1000
        else:
            return Reason.NOT_A_NUMBER
    rest = group + (pending or 0)
    if rest and last_scale is not None and last_scale >= 1_000_000:
        return Reason.AMBIGUOUS
    return total + rest


def _word_tokens(text: str) -> list[str]:
    return [tok for tok in _WORD_SPLIT_RE.split(text) if tok]


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
# Per week, day or year: a different meaning, so it is refused rather than read as a month.
_OTHER_PERIOD_RE = re.compile(
    r"""
    (?:
        (?:/|(?<![a-z])(?:per|tiap|setiap))\s*-?\s*
        (?:minggu|mgg|pekan|hari|hr|tahun|thn|week|wk|day|year|yr)s?
      | (?<![a-z])(?:seminggu|sepekan|sehari|setahun|weekly|daily|yearly|annually)
      | (?<![a-z])a\s+(?:week|day|year)
    )\s*$
    """,
    re.VERBOSE,
)
# "2 ribu bungkus" is 2000 bungkus, not 2 of a unit called "ribu".
_QUANTITY_RE = re.compile(
    r"(" + _NUM_CORE + r")\s*(?:(" + _MULT_ALT + r")(?![a-z]))?\s*([a-z]{1,20})?"
)
_LEADING_NUMBER_RE = re.compile(r"[0-9]")
# Counting words: "2 lusin" is 24 pieces.
COUNTING_UNITS: dict[str, int] = {
    "lusin": 12,
    "losin": 12,
    "dozen": 12,
    "dozens": 12,
    "kodi": 20,
    "gros": 144,
    "gross": 144,
}


class Quantity(NamedTuple):
    amount: int
    unit: str | None  # one lowercase word; "pcs" when a counting word (lusin, kodi) was used


def _digits_quantity(m: re.Match[str]) -> Fraction | Reason:
    num = _interpret_number(m.group(1))
    if num is None or m.group(3) in _MULTIPLIERS:
        return Reason.NOT_A_NUMBER
    if not m.group(2):
        return num.value
    if num.ambiguous:
        return Reason.AMBIGUOUS
    return num.value * _MULTIPLIERS[m.group(2)]


def _words_quantity(s: str) -> tuple[Fraction | Reason, str | None]:
    tokens = _word_tokens(s)
    whole = _words_value(tokens)
    if not isinstance(whole, Reason) or len(tokens) < 2:
        return whole, None
    unit = tokens[-1]
    if unit in _NUMBER_WORDS or unit in _MULTIPLIERS or not re.fullmatch(r"[a-z]{1,20}", unit):
        return whole, None
    return _words_value(tokens[:-1]), unit


def read_quantity(text: str, *, minimum: int = 1) -> Quantity | Refused:
    """A monthly quantity like "1.000 kg/bulan", "seratus pcs" or "2 lusin" (24 pcs).

    The amount is a whole number from `minimum` to 1,000,000,000 ("2 ribu" and "1,5 rb" count
    as 2000 and 1500); the optional unit is one lowercase ASCII word of at most 20 letters.
    Per-month wording is dropped; per week, day or year is refused.
    """
    if len(text) > _MAX_AMOUNT_LEN:
        return Refused(Reason.NOT_A_NUMBER, minimum=minimum)
    s = " ".join(text.casefold().split()).rstrip(".!")
    if _OTHER_PERIOD_RE.search(s):
        return Refused(Reason.NOT_MONTHLY, minimum=minimum)
    s = _PER_MONTH_RE.sub("", s).strip()
    if s.startswith("-") and _LEADING_NUMBER_RE.match(s[1:].lstrip()):
        return Refused(Reason.TOO_SMALL, minimum=minimum)
    m = _QUANTITY_RE.fullmatch(s)
    unit: str | None
    if m is not None:
        value, unit = _digits_quantity(m), m.group(3)
    else:
        value, unit = _words_quantity(s)
        if value is Reason.NOT_A_NUMBER and _LEADING_NUMBER_RE.match(s):
            value = Reason.BAD_UNIT  # a number followed by more than one plain word
    if unit in COUNTING_UNITS and not isinstance(value, Reason):
        value, unit = value * COUNTING_UNITS[unit], "pcs"
    amount = _checked(value, minimum=minimum)
    return amount if isinstance(amount, Refused) else Quantity(amount, unit)


def parse_quantity(text: str) -> tuple[int, str | None] | None:
    """`read_quantity` as a pair, or None when refused (for callers that need no reason)."""
    result = read_quantity(text)
    return None if isinstance(result, Refused) else (result.amount, result.unit)


# --------------------------------------------------------------------------------------------
# Prices in rupiah
# --------------------------------------------------------------------------------------------

_PRICE_TERM_RE = re.compile(r"\s*(" + _NUM_CORE + r")\s*(?:(" + _MULT_ALT + r")(?![a-z]))?")
_CURRENCY_PREFIX_RE = re.compile(r"^(?:rp|idr)\s*[.:]?\s*")
_CURRENCY_SUFFIX_RE = re.compile(r"\s*(?:rupiah|rp|idr)$")
_DASH_SUFFIX_RE = re.compile(r"\s*[,.]?\s*-+$")  # "Rp 25.000,-"
# "/bungkus", "per pack", "perpcs", "tiap botol": the unit typed with the price.
_PRICE_UNIT_RE = re.compile(r"\s*(?:/|(?<![a-z])(?:per|tiap|setiap))\s*([a-z]{1,20})$")
# "1M", "2b": miliar or million?
_AMBIGUOUS_LETTER_RE = re.compile(_NUM_CORE + r"\s*[mb]")


class Price(NamedTuple):
    amount: int
    unit: str | None  # "bungkus" from "Rp 15.000/bungkus"; None when only an amount was typed


def _digits_price(s: str) -> Fraction | Reason:
    terms: list[tuple[_Num, int | None]] = []
    pos = 0
    while pos < len(s):
        m = _PRICE_TERM_RE.match(s, pos)
        if m is None or m.end() == pos:
            return Reason.NOT_A_NUMBER
        num = _interpret_number(m.group(1))
        if num is None:
            return Reason.NOT_A_NUMBER
        mult = _MULTIPLIERS[m.group(2)] if m.group(2) else None
        terms.append((num, mult))
        pos = m.end()
    return _combine_price_terms(terms)


def read_price(text: str) -> Price | Refused:
    """A rupiah amount ("Rp 25.000,-", "25rb", "1,5 jt", "2 juta 500 ribu", "lima belas ribu")
    and the unit when typed with it ("Rp 15.000/bungkus", "15 ribu per pack").

    Refuses zero, negatives, fractions of a rupiah, amounts above 1,000,000,000 and ambiguous
    input such as "1.500 jt" (1.5 juta or 1,500 juta?) — each with its reason.
    """
    if len(text) > _MAX_AMOUNT_LEN:
        return Refused(Reason.NOT_A_NUMBER)
    s = " ".join(text.casefold().split())
    s = _CURRENCY_PREFIX_RE.sub("", s)
    unit: str | None = None
    if (m := _PRICE_UNIT_RE.search(s)) is not None:
        unit, s = m.group(1), s[: m.start()]
        if unit in _MULTIPLIERS or unit in ("rp", "idr", "rupiah"):
            return Refused(Reason.NOT_A_NUMBER)
    s = _DASH_SUFFIX_RE.sub("", s)
    s = s.rstrip(".!")
    s = _CURRENCY_SUFFIX_RE.sub("", s).strip()
    if s.startswith("-") and _LEADING_NUMBER_RE.match(s[1:].lstrip()):
        return Refused(Reason.TOO_SMALL)
    if _AMBIGUOUS_LETTER_RE.fullmatch(s):
        return Refused(Reason.AMBIGUOUS)
    value = _digits_price(s) if s else Reason.NOT_A_NUMBER
    if value is Reason.NOT_A_NUMBER and s:
        value = _words_value(_word_tokens(s))
    amount = _checked(value, minimum=1)
    return amount if isinstance(amount, Refused) else Price(amount, unit)


def parse_price(text: str) -> int | None:
    """The amount of `read_price`, or None when refused or when a unit came with it (a
    caller that only wants an amount must not lose the unit silently)."""
    result = read_price(text)
    if isinstance(result, Refused) or result.unit is not None:
        return None
    return result.amount


def _combine_price_terms(terms: list[tuple[_Num, int | None]]) -> Fraction | Reason:
    if len(terms) == 1:
        num, mult = terms[0]
        if mult is None:
            return num.value
        if num.ambiguous:
            return Reason.AMBIGUOUS
        return num.value * mult

    # Compound "2 juta 500 ribu": every term needs a unit, units strictly decreasing, each
    # later term smaller than one of the previous unit, and only whole numbers. A bare trailing
    # number ("2 juta 500") is refused: 2.000.500 and 2.500.000 are both plausible readings.
    total = Fraction(0)
    previous_mult: int | None = None
    for num, mult in terms:
        if mult is None:
            return Reason.AMBIGUOUS
        if num.value.denominator != 1:
            return Reason.NOT_A_NUMBER
        if previous_mult is not None and (
            mult >= previous_mult or num.value * mult >= previous_mult
        ):
            return Reason.NOT_A_NUMBER
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


# --------------------------------------------------------------------------------------------
# Choices typed instead of tapped
# --------------------------------------------------------------------------------------------

K = TypeVar("K", bound=Hashable)

# Words people type for each sector, beside the sector's labels in both languages.
SECTOR_ALIASES: dict[str, tuple[str, ...]] = {
    "food": (
        "food", "makanan", "minuman", "mamin", "kuliner", "pangan", "camilan", "cemilan",
        "snack", "kue", "beverage", "drink", "drinks", "culinary", "f&b",
    ),
    "fashion": (
        "fashion", "fesyen", "busana", "pakaian", "baju", "sandang", "clothing", "apparel",
        "batik",
    ),
    "handicraft": (
        "handicraft", "kerajinan", "kriya", "craft", "crafts", "anyaman", "suvenir",
        "souvenir", "batik",
    ),
    "furniture": ("furniture", "mebel", "meubel", "furnitur", "perabot", "perabotan"),
    "agribusiness": (
        "agribusiness", "agribisnis", "pertanian", "perkebunan", "perikanan", "peternakan",
        "agriculture", "farming",
    ),
    "spa": (
        "spa", "jamu", "herbal", "kosmetik", "kecantikan", "cosmetics", "beauty", "skincare",
    ),
    "other": ("other", "others", "lainnya", "lain", "lain lain"),
}  # fmt: skip

_STOP_WORDS = frozenset({"dan", "and", "atau", "or", "the", "of", "yang"})
_NON_WORD_RE = re.compile(r"[\W_]+")
_MAX_CHOICE_LEN = 100
_CLOSE = 0.05  # scores this close to the best are a tie


def fold(text: str) -> str:
    """Case-, accent- and punctuation-insensitive form: "Fésyen & Batik!" → "fesyen batik"."""
    s = unicodedata.normalize("NFKD", text.casefold())
    s = "".join(ch for ch in s if not unicodedata.combining(ch))
    return " ".join(_NON_WORD_RE.sub(" ", s).split())


@dataclass(frozen=True, slots=True)
class Choice(Generic[K]):
    """What a typed answer chose: one option, or the options it could be (best first)."""

    match: K | None = None
    candidates: tuple[K, ...] = ()


def _similarity(typed: str, name: str) -> float:
    score = SequenceMatcher(None, typed, name, autojunk=False).ratio()
    # Chat shorthand drops vowels ("mknan", "krjinan"): same first letter, letters in order.
    if len(typed) >= 3 and typed[0] == name[0] and 2 * len(typed) >= len(name):
        rest = iter(name)
        if all(ch in rest for ch in typed):
            score = max(score, 0.8)
    return score


def match_choice(
    text: str, options: Mapping[K, Iterable[str]], *, cutoff: float = 0.75
) -> Choice[K]:
    """The option whose name (a label in any language, a code or an alias) was typed.

    Case, accents and punctuation do not matter; a label's own words count too ("makanan" for
    "Makanan & minuman"), and so do small typos ("mknan", "fesion"). Exact names win over
    words, words over prefixes, prefixes over look-alikes. When several options fit equally
    well the answer names them as candidates instead of guessing; nothing near gives an empty
    `Choice`.
    """
    typed = fold(text)
    if not typed or len(typed) > _MAX_CHOICE_LEN:
        return Choice()
    names: list[tuple[str, K]] = []
    words: list[tuple[str, K]] = []
    for key, labels in options.items():
        for label in labels:
            name = fold(label)
            if not name:
                continue
            names.append((name, key))
            parts = [w for w in name.split() if len(w) >= 3 and w not in _STOP_WORDS]
            if len(parts) > 1:
                words.extend((w, key) for w in parts)

    def decide(keys: list[K]) -> Choice[K] | None:
        unique = list(dict.fromkeys(keys))
        if not unique:
            return None
        return Choice(match=unique[0]) if len(unique) == 1 else Choice(candidates=tuple(unique))

    for found in (
        [k for n, k in names if n == typed],
        [k for n, k in words if n == typed],
        [k for n, k in (*names, *words) if len(typed) >= 3 and n.startswith(typed)],
    ):
        if (choice := decide(found)) is not None:
            return choice

    best: dict[K, float] = {}
    for name, key in (*names, *words):
        score = _similarity(typed, name)
        if score >= cutoff and score > best.get(key, 0.0):
            best[key] = score
    if not best:
        return Choice()
    top = max(best.values())
    close = sorted((k for k, v in best.items() if v >= top - _CLOSE), key=lambda k: -best[k])
    return decide(close) or Choice()
