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
    result = run(config, "export", "--what", what, "--format", "csv", "--out", str(out_csv))
    assert result.exit_code == 0, result.output
    result = run(config, "export", "--what", what, "--format", "xlsx", "--out", str(out_xlsx))
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(out_csv.open(encoding="utf-8-sig", newline="")))
    width = len(rows[0])
    sheet = load_workbook(out_xlsx, read_only=True).active
    cells = [
        (["" if v is None else str(v) for v in row] + [""] * width)[:width]
        for row in sheet.iter_rows(values_only=True)
    ]
    assert cells == rows
    assert len(rows) == 1 + {"businesses": 8, "products": 6, "reviews": 6}[what]
    assert "+6281234567890" not in out_csv.read_text(encoding="utf-8-sig")


def test_export_with_phones_is_audited(config: Path, tmp_path: Path) -> None:
    out = tmp_path / "b.csv"
    args = ("export", "--what", "businesses", "--format", "csv", "--out", str(out), "--phones")
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

    assert asyncio.run(audited()) == ["cli"]


def test_bad_export_arguments(config: Path, tmp_path: Path) -> None:
    assert run(config, "export", "--what", "fairs", "--out", str(tmp_path / "x")).exit_code == 2
    result = run(config, "export", "--what", "products", "--phones", "--out", str(tmp_path / "x"))
    assert result.exit_code == 2


def test_export_catalogue(config: Path, tmp_path: Path) -> None:
    out = tmp_path / "catalogue"
    result = run(config, "export", "catalogue", "--out", str(out))
    assert result.exit_code == 0, result.output
    doc = json.loads((out / "catalogue.json").read_text(encoding="utf-8"))
    jsonschema.validate(doc, json.loads((out / "catalogue.schema.json").read_text()))
    assert sorted(p["name"] for p in doc["products"]) == ["Keripik Tempe", "Sambal Bawang"]
    for product in doc["products"]:
        assert product["photos"] and all((out / p).is_file() for p in product["photos"])


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
