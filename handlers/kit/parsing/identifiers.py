"""Identifiers typed in chat: Indonesian phone numbers and the NIB business number."""

from __future__ import annotations

import re

from handlers.kit.parsing.numbers import MAX_FIELD_LEN, SPACES

_PHONE_SEPARATORS_RE = re.compile(r"[\s\-.()/" + SPACES + r"]")
# "+62 (0)812..." writes the national trunk 0 in brackets; it is not part of the number.
_TRUNK_ZERO_RE = re.compile(r"^\s*(\+|00)?\s*62[\s\-.]*\(0\)")
_NSN_RE = re.compile(r"[2-9][0-9]{7,11}")


def parse_phone(text: str) -> str | None:
    """Normalise an Indonesian phone number to E.164 ("+62812...").

    Accepts "08…", "+62…", "62…" and "0062…" with spaces, dashes, dots and parentheses. The
    national number after 62 must start with 2–9 and have 8–12 digits. "812…" (no prefix) is
    rejected as ambiguous.
    """
    if len(text) > MAX_FIELD_LEN:
        return None
    s = _TRUNK_ZERO_RE.sub(lambda m: (m.group(1) or "") + "62", text)
    s = _PHONE_SEPARATORS_RE.sub("", s)
    if s.startswith("+62"):
        nsn = s[3:]
    elif s.startswith("0062"):
        nsn = s[4:]
    elif s.startswith("62"):
        nsn = s[2:]
    elif s.startswith("0"):
        nsn = s[1:]
    else:
        return None
    if not _NSN_RE.fullmatch(nsn):
        return None
    return "+62" + nsn


_NIB_RE = re.compile(r"(?:nib\s*[:.]?\s*)?([0-9](?:[\s.\-]*[0-9]){12})", re.IGNORECASE)


def parse_nib(text: str) -> str | None:
    """Return the 13 digits of an NIB (Nomor Induk Berusaha), or None.

    Spaces, dashes and dots between digits are allowed, as is a leading "NIB:" label.
    """
    if len(text) > MAX_FIELD_LEN:
        return None
    m = _NIB_RE.fullmatch(text.strip())
    if m is None:
        return None
    return re.sub(r"[^0-9]", "", m.group(1))
