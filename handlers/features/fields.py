"""Every product field, declared once: its label, how the form asks it, its value on the
producer's card and its line on the curators' card. Where it is stored and how the exports
and /datasaya show it is the field's data half, declared beside it in db/products.py
(`STORED`), since db/ reads no handler.

The form (features/product/form.py), the producer's card (product/card.py), the curators'
card (review/card.py), the missing-answers list and the exports' headers all walk `FIELDS`;
tests/handlers/test_product_fields.py fails when a view leaves a field out. To add a field:
its column (db/models.py, a migration), its member and `Stored` in db/products.py, and one
`_spec(...)` here (plus its .po entries).

Like features/buttons.py, this module imports only the kit, the rules and db/.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from db.models import Business, Photo, Product
from db.products import ProductField, applies
from handlers.i18n import N_
from handlers.kit.context import Context, Translate
from handlers.kit.forms.answers import Ask
from handlers.kit.forms.engine import Field, Input, Skip
from handlers.kit.forms.inputs import ChoiceInput, QuantityInput, TextInput
from handlers.kit.labels import (
    legal_docs_input,
    legal_text,
    rupiah,
    sector_input,
    sector_text,
    thousands,
    unit_word,
)
from handlers.kit.parsing import read_price
from handlers.kit.parsing.dates import read_duration_days
from handlers.kit.render import Option
from handlers.rules.precheck import Facts
from handlers.rules.units import FORM_UNITS

F = ProductField


@dataclass
class Draft:
    """The product form's record: the product, its business and its photos."""

    product: Product
    business: Business
    photos: list[Photo]

    @property
    def facts(self) -> Facts:
        return Facts(self.product, self.business, self.photos)


# A field's value on the producer's card ((t, product, its photos) -> text, None: not given).
CardValue = Callable[[Translate, Product, list[Photo]], str | None]
# A field's line on the curators' card ((t, product) -> the line, None: left out).
CuratorLine = Callable[[Translate, Product], str | None]
Place = Literal["heading", "body", "end"]


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One product field. `step` is how the form asks it (None: the form asks it with hooks
    of its own, as the photos); `card` its value on the producer's card and `curator` its
    line on the curators' card, or (a text) why that view shows it otherwise;
    `curator_at` is where on that card: under the name (the heading), with the product's
    other lines (the body), or closing the card (the end: the descriptions)."""

    field: ProductField
    label: str
    step: Field[Draft] | None
    card: CardValue | str
    curator: CuratorLine | str
    curator_at: Place = "body"


# --- how questions read ---------------------------------------------------------------------

UNITS = FORM_UNITS  # the unit vocabulary (handlers/rules/units.py); a typed word is kept as typed
WHOLE_NUMBER = N_("Please type a whole number, for example 100.")


def _with_unit(question: str) -> Callable[[Context, Draft], str]:
    return lambda ctx, d: ctx.t(question, unit=unit_word(ctx, d.product.unit or "pcs"))


def _sector(d: Draft) -> str:
    return d.product.sector or d.business.sector or "other"


def _for_sector(question: str, examples: dict[str, str]) -> Callable[[Context, Draft], str]:
    """A question whose examples fit the product's sector (no tempe for batik)."""
    return lambda ctx, d: ctx.t(
        question, examples=ctx.t(examples.get(_sector(d), examples["other"]))
    )


