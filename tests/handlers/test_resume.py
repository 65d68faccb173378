"""/batal names the command that resumes the flow that was left, and that command does."""

from __future__ import annotations

import pytest

from tests.handlers.test_producer_answers import english
from tests.handlers.test_registration import register, start_registration
from tests.support import Chat

HINTS = {
    "id": ("kirim /start untuk melanjutkan", "/profil", "/produk_baru", "/produk"),
    "en": ("send /start to carry on", "/profil", "/produk_baru", "/produk"),
}


@pytest.mark.parametrize("lang", ["id", "en"])
async def test_an_unfinished_registration_resumes_with_start(chat: Chat, lang: str) -> None:
    await chat.send("/start")
    await chat.press("Bahasa Indonesia" if lang == "id" else "English")
    await chat.press("setuju" if lang == "id" else "agree")
    await chat.send("Keripik Tempe Bu Tini")
    await chat.send("/batal")
    assert HINTS[lang][0] in chat.text
    await chat.send("/start")
    # The registration goes on at the owner's name, not the menu.
    assert ("nama lengkap pemilik" if lang == "id" else "owner's full name") in chat.text


@pytest.mark.parametrize("lang", ["id", "en"])
async def test_a_profile_edit_resumes_with_profil(chat: Chat, lang: str) -> None:
    await register(chat)
    if lang == "en":
        await english(chat)
    await chat.send("/profil")
    await chat.press("Owner" if lang == "en" else "Pemilik")
    await chat.send("/batal")
    assert HINTS[lang][1] in chat.text and "/start" not in chat.text
    await chat.send("/profil")
    assert "Tini Rahayu" in chat.text  # the profile, with its edit buttons
    assert chat.labels()


@pytest.mark.parametrize("lang", ["id", "en"])
async def test_a_product_resumes_with_produk_baru(chat: Chat, lang: str) -> None:
    await register(chat)
    if lang == "en":
        await english(chat)
    await chat.send("/produk_baru")
    await chat.send("Keripik Tempe Original")
    await chat.send("/batal")
    assert HINTS[lang][2] in chat.text
    await chat.send("/produk_baru")
    assert "Keripik Tempe Original" in chat.text
    await chat.press("Lanjutkan" if lang == "id" else "Continue")
    assert ("sektor" if lang == "id" else "sector") in chat.text.lower()


async def test_start_at_the_start_still_begins(chat: Chat) -> None:
    await start_registration(chat)
    await chat.send("/batal")
    assert "/start" in chat.text
