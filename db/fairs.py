"""Export and trade fairs: the CSV admins import, the upcoming list, and producers' interest."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from urllib.parse import urlsplit

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.businesses import SECTORS
from db.models import Business, Fair, FairInterest, User
from db.notifications import plan, to_user
from db.sql import insert_ignore

FAIR_CSV_HEADER: tuple[str, ...] = (
    "name",
    "place",
    "country",
    "start_date",
    "end_date",
    "registration_deadline",
    "sectors",
    "link",
    "description",
)
# The column widths of the fairs table; the description is kept short enough for one message.
MAX_NAME = 200
MAX_PLACE = 200
MAX_COUNTRY = 100
MAX_LINK = 500
MAX_DESCRIPTION = 1000

# The forms an Indonesian spreadsheet writes: 2027-04-21, 21/04/2027, 21-04-2027 (day first).
_YMD_RE = re.compile(r"([0-9]{4})[/.-]([0-9]{1,2})[/.-]([0-9]{1,2})")
_DMY_RE = re.compile(r"([0-9]{1,2})[/.-]([0-9]{1,2})[/.-]([0-9]{4})")
DATE_FORMS = "2027-04-21, 21/04/2027 or 21-04-2027"


@dataclass(frozen=True, slots=True)
class FairData:
    """One fair as entered, checked but not stored yet."""

    name: str
    place: str
    country: str
    start_date: date
    end_date: date
    registration_deadline: date | None = None
    sectors: tuple[str, ...] = ()  # empty: every sector
    link: str | None = None
    description: str | None = None
    line: int | None = field(default=None, compare=False)  # where it came from in a CSV


def valid_link(link: str) -> bool:
    """An absolute http(s) address without spaces that fits the column."""
    if len(link) > MAX_LINK or any(ch.isspace() for ch in link):
        return False
    try:
        parts = urlsplit(link)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def sectors_in_order(codes: Sequence[str]) -> tuple[str, ...]:
    return tuple(s for s in SECTORS if s in codes)


def _one_line(value: str) -> str:
    return " ".join(value.split())


def _required(value: str, column: str, max_len: int, problems: list[str]) -> str:
    value = _one_line(value)
    if not value:
        problems.append(f"{column} is required")
    elif len(value) > max_len:
        problems.append(f"{column} is longer than {max_len} characters")
    return value


def parse_fair_date(value: str) -> date | str:
    """A date as spreadsheets write it (year first, or day first with / - or .), or why not."""
    value = value.strip()
    if m := _YMD_RE.fullmatch(value):
        year, month, day = (int(g) for g in m.groups())
    elif m := _DMY_RE.fullmatch(value):
        day, month, year = (int(g) for g in m.groups())
    else:
        return f"{value!r} is not a date like {DATE_FORMS}"
    try:
        return date(year, month, day)
    except ValueError:
        return f"{value!r} is not a real date"


def _date(value: str, column: str, problems: list[str], *, optional: bool = False) -> date | None:
    if not value.strip():
        if not optional:
            problems.append(f"{column} is required (e.g. {DATE_FORMS})")
        return None
    parsed = parse_fair_date(value)
    if isinstance(parsed, str):
        problems.append(f"{column} {parsed}")
        return None
    return parsed


def _sectors(value: str, problems: list[str]) -> tuple[str, ...]:
    codes = [c.strip().lower() for c in value.split(";") if c.strip()]
    unknown = [c for c in codes if c not in SECTORS]
    if unknown:
        problems.append(
            f"unknown sector {', '.join(map(repr, unknown))} (use {', '.join(SECTORS)}, "
            "separated by ';', or leave it empty for every sector)"
        )
    return sectors_in_order(codes)


def _row(cells: list[str], line: int) -> tuple[FairData | None, list[str]]:
    return check_fair(dict(zip(FAIR_CSV_HEADER, cells, strict=True)), line=line)


def check_fair(
    values: Mapping[str, str], *, line: int | None = None
) -> tuple[FairData | None, list[str]]:
    """A fair from its columns as text (the CSV's header names), or every problem found."""
    problems: list[str] = []
    name = _required(values["name"], "name", MAX_NAME, problems)
    place = _required(values["place"], "place", MAX_PLACE, problems)
    country = _required(values["country"], "country", MAX_COUNTRY, problems)
    start = _date(values["start_date"], "start_date", problems)
    end = _date(values["end_date"], "end_date", problems)
    deadline = _date(
        values["registration_deadline"], "registration_deadline", problems, optional=True
    )
    if start and end and end < start:
        problems.append(f"end_date {end} is before start_date {start}")
    if start and deadline and deadline > start:
        problems.append(f"registration_deadline {deadline} is after start_date {start}")
    sectors = _sectors(values["sectors"], problems)
    link = values["link"].strip() or None
    if link is not None and not valid_link(link):
        problems.append(
            f"link {link[:80]!r} is not a web address starting with http:// or https://"
            if len(link) <= MAX_LINK
            else f"link is longer than {MAX_LINK} characters"
        )
    description = values["description"].strip() or None
    if description is not None and len(description) > MAX_DESCRIPTION:
        problems.append(f"description is longer than {MAX_DESCRIPTION} characters")
    if problems or start is None or end is None:
        return None, problems
    return FairData(
        name=name,
        place=place,
        country=country,
        start_date=start,
        end_date=end,
        registration_deadline=deadline,
        sectors=sectors,
        link=link,
        description=description,
        line=line,
    ), []


def _delimiter(first_line: str) -> str:
    # Excel in an Indonesian locale saves "CSV" with semicolons (the comma is the decimal mark).
    cells = [c.strip().lower() for c in first_line.split(";")]
    return ";" if tuple(cells) == FAIR_CSV_HEADER else ","


def parse_fairs_csv(text: str) -> tuple[list[FairData], list[tuple[int, str]]]:
    """The fairs of a CSV file and the problems found, as (line number, message).

    The header is line 1. Blank lines are skipped; a row is only good when every cell is.
    """
    text = text.removeprefix("\ufeff")
    errors: list[tuple[int, str]] = []
    rows: list[FairData] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text.split("\n", 1)[0]))
    expected = ",".join(FAIR_CSV_HEADER)
    seen: dict[tuple[str, date], int] = {}
    previous_end = 0
    try:
        for cells in reader:
            line = previous_end + 1  # a quoted cell may span lines: report where the row starts
            previous_end = reader.line_num
            if line == 1:
                if tuple(c.strip().lower() for c in cells) != FAIR_CSV_HEADER:
                    return [], [(1, f"the header must be exactly: {expected}")]
                continue
            if not any(c.strip() for c in cells):
                continue
            if len(cells) != len(FAIR_CSV_HEADER):
                errors.append(
                    (line, f"expected {len(FAIR_CSV_HEADER)} columns, found {len(cells)}")
                )
                continue
            data, problems = _row(cells, line)
            errors.extend((line, p) for p in problems)
            if data is None:
                continue
            key = (data.name.casefold(), data.start_date)
            if key in seen:
                errors.append((line, f"the same fair (name and start_date) as line {seen[key]}"))
                continue
            seen[key] = line
            rows.append(data)
    except csv.Error as exc:
        errors.append((previous_end + 1, f"unreadable CSV: {exc}"))
    if previous_end == 0:
        return [], [(1, f"the file is empty; the header must be: {expected}")]
    return rows, errors


