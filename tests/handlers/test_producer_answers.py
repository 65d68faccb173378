"""What new producers typed and stumbled on (issue 13): prices with their unit, number
words, the real rule for quantities, the sector list, typed labels on every button step."""

from __future__ import annotations

import pytest

from tests.handlers.test_product import producer, the_product
from tests.support import Chat

__all__ = ["producer"]


async def up_to_the_price(chat: Chat) -> None:
    await chat.send("/produk_baru")
    await chat.send("Keripik Tempe Original")
    await chat.press("⭐")
    await chat.send("Keripik tempe tipis dan renyah dari kedelai lokal Malang, digoreng kering.")
    await chat.send("-")  # no English description


async def english(chat: Chat) -> None:
    chat.language = "en"
    await chat.send("/language")
    await chat.press("English")


async def test_the_business_sector_is_offered_once_and_first(producer: Chat) -> None:
    await producer.send("/produk_baru")
    await producer.send("Keripik Tempe Original")
    labels = producer.labels()
    assert labels[0] == "⭐ Makanan & minuman" or labels[0].startswith("⭐ Makanan")
    assert sum("Makanan" in label for label in labels) == 1
    await english(producer)
    assert sum("Food" in label for label in producer.labels()) == 1
    assert producer.labels()[0].startswith("⭐ Food")


@pytest.mark.parametrize("lang", ["id", "en"])
async def test_price_and_unit_in_one_answer(producer: Chat, sessionmaker, lang: str) -> None:
    if lang == "en":
        await english(producer)
    await up_to_the_price(producer)
    await producer.send("Rp 15.000/bungkus")
    assert "Rp 15.000 / bungkus" in producer.text
    # The unit question is skipped: the next one is the minimum order, in bungkus.
    assert "bungkus" in producer.text and ("minimum" in producer.text.lower())
    product = await the_product(sessionmaker)
    assert (product.price, product.unit) == (15000, "bungkus")


@pytest.mark.parametrize(
    ("typed", "amount"),
    [("lima belas ribu", 15000), ("dua juta lima ratus ribu", 2_500_000), ("25rb", 25000)],
)
async def test_price_in_words(producer: Chat, sessionmaker, typed: str, amount: int) -> None:
    await up_to_the_price(producer)
    await producer.send(typed)
    product = await the_product(sessionmaker)
    assert product.price == amount and product.unit is None
    assert "per apa" in producer.text.lower() or "satuan" in producer.text.lower()


@pytest.mark.parametrize(("lang", "rule"), [("id", "minimal 1"), ("en", "at least 1")])
async def test_zero_minimum_order_names_the_rule(
    producer: Chat, sessionmaker, lang: str, rule: str
) -> None:
    if lang == "en":
        await english(producer)
    await up_to_the_price(producer)
    await producer.send("15 ribu per pack")
    await producer.send("0")
    assert rule in producer.text.lower()
    await producer.send("seratus")
    await producer.send("2 lusin")
    product = await the_product(sessionmaker)
    assert (product.unit, product.min_order, product.capacity) == ("pack", 100, 24)


@pytest.mark.parametrize("lang", ["id", "en"])
async def test_a_price_that_is_no_number_says_so(producer: Chat, lang: str) -> None:
    if lang == "en":
        await english(producer)
    await up_to_the_price(producer)
    await producer.send("murah saja")
    assert ("harga" if lang == "id" else "price") in producer.text.lower()
    assert "25rb" in producer.text
    await producer.send("0")
    assert ("minimal 1" if lang == "id" else "at least 1") in producer.text.lower()


@pytest.mark.parametrize("lang", ["id", "en"])
async def test_the_english_description_is_asked_shown_and_catalogued(
    producer: Chat, sessionmaker, lang: str
) -> None:
    from sqlalchemy import update

    from db.catalogue import stream_entries
    from db.models import Product

    if lang == "en":
        await english(producer)
    await producer.send("/produk_baru")
    await producer.send("Keripik Tempe Original")
    await producer.press("⭐")
    await producer.send("Keripik tempe tipis dan renyah dari kedelai lokal Malang.")
    assert ("bahasa Inggris" if lang == "id" else "in English") in producer.text
    assert ("Lewati" if lang == "id" else "Skip") in producer.labels()
    await producer.send("Thin, crispy tempeh chips from local Malang soybeans.")
    # With an English description comes the optional English name, for the catalogue.
    assert (
        "nama produk dalam bahasa Inggris" if lang == "id" else "name in English"
    ) in producer.text
    await producer.send("Crispy Tempeh Chips")
    product = await the_product(sessionmaker)
    assert product.description_en == "Thin, crispy tempeh chips from local Malang soybeans."
    assert product.name_en == "Crispy Tempeh Chips"
    await producer.send("/produk")
    await producer.press("1.")
    label = "Deskripsi bahasa Inggris" if lang == "id" else "English description"
    assert f"{label}: Thin, crispy tempeh chips" in producer.text
    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(Product).where(Product.id == product.id).values(status="approved")
        )
    async with sessionmaker() as session:
        (entry,) = [e async for batch in stream_entries(session) for e in batch]
    assert entry.description_en == "Thin, crispy tempeh chips from local Malang soybeans."
    assert entry.name_en == "Crispy Tempeh Chips"


async def test_a_skipped_english_description_is_not_asked_again(
    producer: Chat, sessionmaker
) -> None:
    await up_to_the_price(producer)
    assert "harga" in producer.text.lower()
    product = await the_product(sessionmaker)
    assert product.description_en == ""
