"""HS headings suggested from the shipped table; export readiness per destination from the
shipped requirements, and the requirements CSV checked line by line."""

from __future__ import annotations

from bot.i18n import translator
from db.requirements import CSV_HEADER, DESTINATIONS, checklist, parse, score, shipped
from handlers.rules import hs
from handlers.rules.readiness import checklist_text


def test_headings_suggested_from_sector_and_name() -> None:
    assert [h.code for h in hs.suggest("food", "Kopi Robusta Dampit")] == ["0901"]
    assert hs.suggest("furniture", "Meja makan jati")[0].code == "9403"
    assert hs.suggest("handicraft", "Keranjang rotan")[0].code == "4602"
    assert hs.suggest("spa", "Minyak atsiri nilam")[0].code == "3301"
    assert hs.suggest("spa", "Sabun mandi herbal")[0].code == "3401"
    assert hs.suggest("food", "Something unusual") == []  # no guess rather than a wrong one
    assert hs.valid_code("0901") and hs.valid_code("0901.21") and not hs.valid_code("09O1")


def test_every_destination_has_requirements_with_a_public_source() -> None:
    rows = shipped()
    for destination in DESTINATIONS:
        assert any(r.destination == destination for r in rows), destination
    assert all(r.source.startswith("https://") for r in rows)


def test_checklist_against_what_the_producer_holds() -> None:
    rows = shipped()
    held = frozenset({"nib", "pirt", "halal"})
    checks = checklist(rows, "MY", "food", held)
    assert {c.requirement.requirement for c in checks if c.met} >= {"halal", "food_permit", "nib"}
    assert not next(c for c in checks if c.requirement.requirement == "hs_code").met
    met, known = score(checklist(rows, "MY", "food", held | {"hs", "english"}))
    assert met == known
    without_halal = score(checklist(rows, "SA", "food", frozenset({"nib"})))
    assert without_halal[0] < without_halal[1]
    wood = checklist(rows, "EU", "furniture", frozenset())
    assert any(c.requirement.met_by == "svlk" and c.met is False for c in wood)


def test_checklist_in_the_producers_language() -> None:
    rows, held = shipped(), frozenset({"pirt"})
    assert "Jepang" in checklist_text(translator("id"), "id", rows, "JP", "food", held)
    assert "✅ Izin pangan" in checklist_text(translator("id"), "id", rows, "JP", "food", held)
    english = checklist_text(translator("en"), "en", rows, "JP", "food", held)
    assert "Japan" in english and "✅ Home-country food registration" in english


def test_requirements_csv_errors_are_line_numbered() -> None:
    header = ",".join(CSV_HEADER)
    good = "JP,food,import_notification,importer,Notice,Notifikasi,https://www.mhlw.go.jp"
    rows, errors = parse("\ufeff" + "\n".join((header, good)))
    assert len(rows) == 1 and errors == []
    bad = "\n".join(
        (
            header,
            good,
            "XX,food,a,manual,A,A,https://example.org",
            "JP,toys,b,manual,B,B,https://example.org",
            "JP,food,c,magic,C,C,ftp://example.org",
            good,
            "JP,food",
        )
    )
    rows, errors = parse(bad)
    lines = sorted({line for line, _ in errors})
    assert lines == [3, 4, 5, 6, 7]
    messages = dict(errors)
    assert "destination" in messages[3] and "sector" in messages[4]
    assert "same requirement as line 2" in messages[6] and "columns" in messages[7]
    assert parse("name,place\n")[1][0][0] == 1
