"""Free text: "no" answers, lists typed in one message, and cleaned-up text."""

from __future__ import annotations

import re
import unicodedata

from handlers.kit.parsing.numbers import MAX_FIELD_LEN

_NO_ANSWERS = frozenset(
    {
        # Indonesian, formal and chat spellings
        "belum",
        "blm",
        "belum punya",
        "blm punya",
        "belum ada",
        "blm ada",
        "tidak",
        "tdk",
        "tidak ada",
        "tdk ada",
        "tidak punya",
        "tdk punya",
        "gak ada",
        "gk ada",
        "ga ada",
        "gada",
        "nggak ada",
        "ngga ada",
        "enggak ada",
        "engga ada",
        "gak punya",
        "ga punya",
        "nggak punya",
        # English
        "no",
        "nope",
        "none",
        "not yet",
        "don't have",
        "dont have",
        "do not have",
        "i don't have",
        "i dont have",
        "i do not have",
        "n/a",
    }
)
_TRAILING_PUNCT_RE = re.compile(r"[\s.,!?;:…]+$")
_DASHES_RE = re.compile(r"[-\u2013\u2014]+")


def is_no_answer(text: str) -> bool:
    """True when the user says they don't have the thing ("belum punya", "tidak", "no", "-")."""
    if len(text) > MAX_FIELD_LEN:
        return False
    s = text.casefold().replace("\u2019", "'").replace("`", "'")
    s = _TRAILING_PUNCT_RE.sub("", " ".join(s.split()))
    return s in _NO_ANSWERS or _DASHES_RE.fullmatch(s) is not None


# --------------------------------------------------------------------------------------------
# Lists and free text
# --------------------------------------------------------------------------------------------

_LIST_SPLIT_RE = re.compile(r"[,;\n\r•]|\b(?:dan|and)\b", re.IGNORECASE)
_BULLET_RE = re.compile(r"^(?:[-*·]|[0-9]{1,2}[.)])\s+")


def split_list(text: str) -> list[str]:
    """Split "Malaysia, Jepang dan Singapura" (also ";", "and", newlines) into unique items.

    Items are trimmed, whitespace-collapsed, stripped of list bullets and trailing full stops;
    duplicates are dropped case-insensitively, keeping the first spelling.
    """
    items: list[str] = []
    seen: set[str] = set()
    for line in text.splitlines() or [""]:
        line = _BULLET_RE.sub("", line.strip())
        for piece in _LIST_SPLIT_RE.split(line):
            item = " ".join(piece.split()).rstrip(".!?").strip()
            item = _BULLET_RE.sub("", item)
            key = item.casefold()
            if item and key not in seen:
                seen.add(key)
                items.append(item)
    return items


def clean_text(text: str, *, max_len: int) -> str | None:
    """Collapse whitespace and strip; None if the result is empty or longer than ``max_len``.

    Control characters are dropped too (PostgreSQL rejects NUL in text columns).
    """
    s = "".join(ch for ch in text if ch.isspace() or unicodedata.category(ch) != "Cc")
    s = " ".join(s.split())
    if not s or len(s) > max_len:
        return None
    return s
