"""Durations ("6 bulan") and local dates and times ("1/12 09:00")."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from handlers.kit.parsing.numbers import MAX_FIELD_LEN
from handlers.kit.parsing.refusals import Reason, Refused

_DURATION_UNITS: dict[str, int] = {
    "hari": 1, "hr": 1, "day": 1, "days": 1, "d": 1,
    "minggu": 7, "mgg": 7, "week": 7, "weeks": 7,
    "bulan": 30, "bln": 30, "month": 30, "months": 30,
    "tahun": 365, "thn": 365, "th": 365, "year": 365, "years": 365, "yr": 365, "yrs": 365,
}  # fmt: skip
_DURATION_RE = re.compile(r"([0-9]{1,9})\s*([a-z]+)")
MAX_SHELF_DAYS = 3650  # ten years


def read_duration_days(text: str) -> int | Refused | None:
    """`parse_duration_days`, but a duration out of range says so (the number is what is
    wrong, not the words): Refused(TOO_LARGE or TOO_SMALL, maximum=MAX_SHELF_DAYS)."""
    if len(text) > MAX_FIELD_LEN:
        return None
    match = _DURATION_RE.fullmatch(" ".join(text.lower().split()).rstrip(".!"))
    if match is None or match.group(2) not in _DURATION_UNITS:
        return None
    days = int(match.group(1)) * _DURATION_UNITS[match.group(2)]
    if days < 1:
        return Refused(Reason.TOO_SMALL, minimum=1, maximum=MAX_SHELF_DAYS)
    if days > MAX_SHELF_DAYS:
        return Refused(Reason.TOO_LARGE, minimum=1, maximum=MAX_SHELF_DAYS)
    return days


def parse_duration_days(text: str) -> int | None:
    """Shelf life in days: "6 bulan", "1 tahun", "2 minggu", "90 hari", "12 months".

    A bare number is refused: "6" may mean days or months, and a wrong guess misleads buyers.
    """
    if len(text) > MAX_FIELD_LEN:
        return None
    match = _DURATION_RE.fullmatch(" ".join(text.lower().split()).rstrip(".!"))
    if match is None or match.group(2) not in _DURATION_UNITS:
        return None
    days = int(match.group(1)) * _DURATION_UNITS[match.group(2)]
    return days if 1 <= days <= MAX_SHELF_DAYS else None


_WHEN = re.compile(
    r"\s*(?:(\d{4})-(\d{1,2})-(\d{1,2})|(\d{1,2})[/.-](\d{1,2})(?:[/.-](\d{4}))?)\s+"
    r"(?:jam\s+|pukul\s+)?(\d{1,2})[:.](\d{2})\s*"
)


def parse_when(
    text: str, *, now: datetime, zone: ZoneInfo, roll_over: bool = True
) -> datetime | None:
    """A local date and time ("1/12 09:00", "2026-12-01 09.00", "1/12 jam 9.00") in `zone`,
    or None. Without a year it is the next such moment: "1/1 09:00" in December is next year;
    with `roll_over=False` it stays in this year, past or not (for the caller to ask)."""
    m = _WHEN.fullmatch(text.lower()) if len(text) <= MAX_FIELD_LEN else None
    if m is None:
        return None
    local_now = now.astimezone(zone)
    if m.group(1):
        year, month, day = int(m.group(1)), int(m.group(2)), int(m.group(3))
    else:
        day, month = int(m.group(4)), int(m.group(5))
        year = int(m.group(6)) if m.group(6) else local_now.year
    try:
        at = datetime(year, month, day, int(m.group(7)), int(m.group(8)), tzinfo=zone)
    except ValueError:
        return None
    if roll_over and not m.group(1) and not m.group(6) and at < local_now:
        try:
            at = at.replace(year=year + 1)
        except ValueError:  # 29 February, next year
            return None
    return at
