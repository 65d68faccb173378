"""The catalogue's four languages: Indonesian, English, Japanese, simplified Chinese.

The rest of the bot speaks Indonesian and English (bot/locales); the catalogue's labels have
catalogs of their own here, `locales/<language>.po`, one per language, in the repository and
never fetched. Each msgid is the English text, marked in the code with `C_`; a missing
translation falls back to English (tests/bot/test_catalogue_site.py keeps them complete).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from importlib import resources
from typing import Any

from babel.messages.pofile import read_po

LANGUAGES = ("id", "en", "ja", "zh-Hans")
DEFAULT = "id"
NAMES = {"id": "Bahasa Indonesia", "en": "English", "ja": "日本語", "zh-Hans": "简体中文"}
# Where the catalogs live: a file name cannot hold every BCP 47 spelling.
_FILES = {"id": "id", "en": "en", "ja": "ja", "zh-Hans": "zh_Hans"}

Label = Callable[..., str]


def C_(message: str) -> str:
    """Marks a catalogue label for the catalogue's catalogs."""
    return message


@cache
def messages(language: str) -> dict[str, str]:
    name = _FILES.get(language, "en")
    po = resources.files("bot") / "catalogue_site" / "locales" / f"{name}.po"
    if not po.is_file():
        return {}
    with po.open("rb") as fh:
        catalog = read_po(fh)
    return {str(m.id): str(m.string) for m in catalog if m.id and m.string}


@cache
def labels(language: str) -> Label:
    table = messages(language if language in LANGUAGES else DEFAULT)

    def label(message: str, /, **values: Any) -> str:
        text = table.get(message) or message
        return text.format(**values) if values else text

    return label


def negotiate(accept_language: str | None) -> str:
    """The buyer's language from an Accept-Language header (q-values honoured)."""
    if not accept_language:
        return DEFAULT
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate(accept_language.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        match = re.search(r"q=([0-9.]+)", params)
        if match:
            try:
                q = float(match.group(1))
            except ValueError:
                q = 0.0
        ranked.append((-q, i, tag.strip().lower()))
    for neg_q, _i, tag in sorted(ranked):
        if neg_q >= 0:
            continue
        found = pick(tag)
        if found:
            return found
    return DEFAULT


def pick(tag: str) -> str | None:
    """One of LANGUAGES for a tag ("zh-CN", "zh-Hans-SG", "ja-JP", "en-US", "in"), or None."""
    tag = tag.lower()
    if tag.startswith("zh"):
        # Simplified Chinese is what we have; traditional-script tags still read it best.
        return "zh-Hans"
    primary = tag.split("-")[0]
    if primary in ("id", "in", "ms"):
        return "id"
    if primary in ("en", "ja"):
        return primary
    return None
