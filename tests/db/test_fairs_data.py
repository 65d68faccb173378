"""Fairs data rules: the CSV admins import, upcoming fairs by sector, producers' interest."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from db.fairs import (
    FAIR_CSV_HEADER,
    FairChange,
    FairData,
    add_interest,
    delete_fair,
    edit_fair,
    find_stored,
    get_fair,
    import_fairs,
    interested_users,
    list_fairs,
    parse_fair_date,
    parse_fairs_csv,
    remove_interest,
    upcoming_fairs,
    valid_link,
)
from db.models import Fair, FairInterest, Notification, User
from handlers.features.fairs.text import FAIR_CANCELLED, FAIR_CHANGED
from tests.factories import producer
from tests.support import FakeClock

HEADER = ",".join(FAIR_CSV_HEADER)
TODAY = date(2026, 11, 25)


def csv_of(*rows: str) -> str:
    return "\n".join((HEADER, *rows)) + "\n"


def fair(name: str, start: date, end: date, sectors: tuple[str, ...] = ()) -> FairData:
    return FairData(
        name=name, place="JIExpo", country="Indonesia", start_date=start, end_date=end,
        sectors=sectors,
    )  # fmt: skip


def test_good_rows_parse_with_a_bom_crlf_quotes_and_blank_trailing_lines() -> None:
    text = (
        "\ufeff"
        + HEADER
        + "\r\n"
        + 'INACRAFT 2027,"JCC Senayan, Jakarta",Indonesia,2027-04-21,2027-04-25,2027-03-01,'
        + 'handicraft;fashion,https://inacraft.co.id,"Pameran kerajinan\nterbesar"\r\n'
        + "FOODEX Japan 2027,Makuhari Messe,Japan,2027-03-09,2027-03-12,,food,,\r\n"
        + "SIAL Interfood,JIExpo,Indonesia,2026-11-11,2026-11-14,,,http://sial-interfood.com,\r\n"
        + "\r\n"
        + ",,,,,,,,\r\n"
        + "\r\n"
    )
    rows, errors = parse_fairs_csv(text)
    assert errors == []
    assert [r.name for r in rows] == ["INACRAFT 2027", "FOODEX Japan 2027", "SIAL Interfood"]
    inacraft = rows[0]
    assert inacraft.place == "JCC Senayan, Jakarta"
    assert (inacraft.start_date, inacraft.end_date) == (date(2027, 4, 21), date(2027, 4, 25))
    assert inacraft.registration_deadline == date(2027, 3, 1)
    assert inacraft.sectors == ("fashion", "handicraft")  # in the canonical order
    assert inacraft.description == "Pameran kerajinan\nterbesar"
    assert rows[1].registration_deadline is None and rows[1].link is None
    assert rows[2].sectors == ()  # empty: every sector
    assert [r.line for r in rows] == [2, 4, 5]  # the quoted description spans lines 2–3


def test_semicolon_separated_csv_from_an_indonesian_excel() -> None:
    text = (
        ";".join(FAIR_CSV_HEADER)
        + '\nTEI 2026;ICE BSD;Indonesia;2026-10-14;2026-10-18;;"food;spa";;\n'
    )
    rows, errors = parse_fairs_csv(text)
    assert errors == []
    assert rows[0].sectors == ("food", "spa")


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (",JCC,Indonesia,2027-04-21,2027-04-25,,,,", "name is required"),
        ("X,,Indonesia,2027-04-21,2027-04-25,,,,", "place is required"),
        ("X,JCC,,2027-04-21,2027-04-25,,,,", "country is required"),
        ("X" * 201 + ",JCC,Indonesia,2027-04-21,2027-04-25,,,,", "longer than 200"),
        ("X,JCC,Indonesia,21 April 2027,2027-04-25,,,,", "not a date like 2027-04-21"),
        ("X,JCC,Indonesia,31/04/2027,2027-04-25,,,,", "not a real date"),
        ("X,JCC,Indonesia,2027-02-30,2027-04-25,,,,", "not a real date"),
        ("X,JCC,Indonesia,2027-04-21,,,,,", "end_date is required"),
        ("X,JCC,Indonesia,2027-04-21,2027-04-20,,,,", "end_date 2027-04-20 is before"),
        ("X,JCC,Indonesia,2027-04-21,2027-04-25,2027-04-22,,,", "deadline 2027-04-22 is after"),
        ("X,JCC,Indonesia,2027-04-21,2027-04-25,,food;makanan,,", "unknown sector 'makanan'"),
        ("X,JCC,Indonesia,2027-04-21,2027-04-25,,,inacraft.co.id,", "http:// or https://"),
        ("X,JCC,Indonesia,2027-04-21,2027-04-25,,,javascript:alert(1),", "http:// or https://"),
        ("X,JCC,Indonesia,2027-04-21,2027-04-25,,,", "expected 9 columns, found 8"),
        ("X,JCC,Indonesia,2027-04-21,2027-04-25,,,," + "d" * 1001, "description is longer"),
    ],
)
def test_a_bad_row_is_reported_on_its_line(row: str, message: str) -> None:
    good = "Good,JCC,Indonesia,2027-04-21,2027-04-25,,,,"
    rows, errors = parse_fairs_csv(csv_of(good, row, good.replace("Good", "Also good")))
    assert [r.name for r in rows] == ["Good", "Also good"]
    assert [line for line, _ in errors] == [3]
    assert message in errors[0][1]


def test_every_problem_of_a_row_is_listed() -> None:
    _rows, errors = parse_fairs_csv(csv_of(",,,2027-13-01,nope,,x,ftp://y,"))
    assert {line for line, _ in errors} == {2}
    assert len(errors) == 7  # name, place, country, both dates, sector, link


def test_the_same_fair_twice_in_one_file() -> None:
    row = "TEI 2026,ICE BSD,Indonesia,2026-10-14,2026-10-18,,,,"
    rows, errors = parse_fairs_csv(csv_of(row, row.replace("TEI", "tei")))
    assert len(rows) == 1
    assert errors == [(3, "the same fair (name and start_date) as line 2")]


@pytest.mark.parametrize(
    "text",
    ["", "nama,tempat\nX,Y\n", "name,place,country\n", HEADER.replace("link", "url") + "\n"],
)
def test_a_wrong_header_is_one_error_on_line_1(text: str) -> None:
    rows, errors = parse_fairs_csv(text)
    assert rows == []
    assert len(errors) == 1 and errors[0][0] == 1
    assert HEADER in errors[0][1]


def test_header_only_is_no_fairs_and_no_errors() -> None:
    assert parse_fairs_csv(HEADER + "\n\n") == ([], [])


def test_links() -> None:
    assert valid_link("https://inacraft.co.id/register?x=1")
    assert valid_link("http://example.com")
    for bad in (
        "inacraft.co.id",
        "https://",
        "https://exa mple.com",
        "ftp://x.com",
        "https:" + "/" * 2 + "x" * 500,
    ):
        assert not valid_link(bad), bad


async def test_import_upcoming_and_sector_filter(sessionmaker, clock: FakeClock) -> None:
    rows = [
        fair("Later, for food", date(2027, 3, 9), date(2027, 3, 12), ("food",)),
        fair("Over already", date(2026, 11, 1), date(2026, 11, 24)),
        fair("Ends today", date(2026, 11, 20), TODAY),
        fair("Crafts only", date(2027, 4, 21), date(2027, 4, 25), ("handicraft", "fashion")),
        fair("Every sector", date(2026, 12, 1), date(2026, 12, 3)),
    ]
    async with sessionmaker() as session, session.begin():
        stored = await import_fairs(session, rows=rows, created_by=None, now=clock.now)
        assert all(f.id for f in stored)
    async with sessionmaker() as session:
        everything = await upcoming_fairs(session, today=TODAY)
        food = await upcoming_fairs(session, today=TODAY, sector="food")
        craft = await upcoming_fairs(session, today=TODAY, sector="handicraft")
        listed = await list_fairs(session)
        one = await get_fair(session, fair_id=stored[3].id)
    assert [f.name for f in everything] == [
        "Ends today", "Every sector", "Later, for food", "Crafts only",
    ]  # fmt: skip
    assert [f.name for f in food] == ["Ends today", "Every sector", "Later, for food"]
    assert [f.name for f in craft] == ["Ends today", "Every sector", "Crafts only"]
    assert len(listed) == 5 and listed[0].name == "Over already"
    assert one is not None and one.sectors == ["handicraft", "fashion"]


async def test_find_stored_matches_name_ignoring_case_and_start_date(sessionmaker, clock) -> None:
    tei = fair("TEI 2026", date(2026, 10, 14), date(2026, 10, 18))
    async with sessionmaker() as session, session.begin():
        await import_fairs(session, rows=[tei], created_by=None, now=clock.now)
    again = fair("tei 2026", date(2026, 10, 14), date(2026, 10, 19))
    next_year = fair("TEI 2026", date(2027, 10, 14), date(2027, 10, 18))
    async with sessionmaker() as session:
        found = await find_stored(session, rows=[again, next_year])
    assert [(row.name, stored.name) for row, stored in found] == [("tei 2026", "TEI 2026")]


async def test_interest_is_recorded_once_and_listed_with_the_business(
    sessionmaker, clock: FakeClock
) -> None:
    async with sessionmaker() as session, session.begin():
        (tei,) = await import_fairs(
            session,
            rows=[fair("TEI", date(2026, 12, 1), date(2026, 12, 3))],
            created_by=None,
            now=clock.now,
        )
        user, business = await producer(session, now=clock.now)
        loner = User(channel="test", external_id="lone", display_name="Tanpa Usaha")
        session.add(loner)
        await session.flush()
        assert await add_interest(session, fair_id=tei.id, user_id=user.id, now=clock.now)
        assert not await add_interest(session, fair_id=tei.id, user_id=user.id, now=clock.now)
        clock.advance(minutes=1)
        assert await add_interest(session, fair_id=tei.id, user_id=loner.id, now=clock.now)
        fair_id, user_id, business_id = tei.id, user.id, business.id
    async with sessionmaker() as session:
        people = await interested_users(session, fair_id=fair_id)
        count = await session.scalar(select(func.count()).select_from(FairInterest))
    assert count == 2
    assert [(u.id, b.id if b else None) for u, b in people] == [
        (user_id, business_id),
        (people[1][0].id, None),
    ]
    assert people[1][0].display_name == "Tanpa Usaha"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2027-04-21", date(2027, 4, 21)),
        ("21/04/2027", date(2027, 4, 21)),
        ("21-04-2027", date(2027, 4, 21)),
        ("21.04.2027", date(2027, 4, 21)),
        ("1/3/2027", date(2027, 3, 1)),
        (" 2027-4-1 ", date(2027, 4, 1)),
        ("29/02/2028", date(2028, 2, 29)),
        ("2027/04/21", date(2027, 4, 21)),
    ],
)
def test_fair_dates_as_spreadsheets_write_them(text: str, expected: date) -> None:
    assert parse_fair_date(text) == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("04/21/2027", "not a real date"),  # month first is not how Indonesia writes it
        ("29/02/2027", "not a real date"),
        ("21/04/27", "not a date like"),
        ("21 April 2027", "not a date like"),
        ("", "not a date like"),
    ],
)
def test_fair_dates_refused(text: str, problem: str) -> None:
    result = parse_fair_date(text)
    assert isinstance(result, str) and problem in result


async def _fair_with_fans(sessionmaker, clock: FakeClock) -> tuple[int, list[int]]:
    async with sessionmaker() as session, session.begin():
        stored = await import_fairs(
            session,
            rows=[fair("INACRAFT", date(2027, 4, 21), date(2027, 4, 25), ("handicraft",))],
            created_by=None,
            now=clock.now,
        )
        fans = []
        for n in range(3):
            user, _business = await producer(session, now=clock.now)
            if n < 2:
                await add_interest(session, fair_id=stored[0].id, user_id=user.id, now=clock.now)
                fans.append(user.id)
        return stored[0].id, fans


async def test_edit_tells_the_interested_when_dates_or_place_change(sessionmaker, clock) -> None:
    fair_id, fans = await _fair_with_fans(sessionmaker, clock)
    async with sessionmaker() as session, session.begin():
        change = await edit_fair(
            session,
            fair_id=fair_id,
            changes={"start_date": "28/04/2027", "end_date": "2027-05-02"},
            now=clock.now,
            notice_kind=FAIR_CHANGED,
        )
        assert isinstance(change, FairChange)
        assert change.changed == ("start_date", "end_date")
        assert sorted(u.id for u in change.told) == fans
    async with sessionmaker() as session:
        stored = await session.get(Fair, fair_id)
        assert stored is not None and stored.start_date == date(2027, 4, 28)
        notes = list(await session.scalars(select(Notification).order_by(Notification.user_id)))
        assert [(n.kind, n.user_id, n.subject_id) for n in notes] == [
            ("fair_changed", fans[0], fair_id),
            ("fair_changed", fans[1], fair_id),
        ]
        assert notes[0].payload == {
            "before": {
                "name": "INACRAFT", "place": "JIExpo", "country": "Indonesia",
                "start_date": "2027-04-21", "end_date": "2027-04-25",
                "registration_deadline": None,
            },
            "after": {
                "name": "INACRAFT", "place": "JIExpo", "country": "Indonesia",
                "start_date": "2027-04-28", "end_date": "2027-05-02",
                "registration_deadline": None,
            },
        }  # fmt: skip
    clock.advance(minutes=1)
    async with sessionmaker() as session, session.begin():
        quiet = await edit_fair(
            session,
            fair_id=fair_id,
            changes={"description": "Kriya"},
            now=clock.now,
            notice_kind=FAIR_CHANGED,
        )
        assert isinstance(quiet, FairChange) and quiet.changed == ("description",)
        assert quiet.told == ()
        moved = await edit_fair(
            session,
            fair_id=fair_id,
            changes={"place": "JCC"},
            now=clock.now,
            notice_kind=FAIR_CHANGED,
        )
        assert isinstance(moved, FairChange) and len(moved.told) == 2
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Notification)) == 4


async def test_an_edit_that_breaks_a_rule_changes_nothing(sessionmaker, clock) -> None:
    fair_id, _fans = await _fair_with_fans(sessionmaker, clock)
    async with sessionmaker() as session, session.begin():
        await import_fairs(
            session,
            rows=[fair("TEI", date(2027, 10, 14), date(2027, 10, 18))],
            created_by=None,
            now=clock.now,
        )
        problems = await edit_fair(
            session,
            fair_id=fair_id,
            changes={"end_date": "20/04/2027"},
            now=clock.now,
            notice_kind=FAIR_CHANGED,
        )
        assert problems == ["end_date 2027-04-20 is before start_date 2027-04-21"]
        clash = await edit_fair(
            session,
            fair_id=fair_id,
            changes={"name": "tei", "start_date": "2027-10-14", "end_date": "2027-10-18"},
            now=clock.now,
            notice_kind=FAIR_CHANGED,
        )
        assert isinstance(clash, list) and "same name and start_date" in clash[0]
        assert await edit_fair(
            session,
            fair_id=fair_id,
            changes={"colour": "x"},
            now=clock.now,
            notice_kind=FAIR_CHANGED,
        )
        assert (
            await edit_fair(
                session, fair_id=999, changes={"name": "x"}, now=clock.now, notice_kind=FAIR_CHANGED
            )
            is None
        )
    async with sessionmaker() as session:
        stored = await session.get(Fair, fair_id)
        assert stored is not None and stored.end_date == date(2027, 4, 25)
        assert stored.name == "INACRAFT"
        assert await session.scalar(select(func.count()).select_from(Notification)) == 0


async def test_delete_tells_the_interested_and_forgets_the_fair(sessionmaker, clock) -> None:
    fair_id, fans = await _fair_with_fans(sessionmaker, clock)
    async with sessionmaker() as session, session.begin():
        change = await delete_fair(
            session, fair_id=fair_id, now=clock.now, notice_kind=FAIR_CANCELLED
        )
        assert change is not None and change.after is None
        assert sorted(u.id for u in change.told) == fans
    async with sessionmaker() as session, session.begin():
        assert await session.get(Fair, fair_id) is None
        assert await session.scalar(select(func.count()).select_from(FairInterest)) == 0
        notes = list(await session.scalars(select(Notification)))
        assert {n.kind for n in notes} == {"fair_cancelled"} and len(notes) == 2
        assert notes[0].payload is not None
        assert notes[0].payload["before"]["name"] == "INACRAFT"
        assert (
            await delete_fair(session, fair_id=fair_id, now=clock.now, notice_kind=FAIR_CANCELLED)
            is None
        )


async def test_interest_can_be_withdrawn(sessionmaker, clock) -> None:
    fair_id, fans = await _fair_with_fans(sessionmaker, clock)
    async with sessionmaker() as session, session.begin():
        assert await remove_interest(session, fair_id=fair_id, user_id=fans[0]) is True
        assert await remove_interest(session, fair_id=fair_id, user_id=fans[0]) is False
        assert [u.id for u, _b in await interested_users(session, fair_id=fair_id)] == fans[1:]
        assert await add_interest(session, fair_id=fair_id, user_id=fans[0], now=clock.now)
