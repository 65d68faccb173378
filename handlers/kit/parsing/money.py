"""Prices in rupiah: "Rp 25.000,-", "25rb", "1,5 jt", "Rp 15.000/bungkus"."""

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
    Num,
    checked,
    interpret_number,
    word_tokens,
    words_value,
)
from handlers.kit.parsing.refusals import Reason, Refused

_PRICE_TERM_RE = re.compile(r"\s*(" + NUM_CORE + r")\s*(?:(" + MULT_ALT + r")(?![a-z]))?")
_CURRENCY_PREFIX_RE = re.compile(r"^(?:rp|idr)\s*[.:]?\s*")
_CURRENCY_SUFFIX_RE = re.compile(r"\s*(?:rupiah|rp|idr)$")
_DASH_SUFFIX_RE = re.compile(r"\s*[,.]?\s*-+$")  # "Rp 25.000,-"
# "/bungkus", "per pack", "perpcs", "tiap botol": the unit typed with the price.
_PRICE_UNIT_RE = re.compile(r"\s*(?:/|(?<![a-z])(?:per|tiap|setiap))\s*([a-z]{1,20})$")
# "1M", "2b": miliar or million?
_AMBIGUOUS_LETTER_RE = re.compile(NUM_CORE + r"\s*[mb]")


class Price(NamedTuple):
    amount: int
    unit: str | None  # "bungkus" from "Rp 15.000/bungkus"; None when only an amount was typed


def _digits_price(s: str) -> Fraction | Reason:
    terms: list[tuple[Num, int | None]] = []
    pos = 0
    while pos < len(s):
        m = _PRICE_TERM_RE.match(s, pos)
        if m is None or m.end() == pos:
            return Reason.NOT_A_NUMBER
        num = interpret_number(m.group(1))
        if num is None:
            return Reason.NOT_A_NUMBER
        mult = MULTIPLIERS[m.group(2)] if m.group(2) else None
        terms.append((num, mult))
        pos = m.end()
    return _combine_price_terms(terms)


def read_price(text: str) -> Price | Refused:
    """A rupiah amount ("Rp 25.000,-", "25rb", "1,5 jt", "2 juta 500 ribu", "lima belas ribu")
    and the unit when typed with it ("Rp 15.000/bungkus", "15 ribu per pack").

    Refuses zero, negatives, fractions of a rupiah, amounts above 1,000,000,000 and ambiguous
    input such as "1.500 jt" (1.5 juta or 1,500 juta?) — each with its reason.
    """
    if len(text) > MAX_AMOUNT_LEN:
        return Refused(Reason.NOT_A_NUMBER)
    s = " ".join(text.casefold().split())
    s = _CURRENCY_PREFIX_RE.sub("", s)
    unit: str | None = None
    if (m := _PRICE_UNIT_RE.search(s)) is not None:
        unit, s = m.group(1), s[: m.start()]
        if unit in MULTIPLIERS or unit in ("rp", "idr", "rupiah"):
            return Refused(Reason.NOT_A_NUMBER)
    s = _DASH_SUFFIX_RE.sub("", s)
    s = s.rstrip(".!")
    s = _CURRENCY_SUFFIX_RE.sub("", s).strip()
    if s.startswith("-") and LEADING_NUMBER_RE.match(s[1:].lstrip()):
        return Refused(Reason.TOO_SMALL)
    if _AMBIGUOUS_LETTER_RE.fullmatch(s):
        return Refused(Reason.AMBIGUOUS)
    value = _digits_price(s) if s else Reason.NOT_A_NUMBER
    if value is Reason.NOT_A_NUMBER and s:
        value = words_value(word_tokens(s))
    amount = checked(value, minimum=1)
    return amount if isinstance(amount, Refused) else Price(amount, unit)


def parse_price(text: str) -> int | None:
    """The amount of `read_price`, or None when refused or when a unit came with it (a
    caller that only wants an amount must not lose the unit silently)."""
    result = read_price(text)
    if isinstance(result, Refused) or result.unit is not None:
        return None
    return result.amount


def _combine_price_terms(terms: list[tuple[Num, int | None]]) -> Fraction | Reason:
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
