"""gettext catalogs compiled from the shipped .po files when the bot starts.

The .po files under bot/locales are the source of truth; compiling them in memory with Babel
means nobody has to remember a compile step after editing a translation.
"""

from __future__ import annotations

import gettext
from functools import cache
from importlib import resources
from io import BytesIO
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from handlers.context import DEFAULT_LANGUAGE, LANGUAGES, Translate

DOMAIN = "kurasi"


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
