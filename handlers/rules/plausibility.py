"""Figures that do not fit, asked as questions for the curator (never refusals). One row of
`QUESTIONS` per check: its code, the question, and the function that finds it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from handlers.i18n import N_

PRICE_FACTOR = 10  # ×10 or ÷10 of the sector's median
MIN_PRICES_FOR_MEDIAN = 5
CAPACITY_UNIT_FREE_FACTOR = 10  # units differ: only a gap this wide is asked about


@dataclass(frozen=True, slots=True)
class Figures:
    """The numbers the checks read (None: not given)."""

    name: str | None
    sector: str | None
    unit: str | None
    price: int | None
    min_order: int | None
    capacity: int | None
    shelf_life_days: int | None
    business_capacity: int | None
    business_unit: str | None
    sector_median_price: int | None  # of approved products of the sector and unit


@dataclass(frozen=True, slots=True)
class Question:
    code: str
    text: str  # N_-marked, for the curator; formatted with `params`
    params: dict[str, str]


@dataclass(frozen=True, slots=True)
class FoodKind:
    """A kind of food known by words in its name, and the shelf life that fits it."""

    words: tuple[str, ...]
    min_days: int
    max_days: int


FOOD_KINDS: tuple[FoodKind, ...] = (
    FoodKind(
        ("kue basah", "tahu", "tempe segar", "roti", "susu segar", "jamu segar", "pecel"), 1, 14
    ),
    FoodKind(("sambal", "bumbu basah", "selai", "dodol", "jenang"), 3, 365),
    FoodKind(("keripik", "kripik", "kerupuk", "rengginang", "opak", "chips"), 14, 540),
    FoodKind(
        ("kopi", "coffee", "teh", "tea", "rempah", "bubuk", "powder", "madu", "honey"), 30, 1095
    ),
)


def _units_match(a: str | None, b: str | None) -> bool:
    return (a or "").strip().lower() == (b or "").strip().lower() and bool(a)


def capacity_above_business(f: Figures) -> dict[str, str] | None:
    if f.capacity is None or not f.business_capacity:
        return None
    same = _units_match(f.unit, f.business_unit)
    limit = f.business_capacity * (1 if same else CAPACITY_UNIT_FREE_FACTOR)
    if f.capacity <= limit:
        return None
    return {"cap": f"{f.capacity:,}", "business": f"{f.business_capacity:,}"}


def min_order_above_capacity(f: Figures) -> dict[str, str] | None:
    if f.min_order is None or f.capacity is None or f.min_order <= f.capacity:
        return None
    return {"min": f"{f.min_order:,}", "cap": f"{f.capacity:,}"}


def price_far_from_median(f: Figures) -> dict[str, str] | None:
    median = f.sector_median_price
    if not f.price or not median:
        return None
    if f.price > median * PRICE_FACTOR or f.price * PRICE_FACTOR < median:
        return {"price": f"{f.price:,}", "median": f"{median:,}"}
    return None


def food_kind(name: str | None) -> FoodKind | None:
    lowered = (name or "").lower()
    return next((k for k in FOOD_KINDS if any(w in lowered for w in k.words)), None)


def shelf_life_unfit(f: Figures) -> dict[str, str] | None:
    if f.sector != "food" or f.shelf_life_days is None:
        return None
    kind = food_kind(f.name)
    if kind is None or kind.min_days <= f.shelf_life_days <= kind.max_days:
        return None
    return {
        "days": str(f.shelf_life_days),
        "min": str(kind.min_days),
        "max": str(kind.max_days),
    }


QUESTIONS: tuple[tuple[str, str, Callable[[Figures], dict[str, str] | None]], ...] = (
    (
        "capacity_above_business",
        N_("Capacity {cap}/month is above the business's own {business}/month: which is right?"),
        capacity_above_business,
    ),
    (
        "min_order_above_capacity",
        N_("Minimum order {min} is above the monthly capacity {cap}: can one order be filled?"),
        min_order_above_capacity,
    ),
    (
        "price_vs_median",
        N_("Price Rp {price} is far from the sector median Rp {median} (×10 / ÷10): typo or unit?"),
        price_far_from_median,
    ),
    (
        "shelf_life",
        N_("Shelf life {days} days is unusual for this food ({min}–{max} days): how is it kept?"),
        shelf_life_unfit,
    ),
)
CODES = tuple(code for code, _, _ in QUESTIONS)


def questions(figures: Figures) -> list[Question]:
    found: list[Question] = []
    for code, text, check in QUESTIONS:
        params = check(figures)
        if params is not None:
            found.append(Question(code, text, params))
    return found


def median(values: list[int]) -> int | None:
    """The nearest-rank median, or None with fewer than MIN_PRICES_FOR_MEDIAN values."""
    if len(values) < MIN_PRICES_FOR_MEDIAN:
        return None
    ordered = sorted(values)
    return ordered[(len(ordered) - 1) // 2]
