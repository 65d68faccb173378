"""/bantuan lists the commands the reader may use: producers', plus curators' to curators
and admins' to admins, in the reader's language."""

from __future__ import annotations

import re

import pytest

from bot.i18n import translator
from handlers import routes
from handlers.kit.context import FlowSettings
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


# --- every command a role may use is in that role's help, and none it may not --------------


def _named(text: str) -> set[str]:
    """The /commands a help text names."""
    return set(re.findall(r"(?<![\w/])/([a-z_]+)", text))


def _usable(role: str) -> set[str]:
    """Each command the role may use, as the names it answers to (one of them is enough)."""
    private = set(routes.COMMANDS) - routes.ADMIN_ONLY
    group = set(routes.GROUP_COMMANDS) - routes.ADMIN_ONLY
    names = {"producer": private, "curator": private | group, "admin": set(routes.COMMANDS)}
    return names[role] | (set(routes.GROUP_COMMANDS) if role == "admin" else set())


def _missing(text: str, role: str, settings: FlowSettings | None = None) -> list[str]:
    """The commands the role may use that `text` leaves out (under `settings`, a command
    whose service is not configured is not expected)."""
    named = _named(text)
    return sorted(
        s.command
        for s in routes.SURFACE
        if set(s.names) & _usable(role)
        and not set(s.names) & named
        and (s.shown is None or settings is None or s.shown(settings))
    )


@pytest.mark.parametrize("lang", ["id", "en"])
async def test_each_role_sees_every_command_it_may_use_and_no_other(
    app, channel: RecordingChannel, sessionmaker, clock, chat: Chat, lang: str
) -> None:
    await make_curator(sessionmaker, clock, "c1")
    readers = {
        "producer": chat,
        "curator": Chat(app, channel, user_id="c1", name="Sari"),
        "admin": Chat(app, channel, user_id=ADMIN, name="Admin"),
    }
    for role, reader in readers.items():
        text = await help_for(reader, lang)
        missing = _missing(text, role, app.flow_settings)
        assert missing == [], f"{role}'s help leaves out commands"
        forbidden = _named(text) - _usable(role)
        assert forbidden == set(), f"{role}'s help names commands they may not use"
    admin_only = {s.command for s in routes.SURFACE if set(s.names) <= routes.ADMIN_ONLY}
    assert {"siaran", "siaran_daftar", "admin_tambah", "admin_hapus", "admin"} <= admin_only


def test_the_check_fails_when_a_help_line_is_removed() -> None:
    """Taking one command's line out of the admins' help is caught."""
    t = translator("en")
    full = "\n\n".join((routes.help_text(t), routes.curator_help(t), routes.help_lines(t, "admin")))
    assert _missing(full, "admin") == []
    assert _missing(full.replace("/siaran_daftar –", "–"), "admin") == ["siaran_daftar"]


def test_every_command_declares_its_surface_and_the_menu_and_words_follow() -> None:
    declared = {n for s in routes.SURFACE for n in s.names}
    assert declared == set(routes.COMMANDS) | set(routes.GROUP_COMMANDS)
    assert {c for c, _ in routes.MENU_COMMANDS} <= set(routes.COMMANDS) - routes.ADMIN_ONLY
    assert routes.WORDS["produk baru"] == "produk_baru" and routes.WORDS["my data"] == "datasaya"