# --- stored fairs -----------------------------------------------------------------------


def _new_fair(data: FairData, *, created_by: int | None, now: datetime) -> Fair:
    columns = {name: getattr(data, name) for name in FAIR_CSV_HEADER}
    columns["sectors"] = list(data.sectors)
    return Fair(**columns, created_by=created_by, created_at=now)


async def import_fairs(
    session: AsyncSession, *, rows: Sequence[FairData], created_by: int | None, now: datetime
) -> list[Fair]:
    """Store every row as a new fair, in order."""
    fairs = [_new_fair(data, created_by=created_by, now=now) for data in rows]
    session.add_all(fairs)
    await session.flush()
    return fairs


async def find_stored(
    session: AsyncSession, *, rows: Sequence[FairData]
) -> list[tuple[FairData, Fair]]:
    """Rows that are already stored fairs (same name, ignoring case, and same start date)."""
    if not rows:
        return []
    stored = await session.scalars(
        select(Fair).where(Fair.start_date.in_({r.start_date for r in rows})).order_by(Fair.id)
    )
    by_key: dict[tuple[str, date], Fair] = {}
    for fair in stored:
        by_key.setdefault((fair.name.casefold(), fair.start_date), fair)
    return [(r, by_key[key]) for r in rows if (key := (r.name.casefold(), r.start_date)) in by_key]