# What each sector makes things of, and what it sells by (the price question's example).
MATERIALS = {
    "food": N_("tempe, coconut oil, salt"),
    "fashion": N_("cotton cloth, natural dyes, batik wax"),
    "handicraft": N_("bamboo, rattan, pandan leaves"),
    "furniture": N_("teak wood, rattan, natural varnish"),
    "agribusiness": N_("arabica coffee beans, palm sugar"),
    "spa": N_("ginger, turmeric, virgin coconut oil"),
    "other": N_("wood, cloth, metal"),
}
UNIT_EXAMPLES = {
    "food": N_("pack"),
    "fashion": N_("piece of cloth"),
    "handicraft": N_("item"),
    "furniture": N_("unit"),
    "agribusiness": N_("kg"),
    "spa": N_("bottle"),
    "other": N_("pcs"),
}
PRICE_EXAMPLES = {
    "food": N_("25000, 25rb, Rp 15.000/pack or fifteen thousand"),
    "fashion": N_("350000, 350rb, Rp 350.000/piece or three hundred fifty thousand"),
    "handicraft": N_("75000, 75rb, Rp 75.000/piece or seventy-five thousand"),
    "furniture": N_("2500000, 2,5 jt, Rp 2.500.000/unit or two million"),
    "agribusiness": N_("120000, 120rb, Rp 120.000/kg or one hundred twenty thousand"),
    "spa": N_("45000, 45rb, Rp 45.000/bottle or forty-five thousand"),
    "other": N_("25000, 25rb, Rp 25.000/pcs or twenty-five thousand"),
}


def _spec(
    field: ProductField,
    label: str,
    ask: Ask[Draft] | None,
    input_: Input[Draft] | None,
    *,
    card: CardValue | str,
    curator: CuratorLine | str,
    curator_at: Place = "body",
    **kw: Any,
) -> FieldSpec:
    step = Field(field, label, ask, input_, **kw) if ask is not None and input_ else None
    return FieldSpec(field, label, step, card, curator, curator_at)


def _per_unit(amount: int | None, p: Product) -> str | None:
    return f"{thousands(amount)} {p.unit or ''}" if amount else None


