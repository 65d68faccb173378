"""Days as an input kind, and as people read them: 21 Apr 2027.

A day is typed as spreadsheets write it (2027-04-21, 21-04-2027, 21/04/2027, 21.04.2027;
db/fairs.py reads the CSV import the same way) and kept as ISO text, so a form whose record
is the conversation's data can hold it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from db.fairs import parse_fair_date
from handlers.i18n import N_
from handlers.kit.context import Context, Translate
from handlers.kit.events import Event, Text
from handlers.kit.forms.engine import NOT_UNDERSTOOD, Field, Form, Got, Input, Outcome, Refuse

MONTHS = (
    *(N_("Jan"), N_("Feb"), N_("Mar"), N_("Apr"), N_("May"), N_("Jun")),
    *(N_("Jul"), N_("Aug"), N_("Sep"), N_("Oct"), N_("Nov"), N_("Dec")),
)


def parse_date(text: str) -> date | None:
    """2027-04-21, 21-04-2027, 21/04/2027 or 21.04.2027; None when not a real date."""
    day = parse_fair_date(text)
    return day if isinstance(day, date) else None


def date_text(t: Translate, d: date) -> str:
    return f"{d.day} {t(MONTHS[d.month - 1])} {d.year}"


def day_of(record: Any, name: str) -> date | None:
    """The day a DateInput field stored in a dict record, if answered."""
    value = record.get(name) if isinstance(record, dict) else None
    return date.fromisoformat(value) if isinstance(value, str) else None


@dataclass
class DateInput(Input):
    """A day, kept as ISO text. `not_before` / `not_after` name another field of the record
    the day may not come before / after, with the refusal (N_-marked, {date}: that day);
    `not_past` refuses a day before today."""

    refusal: str = N_(
        "I couldn't read that as a date. Please type it as year-month-day or "
        "day-month-year, for example 2027-04-21 or 21-04-2027."
    )
    not_before: tuple[str, str] | None = None
    not_after: tuple[str, str] | None = None
    not_past: str | None = None  # N_-marked

    async def read(
        self, ctx: Context, form: Form, field: Field, record: Any, event: Event
    ) -> Outcome:
        if not isinstance(event, Text):
            return Refuse(ctx.t(NOT_UNDERSTOOD))
        day = parse_date(event.text)
        if day is None:
            return Refuse(ctx.t(self.refusal))
        if self.not_before and (bound := day_of(record, self.not_before[0])) and day < bound:
            return Refuse(ctx.t(self.not_before[1], date=date_text(ctx.t, bound)))
        if self.not_after and (bound := day_of(record, self.not_after[0])) and day > bound:
            return Refuse(ctx.t(self.not_after[1], date=date_text(ctx.t, bound)))
        if self.not_past is not None and day < ctx.today:
            return Refuse(ctx.t(self.not_past))
        return Got(day.isoformat())