async def get_fair(session: AsyncSession, *, fair_id: int) -> Fair | None:
    return await session.get(Fair, fair_id)


async def list_fairs(session: AsyncSession) -> list[Fair]:
    """Every fair, past ones too, by start date."""
    return list(await session.scalars(select(Fair).order_by(Fair.start_date, Fair.id)))


async def upcoming_fairs(
    session: AsyncSession, *, today: date, sector: str | None = None
) -> list[Fair]:
    """Fairs not over by `today`, soonest first; with a sector, those open to it."""
    fairs = await session.scalars(
        select(Fair).where(Fair.end_date >= today).order_by(Fair.start_date, Fair.id)
    )
    # Filtered here rather than in SQL: JSON containment differs between SQLite and
    # PostgreSQL, and the list of fairs is short.
    return [f for f in fairs if sector is None or not f.sectors or sector in f.sectors]


async def add_interest(session: AsyncSession, *, fair_id: int, user_id: int, now: datetime) -> bool:
    """Record that a producer is interested; False when they already were."""
    return await insert_ignore(
        session,
        FairInterest,
        {"fair_id": fair_id, "user_id": user_id, "created_at": now},
        conflict=["fair_id", "user_id"],
    )


async def remove_interest(session: AsyncSession, *, fair_id: int, user_id: int) -> bool:
    """Withdraw a producer's interest ("Batal tertarik"); False when there was none."""
    result = await session.execute(
        delete(FairInterest).where(FairInterest.fair_id == fair_id, FairInterest.user_id == user_id)
    )
    return bool(getattr(result, "rowcount", 0))


async def interested_fair_ids(session: AsyncSession, *, user_id: int) -> set[int]:
    result = await session.scalars(
        select(FairInterest.fair_id).where(FairInterest.user_id == user_id)
    )
    return set(result)


async def interested_users(
    session: AsyncSession, *, fair_id: int
) -> list[tuple[User, Business | None]]:
    """Who pressed "Saya tertarik" for a fair, in the order they did."""
    rows = await session.execute(
        select(User, Business)
        .join(FairInterest, FairInterest.user_id == User.id)
        .outerjoin(Business, Business.owner_id == User.id)
        .where(FairInterest.fair_id == fair_id)
        .order_by(FairInterest.created_at, FairInterest.id)
    )
    return [(user, business) for user, business in rows.all()]


# --- editing and cancelling -------------------------------------------------------------

# What a producer is told about when it changes: the dates and the place.
NOTIFIED_FIELDS = ("start_date", "end_date", "registration_deadline", "place")


def cell(value: object) -> str:
    """A FairData value (or a form's answer) written as its CSV cell."""
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return ";".join(value)
    return str(value)


def fair_values(fair: Fair) -> dict[str, str]:
    """A stored fair as the CSV's columns, so that an edit is checked like an import row."""
    data = _as_data(fair)
    return {name: cell(getattr(data, name)) for name in FAIR_CSV_HEADER}


def _summary(data: FairData) -> dict[str, str | None]:
    """What a notice needs to name a fair after it changed or was deleted."""
    named = ("name", "place", "country", "start_date", "end_date", "registration_deadline")
    return {name: cell(getattr(data, name)) or None for name in named}


