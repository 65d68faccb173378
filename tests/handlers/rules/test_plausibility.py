"""Plausibility questions for the curator: each with figures that fit and ones that don't."""

from __future__ import annotations

from dataclasses import replace

from bot.i18n import translator
from handlers.rules.plausibility import Figures, median, questions

FITS = Figures(
    name="Keripik Tempe",
    sector="food",
    unit="pack",
    price=25_000,
    min_order=10,
    capacity=500,
    shelf_life_days=180,
    business_capacity=600,
    business_unit="pack",
    sector_median_price=20_000,
)


def asked(figures: Figures) -> list[str]:
    return [q.code for q in questions(figures)]


def test_figures_that_fit_ask_nothing() -> None:
    assert asked(FITS) == []


def test_capacity_above_the_business() -> None:
    assert asked(replace(FITS, capacity=1_000_000)) == ["capacity_above_business"]
    # Other units: only a gap of ten times is asked about.
    assert asked(replace(FITS, capacity=3_000, business_unit="kg")) == []
    assert asked(replace(FITS, capacity=7_000, business_unit="kg")) == ["capacity_above_business"]


def test_minimum_order_above_capacity() -> None:
    assert asked(replace(FITS, min_order=501)) == ["min_order_above_capacity"]


def test_price_far_from_the_sector_median() -> None:
    assert asked(replace(FITS, price=500_000)) == ["price_vs_median"]
    assert asked(replace(FITS, price=1_500)) == ["price_vs_median"]
    assert asked(replace(FITS, price=190_000)) == []
    assert asked(replace(FITS, price=500_000, sector_median_price=None)) == []
    assert median([1, 2, 3, 4]) is None and median([5, 1, 4, 2, 3]) == 3


def test_shelf_life_that_does_not_fit_the_food() -> None:
    assert asked(replace(FITS, shelf_life_days=2)) == ["shelf_life"]
    assert asked(replace(FITS, name="Kue basah lapis", shelf_life_days=90)) == ["shelf_life"]
    assert asked(replace(FITS, name="Kue basah lapis", shelf_life_days=3)) == []
    assert asked(replace(FITS, name="Batik tulis", sector="fashion", shelf_life_days=2)) == []


def test_questions_are_worded_in_both_languages() -> None:
    question = questions(replace(FITS, capacity=1_000_000))[0]
    assert "above the business's own 600/month" in translator("en")(
        question.text, **question.params
    )
    assert "melebihi kapasitas usaha 600/bulan" in translator("id")(
        question.text, **question.params
    )
