"""What new users typed into the forms and were refused for: now read, or refused with the
real reason, in the reader's language; examples and documents that fit the sector."""

from __future__ import annotations

import pytest

from tests.handlers.test_product import the_product
from tests.handlers.test_registration import business_of, start_registration
from tests.support import Chat, RecordingChannel, make_photo

GOOD = make_photo()


async def register(chat: Chat, *, lang: str = "id", sector: str = "makanan") -> None:
    await start_registration(chat)
    if lang == "en":
        await chat.send("/language")
        await chat.send("english")
    await chat.send("Batik Sekar" if sector == "fesyen" else "Keripik Tempe Bu Tini")
    await chat.send("Tini Rahayu")
    await chat.send("0812 3456 7890")
    await chat.send("malang")
    assert ("Yang mana" if lang == "id" else "Which one") in chat.text
    await chat.send("kab")  # a word of one of the names offered
    await chat.send(sector)
    await chat.send("1234567890123")


async def finish(chat: Chat, lang: str = "id") -> None:
    await chat.send("kira2 300 bungkus sebulan" if lang == "id" else "about 300 packs a month")
    await chat.send("-")
    await chat.send("simpan" if lang == "id" else "save")


@pytest.mark.parametrize("where", ["test", "whatsapp"])
@pytest.mark.parametrize("lang", ["id", "en"])
async def test_registration_answers_as_typed(app, sessionmaker, where: str, lang: str) -> None:
    chat = Chat(app, RecordingChannel(app, name=where), user_id="62812", language=lang)
    await register(chat, lang=lang)
    await chat.send("pirt sama halal" if lang == "id" else "PIRT + halal")
    await finish(chat, lang)
    business = await business_of(sessionmaker, chat.user_id)
    assert business.region_code == "35.07"  # Kabupaten Malang
    assert business.legal_docs == ["pirt", "halal"]
    assert (business.capacity_amount, business.capacity_unit) == (
        300,
        "bungkus" if lang == "id" else "packs",
    )
    assert business.registered_at is not None


@pytest.mark.parametrize("lang", ["id", "en"])
async def test_a_batik_business_is_not_offered_food_permits(chat: Chat, lang: str) -> None:
    await register(chat, lang=lang, sector="fesyen")
    question = chat.text
    assert "PIRT" not in question and "BPOM" not in question and "Halal" not in question
    assert "SNI" in question and "HKI" in question
    assert not any(label.startswith(("PIRT", "BPOM", "Halal")) for label in chat.labels())
    await chat.send("sni")  # typed: the checklist's answer, whole
    await finish(chat, lang)
    await chat.send("/produk_baru")
    await chat.send("Batik Tulis Sekar Jagad")
    await chat.press("⭐")
    await chat.send("Batik tulis pewarna alam, dibuat dua bulan di Malang.")
    await chat.send("-")
    await chat.send("350rb")
    assert ("misalnya lembar" if lang == "id" else "e.g. piece") in chat.text
    await chat.send("pcs")
    await chat.send("1")
    await chat.send("20")
    materials = chat.text
    assert "tempe" not in materials
    assert ("kain katun" if lang == "id" else "cotton cloth") in materials
    await chat.send("katun, malam")
    # No shelf life for cloth; the documents: only those cloth can have.
    labels = chat.labels()
    assert not any(label.startswith(("PIRT", "BPOM", "Halal")) for label in labels), labels
    assert any("SNI" in label for label in labels)


async def to_the_shelf_life(chat: Chat, lang: str) -> None:
    await register(chat, lang=lang)
    await chat.send("pirt")
    await finish(chat, lang)
    await chat.send("/produk_baru")
    await chat.send("🍌🍌🔥😂")
    assert ("huruf" if lang == "id" else "letters") in chat.text
    await chat.send("Keripik Pisang")
    await chat.press("⭐")
    await chat.send("Keripik pisang kepok tipis, digoreng tanpa pengawet.")
    await chat.send("-")
    await chat.send("15000")
    await chat.send("toples" if lang == "id" else "jar")
    assert ("dalam toples" if lang == "id" else "in jars") in chat.text  # the reader's words
    await chat.send("10")
    assert ("Berapa toples" if lang == "id" else "How many jars") in chat.text, chat.text
    await chat.send("500")
    await chat.send("pisang, minyak")
    shelf = chat.text
    assert ("6 bulan" if lang == "id" else "6 months") in shelf
    assert lang == "id" or "bulan" not in shelf


@pytest.mark.parametrize("lang", ["id", "en"])
async def test_shelf_life_out_of_range_and_the_photo_step(chat: Chat, sessionmaker, lang) -> None:
    await to_the_shelf_life(chat, lang)
    await chat.send("1000 tahun" if lang == "id" else "1000 years")
    said = chat.text
    assert ("3.650 hari" if lang == "id" else "3.650 days") in said
    assert lang == "en" or "Please" not in said
    await chat.send("2 tahun" if lang == "id" else "2 years")
    assert (await the_product(sessionmaker)).shelf_life_days == 730
    await chat.press("Selesai" if lang == "id" else "Done")  # documents
    await chat.press("Tidak ada di tangan" if lang == "id" else "Not at hand")  # P-IRT number
    await chat.send("udah" if lang == "id" else "done")
    assert ("minimal satu foto" if lang == "id" else "at least one photo") in chat.text
    await chat.send("gimana ya" if lang == "id" else "how?")
    assert len(chat.text) < 200  # a short reminder, not the whole photo guide again
    await chat.send_photo(GOOD)
    await chat.send("simpan aja" if lang == "id" else "that's all")
    assert ("Ajukan" if lang == "id" else "Submit") in " ".join(chat.labels())  # the card