@dataclass(frozen=True, slots=True)
class FairChange:
    """An edit or a cancellation that was stored, and the producers told about it."""

    fair_id: int
    before: FairData
    after: FairData | None  # None: the fair was deleted
    told: tuple[User, ...] = ()

    @property
    def changed(self) -> tuple[str, ...]:
        """The columns whose value changed (all of them for a deletion)."""
        if self.after is None:
            return FAIR_CSV_HEADER
        return tuple(
            name
            for name in FAIR_CSV_HEADER
            if getattr(self.before, name) != getattr(self.after, name)
        )


def _as_data(fair: Fair) -> FairData:
    columns = {name: getattr(fair, name) for name in FAIR_CSV_HEADER}
    return FairData(**{**columns, "sectors": tuple(fair.sectors)})


async def _tell(
    session: AsyncSession,
    *,
    fair_id: int,
    kind: str,
    payload: dict[str, object],
    now: datetime,
) -> tuple[User, ...]:
    """Queue one notice of `kind` for everyone interested in the fair; returns them."""
    users = [user for user, _business in await interested_users(session, fair_id=fair_id)]
    for user in users:
        await plan(
            session,
            kind=kind,
            dedupe_key=f"{kind}:{fair_id}:{user.id}:{now.isoformat()}",
            **to_user(user),
            subject_id=fair_id,
            payload=payload,
            due_at=now,
            now=now,
        )
    return tuple(users)


async def edit_fair(
    session: AsyncSession,
    *,
    fair_id: int,
    changes: Mapping[str, str],
    now: datetime,
    notice_kind: str,
) -> FairChange | list[str] | None:
    """Change some columns of a fair (given as text, checked like a CSV row).

    None when there is no such fair; the problems when the result would be invalid. When the
    dates or the place changed, everyone interested is sent a notice of `notice_kind`
    (handlers/features/fairs/text.py FAIR_CHANGED).
    """
    fair = await session.get(Fair, fair_id)
    if fair is None:
        return None
    unknown = sorted(set(changes) - set(FAIR_CSV_HEADER))
    if unknown:
        return [f"unknown column {', '.join(unknown)}"]
    before = _as_data(fair)
    after, problems = check_fair({**fair_values(fair), **changes})
    if after is None:
        return problems
    same_day = await session.scalars(
        select(Fair).where(Fair.id != fair_id, Fair.start_date == after.start_date)
    )
    for other in same_day:
        if other.name.casefold() == after.name.casefold():
            return [f"fair {other.id} has the same name and start_date {after.start_date}"]
    for name in FAIR_CSV_HEADER:
        value = getattr(after, name)
        setattr(fair, name, list(value) if name == "sectors" else value)
    change = FairChange(fair_id=fair_id, before=before, after=after)
    if not any(name in NOTIFIED_FIELDS for name in change.changed):
        return change
    told = await _tell(
        session,
        fair_id=fair_id,
        kind=notice_kind,
        payload={"before": _summary(before), "after": _summary(after)},
        now=now,
    )
    return replace(change, told=told)


async def delete_fair(
    session: AsyncSession, *, fair_id: int, now: datetime, notice_kind: str
) -> FairChange | None:
    """Delete a fair (its interests and pending reminders go with it) and queue a
    cancellation notice of `notice_kind` (handlers/features/fairs/text.py FAIR_CANCELLED)
    for everyone who was interested."""
    fair = await session.get(Fair, fair_id)
    if fair is None:
        return None
    before = _as_data(fair)
    told = await _tell(
        session,
        fair_id=fair_id,
        kind=notice_kind,
        payload={"before": _summary(before)},
        now=now,
    )
    await session.execute(delete(FairInterest).where(FairInterest.fair_id == fair_id))
    await session.delete(fair)
    await session.flush()
    return FairChange(fair_id=fair_id, before=before, after=None, told=told)
