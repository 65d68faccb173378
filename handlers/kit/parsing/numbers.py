"""Numbers as people type them: digits with Indonesian (1.000,50) or English (1,000.50)
separators, multiplier words ("rb", "juta"), and numbers written in words ("lima belas ribu").

The shared pieces the amount readers (`quantities`, `money`) are built from."""

from __future__ import annotations

import re
from fractions import Fraction
from typing import NamedTuple

from handlers.kit.parsing.refusals import MAX_AMOUNT, Reason, Refused

# Answers longer than this are never a single number/phone/price. Bounding input also keeps
# int() clear of CPython's 4300-digit conversion limit (which raises instead of returning).
MAX_FIELD_LEN = 64

# Amounts written out in words are longer: "tujuh ratus delapan puluh sembilan juta ...".
MAX_AMOUNT_LEN = 200

# No amount we accept needs more digits than this (separators not counted).
_MAX_DIGITS = 18


# --------------------------------------------------------------------------------------------
# Numbers with Indonesian (1.000,50) or English (1,000.50) separators
# --------------------------------------------------------------------------------------------

SPACES = "\u00a0\u202f\u2009"  # NBSP, narrow NBSP, thin space: pasted from spreadsheets/web
NUM_CORE = r"[0-9]+(?:[.,\u0020" + SPACES + r"][0-9]+)*"
_NUM_RE = re.compile(NUM_CORE)
_GROUPED_INT_RE = re.compile(r"[1-9][0-9]{0,2}")


class Num(NamedTuple):
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


def interpret_number(raw: str) -> Num | None:
    """Interpret a digits-and-separators string (as matched by ``NUM_CORE``)."""
    parts = re.split(r"([.,\u0020" + SPACES + r"])", raw)
    groups = parts[0::2]
    seps = [" " if s in SPACES else s for s in parts[1::2]]
    if sum(len(g) for g in groups) > _MAX_DIGITS:
        return None
    if not seps:
        return Num(Fraction(int(groups[0])), ambiguous=False)

    kinds = set(seps)
    if len(kinds) == 1:
        sep = seps[0]
        if sep == " " or len(seps) > 1:
            # Spaces and repeated separators can only be thousands grouping.
            value = _grouped(groups)
            return None if value is None else Num(Fraction(value), ambiguous=False)
        left, right = groups
        if len(right) == 3 and _GROUPED_INT_RE.fullmatch(left):
            return Num(Fraction(int(left + right)), ambiguous=True)
        if len(right) <= 3:
            return Num(Fraction(int(left + right), 10 ** len(right)), ambiguous=False)
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
    return Num(Fraction(whole) + Fraction(int(fraction), 10 ** len(fraction)), ambiguous=False)


def parse_number(text: str) -> int | None:
    """Parse a non-negative integer, allowing thousands separators ("1.000", "1,000", "1 000").

    Decimals ("1.5", "1,5") are rejected; an all-zero fraction ("1.000,00") is accepted.
    """
    s = text.strip()
    if len(s) > MAX_FIELD_LEN or not _NUM_RE.fullmatch(s):
        return None
    num = interpret_number(s)
    if num is None or num.value.denominator != 1:
        return None
    return int(num.value)


# --------------------------------------------------------------------------------------------
# Amount words shared by quantities and prices
# --------------------------------------------------------------------------------------------

MULTIPLIERS: dict[str, int] = {
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
MULT_ALT = "|".join(sorted(MULTIPLIERS, key=len, reverse=True))
LEADING_NUMBER_RE = re.compile(r"[0-9]")


def checked(value: Fraction | Reason, *, minimum: int) -> int | Refused:
    """A read amount as a whole number from `minimum` to MAX_AMOUNT, or why it is not."""
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
NUMBER_WORDS = frozenset(
    {*_UNIT_WORDS, *_TEEN_WORDS, *_TENS_WORDS, *_SE_SCALES, "seratus", "setengah", "a"}
    | {"belas", "puluh", "ratus", "hundred"}
)
_WORD_SPLIT_RE = re.compile(r"[\s\-]+")


def words_value(tokens: list[str]) -> Fraction | Reason:
    """The value of number words (digits may stand for a group: "2 juta lima ratus ribu").

    Parts within a group of three digits must get strictly smaller, and groups ("ribu",
    "juta", "miliar") too. A bare group after juta or miliar ("dua juta lima ratus") is
    refused as ambiguous, as its digit twin "2 juta 500" is.
    """
    if not tokens or not any(tok in NUMBER_WORDS and tok != "a" for tok in tokens):
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
        if tok == "a" and (following == "hundred" or following in MULTIPLIERS):
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
        elif tok in MULTIPLIERS or tok in _SE_SCALES:
            if tok in _SE_SCALES:
                if pending is not None or group:
                    return Reason.NOT_A_NUMBER
                size, amount = _SE_SCALES[tok], Fraction(1)
            else:
                size, amount = MULTIPLIERS[tok], group + (pending or 0)
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


def word_tokens(text: str) -> list[str]:
    return [tok for tok in _WORD_SPLIT_RE.split(text) if tok]