FIELDS: tuple[FieldSpec, ...] = (
    _spec(
        F.name,
        N_("Product name"),
        N_("What is the product called?"),
        TextInput(max_len=100, letters=True),
        card="the card's heading",
        curator="the card's heading",
    ),
    _spec(
        F.sector,
        N_("Sector"),
        N_("Which sector is this product in?"),
        sector_input(lambda d: d.business.sector),
        card=lambda t, p, _ph: sector_text(t, p.sector) if p.sector else None,
        curator=lambda t, p: t("Sector: {sector}", sector=sector_text(t, p.sector)),
        curator_at="heading",
    ),
    _spec(
        F.description,
        N_("Description"),
        N_(
            "Describe the product in a sentence or two: what it is, how it is made, "
            "what makes it special."
        ),
        TextInput(max_len=1000, min_len=10),
        card=lambda t, p, _ph: p.description,
        curator=lambda t, p: t("Description: {text}", text=p.description or "—"),
        curator_at="end",
    ),
    _spec(
        F.description_en,
        N_("English description"),
        N_(
            "Optional: the same description in English, for foreign buyers. It is shown on "
            "the export catalogue. Type it, or press “Skip”."
        ),
        TextInput(max_len=1000, min_len=10),
        card=lambda t, p, _ph: p.description_en,
        curator=lambda t, p: (
            t("English description: {text}", text=p.description_en) if p.description_en else None
        ),
        curator_at="end",
        skip=Skip(N_("Skip"), ""),
    ),
    _spec(
        F.name_en,
        N_("English name"),
        N_(
            "Optional: the product's name in English, for the export catalogue (e.g. Crispy "
            "Tempeh Chips). Type it, or press “Skip”."
        ),
        TextInput(max_len=100),
        card=lambda t, p, _ph: p.name_en,
        curator="the catalogue's name for buyers; curators judge the product by its own name",
        skip=Skip(N_("Skip"), ""),
        applies=lambda d: applies(d.product, F.name_en),
    ),
    _spec(
        F.price,
        N_("Price"),
        _for_sector(
            N_("What is the price in rupiah, and per what? For example {examples}."),
            PRICE_EXAMPLES,
        ),
        TextInput(
            parse=read_price,
            refusal=N_(
                "I couldn't read that as a price. Type an amount between Rp 1 and "
                "Rp 1.000.000.000, for example 25000, Rp 25.000, 25rb or 1,5 jt."
            ),
        ),
        card=lambda t, p, _ph: (
            f"{rupiah(p.price)} / {p.unit or ''}".rstrip(" /") if p.price else None
        ),
        curator=lambda t, p: t(
            "Price: {price} / {unit}", price=rupiah(p.price or 0), unit=p.unit or ""
        ),
    ),
    _spec(
        F.unit,
        N_("Unit"),
        _for_sector(
            N_("The price is per what? Choose a unit or type it (e.g. {examples})."), UNIT_EXAMPLES
        ),
        ChoiceInput(
            choices=lambda ctx, d: [Option(u, unit_word(ctx, u), (u,)) for u in UNITS],
            refusal=N_("Please type the unit as one word, e.g. pcs, kg or pack."),
            columns=4,
            free_word=True,
        ),
        card="with the price, the minimum order and the capacity",
        curator="with the price, the minimum order and the capacity",
    ),
    _spec(
        F.min_order,
        N_("Minimum order"),
        _with_unit(N_("What is the minimum order, in {unit}? For example 10.")),
        QuantityInput(refusal=WHOLE_NUMBER),
        card=lambda t, p, _ph: _per_unit(p.min_order, p),
        curator=lambda t, p: t(
            "Minimum order: {min} {unit} · Capacity: {cap} {unit}/month",
            min=thousands(p.min_order or 0),
            cap=thousands(p.capacity or 0),
            unit=p.unit or "",
        ),
    ),
    _spec(
        F.capacity,
        N_("Monthly capacity"),
        _with_unit(N_("How many {unit} can you make in a month? For example 500.")),
        QuantityInput(refusal=WHOLE_NUMBER),
        card=lambda t, p, _ph: _per_unit(p.capacity, p),
        curator="on the minimum order's line",
    ),
    _spec(
        F.materials,
        N_("Main materials"),
        _for_sector(N_("What are the main materials? For example: {examples}."), MATERIALS),
        TextInput(max_len=300),
        card=lambda t, p, _ph: p.materials,
        curator=lambda t, p: t("Materials: {materials}", materials=p.materials or "—"),
    ),
    _spec(
        F.shelf_life,
        N_("Shelf life"),
        N_("How long does it keep (shelf life)? For example 6 months, 1 year or 30 days."),
        TextInput(
            parse=read_duration_days,
            refusal=N_("Please give a number with days, weeks, months or years, e.g. 6 months."),
            too_large=N_(
                "That is longer than any shelf life I can record ({maximum} days, 10 years): "
                "please check the number, e.g. 2 years."
            ),
        ),
        card=lambda t, p, _ph: t("{n} days", n=p.shelf_life_days) if p.shelf_life_days else None,
        curator=lambda t, p: (
            t("Shelf life: {n} days", n=p.shelf_life_days) if p.shelf_life_days else None
        ),
        applies=lambda d: applies(d.product, F.shelf_life),
    ),
    _spec(
        F.legal_docs,
        N_("Legal documents"),
        N_("Which legal documents apply to this product? Tap to tick or untick, then “Done”."),
        legal_docs_input(
            lambda ctx, d: list(d.product.legal_docs or d.business.legal_docs or []),
            sector=_sector,
        ),
        card=lambda t, p, _ph: legal_text(t, p.legal_docs) if p.legal_docs is not None else None,
        curator=lambda t, p: t("Product documents: {docs}", docs=legal_text(t, p.legal_docs or [])),
    ),
    _spec(
        F.photos,
        N_("Photos"),
        None,  # asked by the form with its photo hooks (features/product/media.py)
        None,
        card=lambda t, p, photos: str(len(photos)),
        curator="sent as an album above the card",
    ),
)

BY_FIELD: dict[ProductField, FieldSpec] = {spec.field: spec for spec in FIELDS}
PRODUCT_FIELD_LABELS: dict[ProductField, str] = {spec.field: spec.label for spec in FIELDS}


def curator_lines(t: Translate, product: Product, *, at: Place) -> list[str]:
    """The curators' card's lines of the product's fields at one place, in field order."""
    lines = []
    for spec in FIELDS:
        if spec.curator_at == at and not isinstance(spec.curator, str):
            line = spec.curator(t, product)
            if line is not None:
                lines.append(line)
    return lines
