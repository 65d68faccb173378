"""Monthly quantities: "1.000 kg/bulan", "seratus pcs", "2 lusin"."""

from __future__ import annotations

import re
from fractions import Fraction
from typing import NamedTuple

from handlers.kit.parsing.numbers import (
    LEADING_NUMBER_RE,
    MAX_AMOUNT_LEN,
    MULT_ALT,
    MULTIPLIERS,
    NUM_CORE,
    NUMBER_WORDS,
    checked,
    interpret_number,
    word_tokens,
    words_value,
)
from handlers.kit.parsing.refusals import Reason, Refused

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
# "kira2 300", "sekitar 300", "kurang lebih 300", "about 300": the amount is the estimate.
_ABOUT_RE = re.compile(
    r"^(?:kira[- ]?kira|kira2|kira|sekitar|kurang\s+lebih|lebih\s+kurang|kurleb|rata[- ]?rata|"
    r"rata2|biasanya|bisa|about|around|approx(?:imately)?\.?|roughly|some|up\s+to|±|~|\+-)\s*"
)
# "2 ribu bungkus" is 2000 bungkus, not 2 of a unit called "ribu".
_QUANTITY_RE = re.compile(
    r"(" + NUM_CORE + r")\s*(?:(" + MULT_ALT + r")(?![a-z]))?\s*([a-z]{1,20})?"
)
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
    num = interpret_number(m.group(1))
    if num is None or m.group(3) in MULTIPLIERS:
        return Reason.NOT_A_NUMBER
    if not m.group(2):
        return num.value
    if num.ambiguous:
        return Reason.AMBIGUOUS
    return num.value * MULTIPLIERS[m.group(2)]


def _words_quantity(s: str) -> tuple[Fraction | Reason, str | None]:
    tokens = word_tokens(s)
    whole = words_value(tokens)
    if not isinstance(whole, Reason) or len(tokens) < 2:
        return whole, None
    unit = tokens[-1]
    if unit in NUMBER_WORDS or unit in MULTIPLIERS or not re.fullmatch(r"[a-z]{1,20}", unit):
        return whole, None
    return words_value(tokens[:-1]), unit


def read_quantity(text: str, *, minimum: int = 1) -> Quantity | Refused:
    """A monthly quantity like "1.000 kg/bulan", "seratus pcs" or "2 lusin" (24 pcs).

    The amount is a whole number from `minimum` to 1,000,000,000 ("2 ribu" and "1,5 rb" count
    as 2000 and 1500); the optional unit is one lowercase ASCII word of at most 20 letters.
    Per-month wording is dropped; per week, day or year is refused.
    """
    if len(text) > MAX_AMOUNT_LEN:
        return Refused(Reason.NOT_A_NUMBER, minimum=minimum)
    s = " ".join(text.casefold().split()).rstrip(".!")
    if _OTHER_PERIOD_RE.search(s):
        return Refused(Reason.NOT_MONTHLY, minimum=minimum)
    s = _PER_MONTH_RE.sub("", s).strip()
    s = _ABOUT_RE.sub("", s).strip()
    if s.startswith("-") and LEADING_NUMBER_RE.match(s[1:].lstrip()):
        return Refused(Reason.TOO_SMALL, minimum=minimum)
    m = _QUANTITY_RE.fullmatch(s)
    unit: str | None
    if m is not None:
        value, unit = _digits_quantity(m), m.group(3)
    else:
        value, unit = _words_quantity(s)
        if value is Reason.NOT_A_NUMBER and LEADING_NUMBER_RE.match(s):
            value = Reason.BAD_UNIT  # a number followed by more than one plain word
    if unit in COUNTING_UNITS and not isinstance(value, Reason):
        value, unit = value * COUNTING_UNITS[unit], "pcs"
    amount = checked(value, minimum=minimum)
    return amount if isinstance(amount, Refused) else Quantity(amount, unit)


def parse_quantity(text: str) -> tuple[int, str | None] | None:
    """`read_quantity` as a pair, or None when refused (for callers that need no reason)."""
    result = read_quantity(text)
    return None if isinstance(result, Refused) else (result.amount, result.unit)
