"""gettext catalogs compiled from the shipped .po files when the bot starts.

The .po files under bot/locales are the source of truth; compiling them in memory with Babel
means nobody has to remember a compile step after editing a translation. `kurasi i18n update`
(`update_catalogs`) extracts the marked strings from the code and merges them into those files.
"""

from __future__ import annotations

import gettext
from functools import cache
from importlib import metadata, resources
from io import BytesIO
from pathlib import Path
from typing import Any

from babel import Locale
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from handlers.kit.context import DEFAULT_LANGUAGE, LANGUAGES, Translate

DOMAIN = "kurasi"
PROJECT = "Kurasi"
# Packages scanned for marked strings; `t` is `ctx.t`/`translator(...)`, `N_` marks label tables.
SOURCE_PACKAGES = ("handlers", "bot")
KEYWORDS: dict[str, None] = {"t": None, "N_": None, "_": None}
# gettext's Plural-Forms per language (Indonesian nouns do not inflect for number).
PLURAL_FORMS = {"id": "nplurals=1; plural=0;", "en": "nplurals=2; plural=(n != 1);"}
PO_WIDTH = 100  # the code's line length: long messages wrap, short ones stay on one line

_HEADER_COMMENT = """\
# {language} translations for {project}.
# Created and merged by `kurasi i18n update`: edit msgstr only, never msgid.
# An empty msgstr falls back to the English msgid."""


@cache
def catalog(language: str) -> gettext.NullTranslations:
    po = resources.files("bot") / "locales" / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not po.is_file():
        return gettext.NullTranslations()
    with po.open("rb") as fh:
        parsed = read_po(fh, locale=language, domain=DOMAIN)
    buf = BytesIO()
    write_mo(buf, parsed, use_fuzzy=False)
    buf.seek(0)
    return gettext.GNUTranslations(buf)


@cache
def translator(language: str) -> Translate:
    if language not in LANGUAGES:
        language = DEFAULT_LANGUAGE
    gettext_ = catalog(language).gettext

    def translate(message: str, /, **values: Any) -> str:
        text = gettext_(message)
        return text.format(**values) if values else text

    return translate


# --- extraction and merging (`kurasi i18n update`) ------------------------------------------


def _package_dir(package: str) -> Path:
    root = resources.files(package)
    return Path(str(root))


def source_locales_dir() -> Path:
    """bot/locales of the installed `bot` package (the source tree in an editable install)."""
    return _package_dir("bot") / "locales"


def po_path(locales_dir: Path, language: str) -> Path:
    return locales_dir / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def extract_messages() -> Catalog:
    """Every string marked with `t(...)`, `N_(...)` or `_(...)` in handlers/ and bot/."""
    template = Catalog(project=PROJECT, domain=DOMAIN, charset="utf-8", fuzzy=False)
    for package in SOURCE_PACKAGES:
        found = extract_from_dir(
            _package_dir(package),
            method_map=[("**.py", "python")],
            keywords=KEYWORDS,
            comment_tags=("Translators:",),
            strip_comment_tags=True,
        )
        for filename, lineno, message, comments, context in found:
            location = f"{package}/{Path(filename).as_posix()}"
            template.add(
                message, None, [(location, lineno)], auto_comments=comments, context=context
            )
    return template


def _new_catalog(language: str) -> Catalog:
    name = Locale.parse(language).english_name
    cat = Catalog(
        locale=language,
        domain=DOMAIN,
        project=PROJECT,
        version=_version(),
        charset="utf-8",
        fuzzy=False,
        header_comment=_HEADER_COMMENT.format(language=name, project=PROJECT),
        language_team=name,
    )
    if language in PLURAL_FORMS:
        # Babel has no entry for Indonesian and would fall back to the English rule.
        cat.mime_headers = [("Plural-Forms", PLURAL_FORMS[language])]
    return cat


def _version() -> str:
    try:
        return metadata.version("kurasi")
    except metadata.PackageNotFoundError:
        return "VERSION"


def _keys(cat: Catalog | dict[Any, Any]) -> set[Any]:
    messages = cat.values() if isinstance(cat, dict) else cat
    return {(m.id, m.context) for m in messages if m.id}


def update_catalogs(locales_dir: Path | None = None) -> dict[str, tuple[int, int]]:
    """Merge the extracted strings into each language's .po; report (added, removed) per language.

    New msgids arrive with an empty msgstr, msgids no longer in the code become obsolete
    (`#~` entries, for the translator to reuse and then delete), existing translations are
    kept. A msgid that comes back while still obsolete gets its old translation back. Files
    are created when missing and rewritten only when their content changes.
    """
    locales_dir = locales_dir if locales_dir is not None else source_locales_dir()
    template = extract_messages()
    wanted = _keys(template)
    counts: dict[str, tuple[int, int]] = {}
    for language in LANGUAGES:
        path = po_path(locales_dir, language)
        if path.is_file():
            with path.open("rb") as fh:
                cat = read_po(fh, locale=language, domain=DOMAIN)
        else:
            cat = _new_catalog(language)
        # Catalog.update never looks at obsolete entries: revive the ones the code uses again.
        for key, message in list(cat.obsolete.items()):
            if (message.id, message.context) in wanted:
                del cat.obsolete[key]
                cat[message.id] = message
        present = _keys(cat)
        cat.update(template, no_fuzzy_matching=True, update_creation_date=False)
        counts[language] = (len(wanted - present), len(present - wanted))

        buf = BytesIO()
        write_po(buf, cat, width=PO_WIDTH, include_lineno=False)
        content = buf.getvalue()
        if not path.is_file() or path.read_bytes() != content:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
    catalog.cache_clear()
    translator.cache_clear()
    return counts
