"""Where a channel has no command menu (WhatsApp), a reply names the word to type instead of
"/start": those words come from each feature's surface (`Surface.word`), not from a table
in the kit, and the word a reply names is one the bot understands."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from bot.i18n import translator
from handlers import routes
from handlers.kit.render import COMMAND_WORDS, normalize, typed_commands

LOCALES = Path(routes.__file__).resolve().parents[1] / "bot" / "locales"


@pytest.mark.parametrize("lang", ["id", "en"])
def test_the_word_a_reply_names_is_understood(lang: str) -> None:
    t = translator(lang)
    for surface in routes.SURFACE:
        if surface.word is None:
            continue
        said = normalize(t(surface.word))
        assert routes.WORDS.get(said) == surface.command, (surface.command, said)


def test_every_command_with_plain_words_names_one_in_replies() -> None:
    """A command people may type as a word is written as that word on WhatsApp; its
    aliases too ("/help" reads "bantuan")."""
    for surface in routes.SURFACE:
        if surface.words:
            assert surface.word is not None, f"/{surface.command} declares words but no word"
            for name in surface.names:
                assert COMMAND_WORDS[name] == surface.word


def test_the_kit_is_taught_by_the_route_table() -> None:
    assert routes.COMMAND_WORDS == COMMAND_WORDS
    assert COMMAND_WORDS  # filled by importing the route table, declared nowhere else


def test_every_worded_command_in_the_catalog_is_rewritten() -> None:
    """Each "/command" a message names, where the command has a plain word, reads as that
    word in both languages on a channel without a command menu."""
    with (LOCALES / "id" / "LC_MESSAGES" / "kurasi.po").open("rb") as f:
        catalog = read_po(f)
    named = {
        m.group(1)
        for message in catalog
        if isinstance(message.id, str)
        for m in re.finditer(r"(?<![\w/.:])/([a-z_]+)(?![\w/])", message.id)
    }
    worded = named & set(COMMAND_WORDS)
    assert {"start", "batal", "produk_baru"} <= worded
    for lang in ("id", "en"):
        t = translator(lang)
        for command in worded:
            text = typed_commands(t, f"Kirim /{command}")
            assert f"/{command}" not in text and normalize(text.split(" ", 1)[1]) in routes.WORDS


def test_whatsapp_reads_words_not_commands() -> None:
    t = translator("id")
    assert typed_commands(t, "Kirim /start untuk mulai, /batal untuk berhenti.") == (
        "Ketik daftar untuk mulai, “batal” untuk berhenti."
    )
