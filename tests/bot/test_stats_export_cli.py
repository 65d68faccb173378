"""`kurasi stats`, `kurasi export` and `kurasi export catalogue` on a throwaway SQLite file."""

from __future__ import annotations

import asyncio
import csv
import json
from pathlib import Path

import jsonschema
import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from typer.testing import CliRunner

from bot.cli import cli
from db.engine import make_engine, make_sessionmaker
from db.media_store import MediaStore
from db.migrate import upgrade
from db.models import AuditEvent
from tests.world import build_world


@pytest.fixture
def config(tmp_path: Path) -> Path:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"

    async def fill() -> None:
        engine = make_engine(url)
        await upgrade(engine)
        await build_world(make_sessionmaker(engine), MediaStore(tmp_path / "media"))
        await engine.dispose()

    asyncio.run(fill())
    path = tmp_path / "config.toml"
    path.write_text(
        f'[database]\nurl = "{url}"\n[media]\ndir = "{tmp_path / "media"}"\n', encoding="utf-8"
    )
    return path


def run(config: Path, *args: str):
    return CliRunner().invoke(cli, [*args, "--config", str(config)])


def test_stats_text_and_json(config: Path) -> None:
    result = run(config, "stats")
    assert result.exit_code == 0, result.output
    assert "7 producers registered; 5 products submitted." in result.output
    result = run(config, "stats", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["totals"] == {"producers": 7, "products": 5}
    assert data["statuses"]["approved"] == 2
    assert run(config, "stats", "--format", "yaml").exit_code == 2


@pytest.mark.parametrize("what", ["businesses", "products", "reviews"])
def test_export_csv_and_xlsx_hold_the_same_rows(config: Path, tmp_path: Path, what: str) -> None:
    out_csv, out_xlsx = tmp_path / f"{what}.csv", tmp_path / f"{what}.xlsx"
    # The format comes from the file name.
    result = run(config, "export", "--what", what, "--raw", "--out", str(out_csv))
    assert result.exit_code == 0, result.output
    result = run(config, "export", "--what", what, "--raw", "--out", str(out_xlsx))
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(out_csv.open(encoding="utf-8-sig", newline="")))
    width = len(rows[0])

    def text(v: object) -> str:
        if v is None:
            return ""
        if hasattr(v, "strftime"):
            return v.strftime("%Y-%m-%d %H:%M")  # the CSV's local time
        return str(v)

    sheet = load_workbook(out_xlsx, read_only=True).active
    cells = [
        ([text(v) for v in row] + [""] * width)[:width] for row in sheet.iter_rows(values_only=True)
    ]
    assert cells == rows
    assert len(rows) == 1 + {"businesses": 8, "products": 6, "reviews": 6}[what]
    assert "+6281234567890" not in out_csv.read_text(encoding="utf-8-sig")


def test_export_with_personal_data_is_audited_with_the_os_user(
    config: Path, tmp_path: Path
) -> None:
    import getpass

    out = tmp_path / "b.csv"
    args = ("export", "--what", "businesses", "--out", str(out), "--phones", "--sector", "food")
    result = run(config, *args)
    assert result.exit_code == 0, result.output
    assert "+6281234567890" in out.read_text(encoding="utf-8-sig")

    url = config.read_text().split('"')[1]

    async def audited() -> list[str | None]:
        engine = make_engine(url)
        async with make_sessionmaker(engine)() as session:
            found = list(
                await session.scalars(
                    select(AuditEvent.reason_text).where(AuditEvent.action == "export_phones")
                )
            )
        await engine.dispose()
        return found

    assert asyncio.run(audited()) == [f"cli user {getpass.getuser()}; businesses; sector=food"]


def test_bad_export_arguments(config: Path, tmp_path: Path) -> None:
    assert run(config, "export", "--what", "fairs", "--out", str(tmp_path / "x")).exit_code == 2
    result = run(config, "export", "--what", "products", "--phones", "--out", str(tmp_path / "x"))
    assert result.exit_code == 2
    # A CSV asked into a .xlsx file (or no format at all) is refused, and nothing is written.
    out = tmp_path / "products.xlsx"
    result = run(config, "export", "--what", "products", "--format", "csv", "--out", str(out))
    assert result.exit_code == 2 and "does not match" in result.output and not out.exists()
    result = run(config, "export", "--what", "products", "--out", str(tmp_path / "products"))
    assert result.exit_code == 2
    result = run(config, "export", "--what", "products", "--sector", "kayu", "--out", str(out))
    assert result.exit_code == 2 and "kayu" in result.output


def test_export_filters_and_semicolon(config: Path, tmp_path: Path) -> None:
    out = tmp_path / "p.csv"
    args = ("export", "--what", "products", "--out", str(out), "--semicolon", "--lang", "en")
    result = run(config, *args, "--sector", "fashion", "--since", "20/11/2026")
    assert result.exit_code == 0, result.output
    table = list(csv.DictReader(out.open(encoding="utf-8-sig", newline=""), delimiter=";"))
    assert [r["Name"] for r in table] == ["Tas Rotan"]  # P5: fashion, submitted 23 Nov
    assert table[0]["Submitted (WIB)"] == "23/11/2026 10:00"


def test_export_catalogue(config: Path, tmp_path: Path) -> None:
    out = tmp_path / "catalogue"
    result = run(config, "export", "catalogue", "--out", str(out))
    assert result.exit_code == 0, result.output
    doc = json.loads((out / "catalogue.json").read_text(encoding="utf-8"))
    jsonschema.validate(doc, json.loads((out / "catalogue.schema.json").read_text()))
    assert sorted(p["name"] for p in doc["products"]) == ["Keripik Tempe", "Sambal Bawang"]
    for product in doc["products"]:
        assert product["photos"] and all((out / p).is_file() for p in product["photos"])


def test_stats_in_indonesian_with_charts(config: Path, tmp_path: Path) -> None:
    charts = tmp_path / "charts"
    result = run(config, "stats", "--lang", "id", "--charts", str(charts))
    assert result.exit_code == 0, result.output
    assert "7 produsen terdaftar" in result.output
    # Month names in the reader's language, the day in WIB.
    assert "• 09 Nov:" in result.output and "Sept" not in result.output
    assert "25/11/2026" in result.output or "Statistik" in result.output
    names = sorted(p.name for p in charts.iterdir())
    assert names == ["clusters.png", "decisions.png", "tiles.png"]
    for p in charts.iterdir():
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert run(config, "stats", "--lang", "fr").exit_code == 2


def test_export_inquiries_csv_and_xlsx(config: Path, tmp_path: Path) -> None:
    for fmt in ("csv", "xlsx"):
        out = tmp_path / f"inquiries.{fmt}"
        result = run(config, "export", "--what", "inquiries", "--format", fmt, "--out", str(out))
        assert result.exit_code == 0, result.output
        assert "0 inquiries rows" in result.output and out.is_file()
    header = next(csv.reader((tmp_path / "inquiries.csv").open(encoding="utf-8-sig")))
    assert header[:3] == ["inquiry_id", "created_at", "product_id"] and "email" in header
    assert load_workbook(tmp_path / "inquiries.xlsx").active is not None
    bad = run(config, "export", "--what", "inquiries", "--phones", "--out", str(tmp_path / "x"))
    assert bad.exit_code == 2
