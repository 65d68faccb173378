"""Choices offered as buttons can be typed instead, in either language, with small typos."""

from __future__ import annotations

from datetime import date

import pytest

from tests.handlers import test_fairs
from tests.handlers.test_registration import business_of, start_registration
from tests.support import Chat

app, admin = test_fairs.app, test_fairs.admin  # the fairs tests' runtime with an admin


async def up_to_the_sector(chat: Chat) -> None:
    await start_registration(chat)
    await chat.send("Keripik Tempe Bu Tini")
    await chat.send("Tini Rahayu")
    await chat.share_contact("6281234567890")
    await chat.send("sby")
    assert "sektor" in chat.text.lower()


@pytest.mark.parametrize(
    ("typed", "sector"),
    [("makanan", "food"), ("Makanan", "food"), ("mknan", "food"), ("fesyen", "fashion"),
     ("FASHION", "fashion"), ("Kerajinan", "handicraft"), ("jamu", "spa"), ("mebl", "furniture")],
)  # fmt: skip
async def test_a_typed_sector_in_registration(chat: Chat, sessionmaker, typed, sector) -> None:
    await up_to_the_sector(chat)
    await chat.send(typed)
    assert "NIB" in chat.text  # the next question
    business = await business_of(sessionmaker, chat.user_id)
    assert business is not None and business.sector == sector


async def test_a_sector_that_could_be_two_is_asked_again(chat: Chat, sessionmaker) -> None:
    await up_to_the_sector(chat)
    await chat.send("batik")  # fashion or handicraft? both are offered
    assert len(chat.labels()) == 2 and "NIB" not in chat.text
    await chat.send("bukan sektor")
    assert "NIB" not in chat.text
    business = await business_of(sessionmaker, chat.user_id)
    assert business is not None and business.sector is None


async def test_typed_legal_documents_with_aliases(chat: Chat, sessionmaker) -> None:
    await up_to_the_sector(chat)
    await chat.send("makanan")
    await chat.send("1234567890123")
    await chat.send("p-irt, halal dan hki")
    business = await business_of(sessionmaker, chat.user_id)
    assert business is not None and business.legal_docs == ["pirt", "halal", "merek"]


async def test_an_english_admin_types_the_sectors_of_a_fair(admin: Chat, sessionmaker) -> None:
    admin.language = "en"
    await admin.send("/language")
    await admin.press("English")
    await admin.send("/pameran_baru")
    await admin.send("SIAL Interfood 2027")
    await admin.send("JIExpo Kemayoran")
    await admin.press("Indonesia")
    await admin.send("10/11/2027")
    await admin.send("13/11/2027")
    await admin.send("-")
    await admin.send("Food and bevrage, fesion")
    assert "sectors" not in admin.text.lower() or "link" in admin.text.lower()
    await admin.send("-")
    await admin.send("-")
    await admin.press("Save")
    (fair,) = await test_fairs.fairs_in_db(sessionmaker)
    assert fair.sectors == ["food", "fashion"]
    assert fair.start_date == date(2027, 11, 10)


async def test_a_sector_that_could_be_two_offers_both_as_buttons(chat: Chat, sessionmaker) -> None:
    await up_to_the_sector(chat)
    await chat.send("batik")
    assert chat.labels() == ["Fesyen", "Kerajinan"] or len(chat.labels()) == 2
    await chat.press(chat.labels()[1])
    assert "NIB" in chat.text
    business = await business_of(sessionmaker, chat.user_id)
    assert business is not None and business.sector == "handicraft"


@pytest.mark.parametrize(("lang", "agree"), [("id", "iyaa"), ("en", "agre")])
async def test_yes_typed_with_a_typo(chat: Chat, lang: str, agree: str) -> None:
    chat.language = lang
    await chat.send("/start")
    await chat.press("Bahasa Indonesia" if lang == "id" else "English")
    await chat.send(agree)
    assert ("nama usaha" if lang == "id" else "name of your business") in chat.text.lower()


@pytest.mark.parametrize(("lang", "unit"), [("id", "botl"), ("en", "PACK")])
async def test_unit_and_field_pickers_typed(chat: Chat, sessionmaker, lang: str, unit: str) -> None:
    from tests.handlers.test_producer_answers import english, up_to_the_price
    from tests.handlers.test_product import the_product
    from tests.handlers.test_registration import register

    await register(chat)
    if lang == "en":
        await english(chat)
    await up_to_the_price(chat)
    await chat.send("25000")
    await chat.send(unit)
    product = await the_product(sessionmaker)
    assert product.unit == ("botol" if lang == "id" else "pack")
    await chat.send("/batal")
    await chat.send("/produk")
    await chat.press("1.")
    await chat.send("ubah" if lang == "id" else "edit")  # the card's "Edit a field", typed
    await chat.send("hrga" if lang == "id" else "prce")  # the field picker, typed with a typo
    assert ("harga" if lang == "id" else "price") in chat.text.lower()
    await chat.send("30rb")
    assert (await the_product(sessionmaker)).price == 30000


async def test_a_typed_profile_field_on_the_summary(chat: Chat) -> None:
    from tests.handlers.test_registration import register

    await register(chat)
    await chat.send("/profil")
    await chat.send("pemilk")  # "Pemilik" with a typo
    assert "nama lengkap pemilik" in chat.text.lower()


async def test_a_consent_typo_that_could_be_either_offers_both(chat: Chat) -> None:
    await chat.send("/start")
    await chat.press("Bahasa Indonesia")
    await chat.send("stuju")  # "setuju" or "tidak setuju": never a guess on consent
    assert len(chat.labels()) == 2
    await chat.press("setuju")
    assert "nama usaha" in chat.text.lower()
