"""/bantuan lists the commands the reader may use: producers', plus curators' to curators
and admins' to admins, in the reader's language."""

from __future__ import annotations

import pytest

from tests.handlers.test_review import ADMIN, app, make_curator
from tests.support import Chat, RecordingChannel

__all__ = ["app"]

CURATOR = {"id": "Untuk kurator", "en": "For curators"}
ADMINS = {"id": "Untuk admin", "en": "For admins"}


async def help_for(chat: Chat, lang: str) -> str:
    chat.language = lang
    await chat.send("/language")
    await chat.press("English" if lang == "en" else "Bahasa Indonesia")
    await chat.send("/bantuan")
    return chat.text


@pytest.mark.parametrize("lang", ["id", "en"])
async def test_a_producer_sees_only_producer_commands(chat: Chat, lang: str) -> None:
    text = await help_for(chat, lang)
    assert "/produk_baru" in text and "/pameran" in text
    assert CURATOR[lang] not in text and ADMINS[lang] not in text and "/antrian" not in text


@pytest.mark.parametrize("lang", ["id", "en"])
async def test_a_curator_sees_the_curator_commands(
    app, channel: RecordingChannel, sessionmaker, clock, lang: str
) -> None:
    await make_curator(sessionmaker, clock, "c1")
    sari = Chat(app, channel, user_id="c1", name="Sari")
    text = await help_for(sari, lang)
    assert CURATOR[lang] in text and "/antrian" in text and "/ambil" in text
    assert ADMINS[lang] not in text and "/ekspor" not in text


@pytest.mark.parametrize("lang", ["id", "en"])
async def test_an_admin_sees_the_admin_commands(app, channel: RecordingChannel, lang: str) -> None:
    admin = Chat(app, channel, user_id=ADMIN, name="Admin")
    text = await help_for(admin, lang)
    assert ADMINS[lang] in text and "/pameran_baru" in text and "/kurator_tambah" in text
    assert "/ekspor" in text and "/statistik" in text
