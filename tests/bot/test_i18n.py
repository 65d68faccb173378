"""The shipped catalogs match the code: every marked string is translated into Indonesian.

When these fail after someone added or changed a string: run `kurasi i18n update`, translate
the new (empty) msgstr entries in bot/locales/id/LC_MESSAGES/kurasi.po, and delete the `#~`
obsolete entries once any translation worth keeping has been reused.
"""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po, write_po

from bot.i18n import (
    DOMAIN,
    extract_messages,
    po_path,
    source_locales_dir,
    translator,
    update_catalogs,
)
from handlers.kit.context import DEFAULT_LANGUAGE, LANGUAGES

FIX = (
    "run `kurasi i18n update`, translate the empty (or fuzzy) msgstr entries in "
    "bot/locales/id/LC_MESSAGES/kurasi.po, and delete the obsolete #~ entries"
)


def _read(path: Path, language: str) -> Catalog:
    with path.open("rb") as fh:
        return read_po(fh, locale=language, domain=DOMAIN)


@pytest.fixture(scope="module")
def extracted() -> Catalog:
    return extract_messages()


@pytest.fixture(scope="module")
def shipped() -> dict[str, Catalog]:
    return {lang: _read(po_path(source_locales_dir(), lang), lang) for lang in LANGUAGES}


def _msgids(cat: Catalog) -> set[str]:
    return {m.id for m in cat if m.id and isinstance(m.id, str)}


def _fields(text: str) -> set[str]:
    """The replacement fields as written (`{name}`, `{n:,}`); ValueError on unbalanced braces."""
    fields = set()
    for _literal, name, spec, conversion in string.Formatter().parse(text):
        if name is not None:
            fields.add(
                "{"
                + name
                + (f"!{conversion}" if conversion else "")
                + (f":{spec}" if spec else "")
                + "}"
            )
    return fields


def _dummy_values(text: str) -> dict[str, object]:
    """A value for each named field; numbers where a format spec asks for one."""
    values: dict[str, object] = {}
    for _literal, name, spec, _conversion in string.Formatter().parse(text):
        if name:
            values[re.split(r"[.\[]", name)[0]] = 1234 if spec else "Kopi Ijen"
    return values


def _translated(message: Message) -> bool:
    return bool(message.string) and not message.fuzzy


def test_some_strings_are_extracted(extracted: Catalog) -> None:
    ids = _msgids(extracted)
    assert "Language set to English." in ids  # from handlers/
    assert any(loc.startswith("bot/") for m in extracted for loc, _ in m.locations)


def test_every_string_has_an_indonesian_translation(
    extracted: Catalog, shipped: dict[str, Catalog]
) -> None:
    id_catalog = shipped["id"]
    missing = [
        msgid
        for msgid in sorted(_msgids(extracted))
        if (m := id_catalog.get(msgid)) is None or not _translated(m)
    ]
    assert not missing, (
        f"{len(missing)} msgid(s) without a usable Indonesian translation ({FIX}):\n"
        + ("\n".join(f"  {msgid!r}" for msgid in missing))
    )


def test_catalogs_are_not_stale(extracted: Catalog, shipped: dict[str, Catalog]) -> None:
    wanted = _msgids(extracted)
    for language, cat in shipped.items():
        have = _msgids(cat)
        assert have == wanted, (
            f"{language} catalog out of date ({FIX}): "
            f"not in catalog {sorted(wanted - have)}, no longer in code {sorted(have - wanted)}"
        )
    obsolete = [m.id for m in shipped["id"].obsolete.values()]
    assert not obsolete, f"obsolete entries left in the id catalog ({FIX}): {obsolete}"


def test_translations_keep_the_placeholders(shipped: dict[str, Catalog]) -> None:
    wrong = []
    for m in shipped["id"]:
        if not (m.id and m.string):
            continue
        try:
            ok = _fields(m.string) == _fields(m.id)
        except ValueError as exc:  # e.g. a lone "{" in the translation
            ok, problem = False, f" ({exc})"
        else:
            problem = ""
        if not ok:
            wrong.append(f"  {m.id!r}\n    -> {m.string!r}{problem}")
    assert not wrong, "translations whose {placeholders} differ from the English:\n" + "\n".join(
        wrong
    )


def test_every_translation_renders(shipped: dict[str, Catalog]) -> None:
    t = translator("id")
    failed = []
    for m in shipped["id"]:
        if not (m.id and m.string):
            continue
        values = _dummy_values(m.id)
        try:
            rendered = t(m.id, **values) if values else t(m.id)
        except (KeyError, IndexError, ValueError, AttributeError, TypeError) as exc:
            failed.append(f"  {m.id!r}: {exc!r}")
            continue
        if values and (leftover := [f for f in _fields(m.id) if f in rendered]):
            failed.append(f"  {m.id!r}: {leftover} not filled in")
    assert not failed, "translations that do not render:\n" + "\n".join(failed)


