"""`kurasi requirements import` and `list` on a throwaway SQLite database: all or nothing,
line-numbered errors, and the shipped table until a file is imported."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import cli
from db.requirements import CSV_HEADER

HEADER = ",".join(CSV_HEADER)
JP = "JP,food,import_notification,importer,Import notice,Notifikasi impor,https://www.mhlw.go.jp"
US = "US,food,fda_facility,manual,FDA registration,Registrasi FDA,https://www.fda.gov"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'[database]\nurl = "sqlite+aiosqlite:///{tmp_path / "cli.db"}"\n')
    return path


def run(config: Path, *args: str):
    return CliRunner().invoke(cli, ["requirements", *args, "--config", str(config)])


def csv_file(tmp_path: Path, *rows: str) -> Path:
    path = tmp_path / "requirements.csv"
    path.write_text("\ufeff" + "\n".join((HEADER, *rows)) + "\n", encoding="utf-8")
    return path


def test_shipped_table_until_an_import_replaces_it(tmp_path: Path, config: Path) -> None:
    shipped = run(config, "list")
    assert shipped.exit_code == 0, shipped.output
    assert len(shipped.stdout.splitlines()) > 30 and "GACC" in shipped.stdout
    result = run(config, "import", str(csv_file(tmp_path, JP, US)))
    assert result.exit_code == 0, result.output
    assert "imported 2 requirements" in result.stdout
    listed = run(config, "list").stdout.strip().splitlines()
    assert [line.split("\t")[:3] for line in listed] == [
        ["JP", "food", "import_notification"],
        ["US", "food", "fda_facility"],
    ]


def test_a_bad_row_imports_nothing_and_names_its_line(tmp_path: Path, config: Path) -> None:
    bad = csv_file(
        tmp_path, JP, "JP,food,x,manual,X,X,not-a-link", "Narnia,food,y,manual,Y,Y,https://a.b"
    )
    result = run(config, "import", str(bad))
    assert result.exit_code == 1
    assert "line 3: source must be an http:// or https:// address" in result.stderr
    assert "line 4: destination must be one of" in result.stderr
    assert "nothing imported" in result.stderr
    assert "GACC" in run(config, "list").stdout  # still the shipped table


def test_not_utf8_is_refused(tmp_path: Path, config: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes((HEADER + "\nJP,food,a,manual,Catégorie,é,https://x.y\n").encode("latin-1"))
    result = run(config, "import", str(path))
    assert result.exit_code == 1 and "not UTF-8" in result.stderr
