"""Days as an input kind, and as people read them: 21 Apr 2027.

A day is typed as spreadsheets write it (2027-04-21, 21-04-2027, 21/04/2027, 21.04.2027;
db/fairs.py reads the CSV import the same way) and kept as ISO text, so a form whose record
is the conversation's data can hold it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from handlers.i18n import N_
from handlers.kit.context import Context, Translate
from handlers.kit.events import Event, Text
from handlers.kit.forms.engine import NOT_UNDERSTOOD, Field, Form, Got, Input, Outcome, Refuse

MONTHS = (
    *(N_("Jan"), N_("Feb"), N_("Mar"), N_("Apr"), N_("May"), N_("Jun")),
    *(N_("Jul"), N_("Aug"), N_("Sep"), N_("Oct"), N_("Nov"), N_("Dec")),
)


# Month names as typed, in Indonesian and English (and their usual short forms).
MONTH_WORDS: dict[str, int] = {
    "jan": 1, "januari": 1, "january": 1,
    "feb": 2, "febr": 2, "februari": 2, "pebruari": 2, "february": 2,
    "mar": 3, "mrt": 3, "maret": 3, "march": 3,
    "apr": 4, "april": 4,
    "mei": 5, "may": 5,
    "jun": 6, "juni": 6, "june": 6,
    "jul": 7, "juli": 7, "july": 7,
    "agu": 8, "agt": 8, "ags": 8, "agus": 8, "agustus": 8, "aug": 8, "august": 8,
    "sep": 9, "sept": 9, "september": 9,
    "okt": 10, "oct": 10, "oktober": 10, "october": 10,
    "nov": 11, "nop": 11, "november": 11, "nopember": 11,
    "des": 12, "dec": 12, "desember": 12, "december": 12,
}  # fmt: skip
_DAY_MONTH_YEAR = re.compile(r"(\d{1,2})(?:st|nd|rd|th)?\s+([a-z]+)\.?,?\s+(\d{4})")
_MONTH_DAY_YEAR = re.compile(r"([a-z]+)\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})")
_NUMERIC = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})|(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})")


@dataclass(frozen=True, slots=True)
class NoSuchDay:
    """A date written right whose day does not exist (30 February)."""

    day: int
    month: int
    year: int


def read_date(text: str) -> date | NoSuchDay | None:
    """2027-04-21, 21-04-2027, 21/04/2027, 21.04.2027, "3 jan 2025", "3 Januari 2025",
    "January 3, 2025"; a day that does not exist is said so; None when not a date."""
    s = " ".join(text.casefold().split())
    if len(s) > 40:
        return None
    parts: tuple[int, int, int] | None = None
    if m := _NUMERIC.fullmatch(s):
        if m.group(1):
            parts = (int(m.group(3)), int(m.group(2)), int(m.group(1)))
        else:
            parts = (int(m.group(4)), int(m.group(5)), int(m.group(6)))
    elif (m := _DAY_MONTH_YEAR.fullmatch(s)) and m.group(2) in MONTH_WORDS:
        parts = (int(m.group(1)), MONTH_WORDS[m.group(2)], int(m.group(3)))
    elif (m := _MONTH_DAY_YEAR.fullmatch(s)) and m.group(1) in MONTH_WORDS:
        parts = (int(m.group(2)), MONTH_WORDS[m.group(1)], int(m.group(3)))
    if parts is None:
        return None
    day, month, year = parts
    if not 1 <= month <= 12:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return NoSuchDay(day, month, year) if 1 <= day <= 31 else None


MONTH_NAMES = (
    *(N_("January"), N_("February"), N_("March"), N_("April"), N_("May"), N_("June")),
    *(N_("July"), N_("August"), N_("September"), N_("October"), N_("November")),
    N_("December"),
)


def parse_date(text: str) -> date | None:
    """`read_date`'s day; None when not a real date."""
    day = read_date(text)
    return day if isinstance(day, date) else None


def date_text(t: Translate, d: date) -> str:
    return f"{d.day} {t(MONTHS[d.month - 1])} {d.year}"


def day_of(record: Any, name: str) -> date | None:
    """The day a DateInput field stored in a dict record, if answered."""
    value = record.get(name) if isinstance(record, dict) else None
    return date.fromisoformat(value) if isinstance(value, str) else None


@dataclass
class DateInput(Input[Any]):
    """A day, kept as ISO text. `not_before` / `not_after` name another field of the record
    the day may not come before / after, with the refusal (N_-marked, {date}: that day);
    `not_past` refuses a day before today."""

    refusal: str = N_(
        "I couldn't read that as a date. Please type it as day month year or "
        "year-month-day, for example 21 Apr 2027, 21-04-2027 or 2027-04-21."
    )
    not_before: tuple[str, str] | None = None
    not_after: tuple[str, str] | None = None
    not_past: str | None = None  # N_-marked

    async def read(
        self, ctx: Context, form: Form[Any], field: Field[Any], record: Any, event: Event
    ) -> Outcome:
        if not isinstance(event, Text):
            return Refuse(ctx.t(NOT_UNDERSTOOD))
        day = read_date(event.text)
        if isinstance(day, NoSuchDay):
            month = ctx.t(MONTH_NAMES[day.month - 1])
            return Refuse(
                ctx.t(
                    "{month} {year} has no day {day}: that date does not exist. Please check it.",
                    month=month,
                    year=day.year,
                    day=day.day,
                )
            )
        if day is None:
            return Refuse(ctx.t(self.refusal))
        if self.not_before and (bound := day_of(record, self.not_before[0])) and day < bound:
            return Refuse(ctx.t(self.not_before[1], date=date_text(ctx.t, bound)))
        if self.not_after and (bound := day_of(record, self.not_after[0])) and day > bound:
            return Refuse(ctx.t(self.not_after[1], date=date_text(ctx.t, bound)))
        if self.not_past is not None and day < ctx.today:
            return Refuse(ctx.t(self.not_past))
        return Got(day.isoformat())