def test_translator_picks_the_language() -> None:
    assert translator("id")("Help") == "Bantuan"
    assert translator("id")("Language set to English.") == "Bahasa diubah ke Bahasa Indonesia."
    assert translator("en")("Help") == "Help"
    assert translator("en")("Phone: {phone} ✓", phone="+62812") == "Phone: +62812 ✓"
    assert translator("id")("Phone: {phone} ✓", phone="+62812").endswith("+62812 ✓")
    assert DEFAULT_LANGUAGE == "id"
    assert translator("xx")("Help") == "Bantuan"


def _write(path: Path, cat: Catalog) -> None:
    with path.open("wb") as fh:
        write_po(fh, cat)


def test_update_creates_and_merges_catalogs(tmp_path: Path, extracted: Catalog) -> None:
    total = len(_msgids(extracted))
    assert update_catalogs(tmp_path) == {lang: (total, 0) for lang in LANGUAGES}
    path = po_path(tmp_path, "id")
    created = _read(path, "id")
    assert str(created.locale) == "id"
    assert created.plural_forms == "nplurals=1; plural=0;"
    assert _read(po_path(tmp_path, "en"), "en").plural_forms == "nplurals=2; plural=(n != 1);"
    assert all(not m.string for m in created if m.id)

    # A kept translation, a string the code no longer has, one that was obsolete and is back.
    created["Help"].string = "Bantuan"
    created.add("A string that was removed", "Sudah dihapus")
    created.obsolete["Other"] = created["Other"]
    created["Other"].string = "Lainnya"
    del created["Other"]
    _write(path, created)
    assert update_catalogs(tmp_path)["id"] == (0, 1)
    merged = _read(path, "id")
    assert (merged["Help"].string, merged["Other"].string) == ("Bantuan", "Lainnya")
    assert [m.id for m in merged.obsolete.values()] == ["A string that was removed"]
    assert merged["Sector"].string == ""

    unchanged = path.read_bytes()
    assert update_catalogs(tmp_path) == {lang: (0, 0) for lang in LANGUAGES}
    assert path.read_bytes() == unchanged


# The names a translation goes through: `t(...)`, `ctx.t(...)`, `N_(...)`, `_(...)`, and
# `translator(language)(...)` / `group_t(ctx)(...)` called at once.
_MARKS = {"t", "N_", "_"}
_TRANSLATOR_FACTORIES = {"translator", "group_t", "_t"}


def _is_translation(func: ast.expr) -> bool:
    if isinstance(func, ast.Name | ast.Attribute):
        return (func.id if isinstance(func, ast.Name) else func.attr) in _MARKS
    if isinstance(func, ast.Call):
        inner = func.func
        name = inner.id if isinstance(inner, ast.Name) else getattr(inner, "attr", "")
        return name in _TRANSLATOR_FACTORIES
    return False


def _unseen(message: ast.expr, seen: set[str]) -> str | None:
    """Why the extractor misses this message argument; None when it sees it (or when it is
    a value marked elsewhere: a name, an attribute, a table lookup, a call)."""
    if isinstance(message, ast.Constant):
        if not isinstance(message.value, str):
            return f"not a string: {message.value!r}"
        return None if message.value in seen else f"{message.value!r} is not extracted"
    if isinstance(message, ast.IfExp):
        return _unseen(message.body, seen) or _unseen(message.orelse, seen)
    if isinstance(message, ast.BoolOp):
        return next((why for v in message.values if (why := _unseen(v, seen))), None)
    if isinstance(message, ast.Name | ast.Attribute | ast.Subscript | ast.Call):
        return None
    if isinstance(message, ast.JoinedStr):
        return "an f-string: mark the format string and pass the values, t('{n} left', n=n)"
    return f"built at run time ({type(message).__name__}): mark one literal string"


def test_every_marked_string_is_seen_by_the_extractor(extracted: Catalog) -> None:
    """Babel's extractor reads tokens: a call inside an f-string's braces, or a message
    built with + or %, is never extracted, so it is never translated (the Indonesian UI
    showed "Curators will probably ask about this:"). The syntax tree sees them all."""
    seen = _msgids(extracted)
    root = Path(__file__).resolve().parents[2]
    problems = []
    for package in ("handlers", "bot"):
        for path in sorted((root / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for node in ast.walk(tree):
                if not (isinstance(node, ast.Call) and _is_translation(node.func)):
                    continue
                if not node.args:
                    continue
                why = _unseen(node.args[0], seen)
                if why is not None:
                    where = f"{path.relative_to(root)}:{node.lineno}"
                    problems.append(f"  {where}: {why}")
    assert not problems, (
        "translated strings `kurasi i18n update` cannot see (take the call out of the "
        "f-string, or mark a plain literal):\n" + "\n".join(problems)
    )
