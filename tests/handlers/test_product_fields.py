"""Every product field (db/products.py ProductField, STORED; handlers/features/fields.py
FIELDS) reaches every view: its label, the form's question, the producer's card, the
curators' card, the products export and the person's data export. Each test walks every
field, so a view that leaves one out fails here."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from bot.i18n import translator
from db.exports import columns, raw_rows
from db.models import Business, Photo, Product, ProductStatus, Review, User
from db.privacy import export_user_data
from db.products import STORED, ProductField
from handlers.features.export.labels import presenter
from handlers.features.fields import BY_FIELD, FIELDS, PRODUCT_FIELD_LABELS
from handlers.features.product import card as producer_card
from handlers.features.product.form import FORM
from handlers.features.review.card import card_text
from tests.factories import producer

NOW = datetime(2026, 11, 2, 3, tzinfo=UTC)
ALL = list(ProductField)


def filled(business: Business) -> Product:
    """A food product with every field answered, each value its own (a field added later
    gets a value of its column's type)."""
    product = Product(
        business_id=business.id,
        name="Keripik Tempe Bu Tini",
        sector="food",
        description="Keripik tempe renyah dari kedelai lokal.",
        description_en="Crispy tempeh chips from local soybeans.",
        name_en="Crispy Tempeh Chips",
        price=25_000,
        unit="pack",
        min_order=12,
        capacity=340,
        materials="tempe, minyak kelapa",
        shelf_life_days=180,
        legal_docs=["pirt", "halal"],
        status=ProductStatus.submitted,
        round=1,
        submitted_at=NOW,
    )
    for stored in STORED.values():
        if stored.column is not None and getattr(product, stored.column) is None:
            kind = Product.__table__.columns[stored.column].type.python_type
            setattr(product, stored.column, 7 if kind is int else f"{stored.column} value")
    return product


def test_every_field_is_declared_once_in_each_layer() -> None:
    assert [spec.field for spec in FIELDS] == ALL  # in the order a producer is asked
    assert set(STORED) == set(ALL)
    assert len({s.data_key for s in STORED.values()}) == len(ALL)


@pytest.mark.parametrize("field", ALL)
def test_every_field_has_a_label_in_both_languages(field: ProductField) -> None:
    label = PRODUCT_FIELD_LABELS[field]
    assert label == BY_FIELD[field].label and label
    assert translator("id")(label) != label  # translated, not left as the msgid


@pytest.mark.parametrize("field", ALL)
def test_the_product_form_asks_every_field(field: ProductField) -> None:
    asked = {f.name: f for f in FORM.fields}
    assert field in asked, field
    assert asked[field].label == PRODUCT_FIELD_LABELS[field]


async def _product(sessionmaker) -> tuple[User, Business, Product, list[Photo]]:
    async with sessionmaker() as session, session.begin():
        user, business = await producer(session, now=NOW)
        product = filled(business)
        session.add(product)
        await session.flush()
        photos = [
            Photo(
                product_id=product.id,
                position=n,
                sha256=f"{n}" * 64,
                store_key=f"k{n}",
                mime="image/jpeg",
                width=800,
                height=800,
                size=1000,
                hints=[],
                channel_ids={},
                created_at=NOW,
            )
            for n in (1, 2)
        ]
        session.add_all(photos)
        await session.flush()
        session.expunge_all()
        return user, business, product, photos


@pytest.mark.parametrize("lang", ["id", "en"])
async def test_the_producers_card_shows_every_field(sessionmaker, lang: str) -> None:
    _user, _business, product, photos = await _product(sessionmaker)
    t = translator(lang)
    ctx: Any = SimpleNamespace(t=t, language=lang)
    text = producer_card.card_text(ctx, product, photos)
    for spec in FIELDS:
        if isinstance(spec.card, str):  # shown otherwise: says how
            assert spec.card, spec.field
            continue
        value = spec.card(t, product, photos)
        assert value, spec.field  # every field of this product is answered
        assert f"{t(spec.label)}: {value}" in text, (spec.field, text)
    assert product.name in text and product.unit in text  # the heading, with the price


@pytest.mark.parametrize("lang", ["id", "en"])
async def test_the_curators_card_shows_every_field(sessionmaker, lang: str) -> None:
    _user, business, product, _photos = await _product(sessionmaker)
    t = translator(lang)
    review = Review(product_id=product.id, round=1, scores={}, snapshot={})
    text = card_text(t, (product, business), review, NOW)
    for spec in FIELDS:
        if isinstance(spec.curator, str):  # shown otherwise (the heading, an album): says how
            assert spec.curator, spec.field
            continue
        line = spec.curator(t, product)
        assert line, spec.field
        assert line in text.splitlines(), (spec.field, text)
    assert product.description_en in text  # the missing line
    assert product.name in text and f"{product.capacity}" in text


async def test_the_products_export_has_every_exported_field(sessionmaker) -> None:
    _user, _business, product, _photos = await _product(sessionmaker)
    keys = columns("products")
    async with sessionmaker() as session:
        [row] = [
            r for batch in [b async for b in raw_rows(session, what="products")] for r in batch
        ]
    exported = dict(zip(keys, row, strict=True))
    headers = presenter(translator("id"))
    for field, stored in STORED.items():
        if isinstance(stored.export, str):  # left out of the spreadsheet: says why
            assert stored.export, field
            continue
        key = stored.export[0]
        assert key in keys, field
        assert stored.column is not None
        assert exported[key] == getattr(product, stored.column), field
        assert headers.header(key) != key, field  # a worded header, in the admin's language


async def test_the_data_export_holds_every_field(sessionmaker) -> None:
    user, _business, product, photos = await _product(sessionmaker)
    async with sessionmaker() as session:
        owner = await session.get(User, user.id)
        assert owner is not None
        data = await export_user_data(session, user=owner)
    [exported] = data["products"]
    for field, stored in STORED.items():
        assert stored.data_key in exported, field
        if stored.column is None:  # the photos, one entry each
            assert len(exported[stored.data_key]) == len(photos), field
        else:
            assert exported[stored.data_key] == getattr(product, stored.column), field
