"""Choices typed instead of tapped: which option a typed name means, typos allowed."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)

# Words people type for each sector, beside the sector's labels in both languages.
SECTOR_ALIASES: dict[str, tuple[str, ...]] = {
    "food": (
        "food", "makanan", "minuman", "mamin", "kuliner", "pangan", "camilan", "cemilan",
        "snack", "kue", "beverage", "drink", "drinks", "culinary", "f&b",
    ),
    "fashion": (
        "fashion", "fesyen", "busana", "pakaian", "baju", "sandang", "clothing", "apparel",
        "batik",
    ),
    "handicraft": (
        "handicraft", "kerajinan", "kriya", "craft", "crafts", "anyaman", "suvenir",
        "souvenir", "batik",
    ),
    "furniture": ("furniture", "mebel", "meubel", "furnitur", "perabot", "perabotan"),
    "agribusiness": (
        "agribusiness", "agribisnis", "pertanian", "perkebunan", "perikanan", "peternakan",
        "agriculture", "farming",
    ),
    "spa": (
        "spa", "jamu", "herbal", "kosmetik", "kecantikan", "cosmetics", "beauty", "skincare",
    ),
    "other": ("other", "others", "lainnya", "lain", "lain lain"),
}  # fmt: skip

_STOP_WORDS = frozenset({"dan", "and", "atau", "or", "the", "of", "yang"})
_NON_WORD_RE = re.compile(r"[\W_]+")
_MAX_CHOICE_LEN = 100
_CLOSE = 0.05  # scores this close to the best are a tie


def fold(text: str) -> str:
    """Case-, accent- and punctuation-insensitive form: "Fésyen & Batik!" → "fesyen batik"."""
    s = unicodedata.normalize("NFKD", text.casefold())
    s = "".join(ch for ch in s if not unicodedata.combining(ch))
    return " ".join(_NON_WORD_RE.sub(" ", s).split())


@dataclass(frozen=True, slots=True)
class Choice(Generic[K]):
    """What a typed answer chose: one option, or the options it could be (best first)."""

    match: K | None = None
    candidates: tuple[K, ...] = ()


def _similarity(typed: str, name: str) -> float:
    score = SequenceMatcher(None, typed, name, autojunk=False).ratio()
    # Chat shorthand drops vowels ("mknan", "krjinan"): same first letter, letters in order.
    if len(typed) >= 3 and typed[0] == name[0] and 2 * len(typed) >= len(name):
        rest = iter(name)
        if all(ch in rest for ch in typed):
            score = max(score, 0.8)
    return score


def match_choice(
    text: str, options: Mapping[K, Iterable[str]], *, cutoff: float = 0.75
) -> Choice[K]:
    """The option whose name (a label in any language, a code or an alias) was typed.

    Case, accents and punctuation do not matter; a label's own words count too ("makanan" for
    "Makanan & minuman"), and so do small typos ("mknan", "fesion"). Exact names win over
    words, words over prefixes, prefixes over look-alikes. When several options fit equally
    well the answer names them as candidates instead of guessing; nothing near gives an empty
    `Choice`.
    """
    typed = fold(text)
    if not typed or len(typed) > _MAX_CHOICE_LEN:
        return Choice()
    names: list[tuple[str, K]] = []
    words: list[tuple[str, K]] = []
    for key, labels in options.items():
        for label in labels:
            name = fold(label)
            if not name:
                continue
            names.append((name, key))
            parts = [w for w in name.split() if len(w) >= 3 and w not in _STOP_WORDS]
            if len(parts) > 1:
                words.extend((w, key) for w in parts)

    def decide(keys: list[K]) -> Choice[K] | None:
        unique = list(dict.fromkeys(keys))
        if not unique:
            return None
        return Choice(match=unique[0]) if len(unique) == 1 else Choice(candidates=tuple(unique))

    for found in (
        [k for n, k in names if n == typed],
        [k for n, k in words if n == typed],
        [k for n, k in (*names, *words) if len(typed) >= 3 and n.startswith(typed)],
    ):
        if (choice := decide(found)) is not None:
            return choice

    best: dict[K, float] = {}
    for name, key in (*names, *words):
        score = _similarity(typed, name)
        if score >= cutoff and score > best.get(key, 0.0):
            best[key] = score
    if not best:
        return Choice()
    top = max(best.values())
    close = sorted((k for k, v in best.items() if v >= top - _CLOSE), key=lambda k: -best[k])
    return decide(close) or Choice()
