"""Pre-check before curation: what would only cost a curator's round, caught while the
producer can still fix it. One table of rules; add a row to add a rule.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from db.models import Business, Photo, Product
from handlers.i18n import N_

FOOD_PERMITS = frozenset({"pirt", "bpom"})
MIN_DESCRIPTION = 40


@dataclass(frozen=True, slots=True)
class Facts:
    product: Product
    business: Business | None
    photos: list[Photo]

    @property
    def docs(self) -> set[str]:
        return set(self.product.legal_docs or [])


@dataclass(frozen=True, slots=True)
class Rule:
    code: str
    message: str  # marked with N_, translated when shown
    fails: Callable[[Facts], bool]
    sectors: frozenset[str] | None = None  # None: every sector
    curator: str = ""  # N_-marked: the same finding worded for the curator's card

    def applies(self, facts: Facts) -> bool:
        return self.sectors is None or facts.product.sector in self.sectors


FOOD = frozenset({"food"})

RULES: tuple[Rule, ...] = (
    Rule(
        "food_permit",
        N_("Food and drink need a PIRT or BPOM registration before they can be curated."),
        lambda f: not (f.docs & FOOD_PERMITS),
        FOOD,
        curator=N_("No PIRT or BPOM registration declared."),
    ),
    Rule(
        "shelf_life",
        N_("Add the shelf life: curators check expiry dates for food and drink."),
        lambda f: f.product.shelf_life_days is None,
        FOOD,
        curator=N_("No shelf life given."),
    ),
    Rule(
        "halal",
        N_("No Halal certificate yet: it is required for food and drink sold in Indonesia."),
        lambda f: "halal" not in f.docs,
        FOOD,
        curator=N_("No Halal certificate declared."),
    ),
    Rule(
        "label_photo",
        N_("Add a photo of the label and packaging: curators judge them."),
        lambda f: len(f.photos) < 2,
        curator=N_("No photo of the label or packaging (one photo only)."),
    ),
    Rule(
        "price_unit",
        N_("The price needs a unit (per pcs, per pack, per kg …)."),
        lambda f: f.product.price is not None and not f.product.unit,
        curator=N_("Price has no unit."),
    ),
    Rule(
        "photo_quality",
        N_("Some photos look dark or blurred; unclear photos are the most common revision."),
        lambda f: any(p.hints for p in f.photos),
        curator=N_("Some photos look dark or blurred."),
    ),
    Rule(
        "short_description",
        N_(
            "Describe the product in a sentence or two: what it is, how it is made, what it is for."
        ),
        lambda f: len(f.product.description or "") < MIN_DESCRIPTION,
        curator=N_("Description is very short."),
    ),
    Rule(
        "capacity_below_minimum",
        N_("Monthly capacity is below the minimum order; check both numbers."),
        lambda f: (
            f.product.capacity is not None
            and f.product.min_order is not None
            and f.product.capacity < f.product.min_order
        ),
        curator=N_("Monthly capacity is below the minimum order."),
    ),
    Rule(
        "no_nib",
        N_("The business has no NIB yet; export buyers and fairs ask for it (free at oss.go.id)."),
        lambda f: f.business is not None and f.business.has_nib is False,
        curator=N_("The business has no NIB yet."),
    ),
)
BY_CODE = {rule.code: rule for rule in RULES}


def precheck(facts: Facts) -> list[Rule]:
    """The rules this product fails, in table order."""
    return [rule for rule in RULES if rule.applies(facts) and rule.fails(facts)]
