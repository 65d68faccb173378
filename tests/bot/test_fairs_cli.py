"""`kurasi fairs import` and `kurasi fairs list` on a throwaway SQLite database."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import cli
from db.fairs import FAIR_CSV_HEADER

HEADER = ",".join(FAIR_CSV_HEADER)
INACRAFT = (
    'INACRAFT 2027,"JCC Senayan, Jakarta",Indonesia,2027-04-21,2027-04-25,2027-03-01,'
    "handicraft;fashion,https://inacraft.co.id,Pameran kerajinan"
)
FOODEX = "FOODEX Japan 2027,Makuhari Messe,Japan,2027-03-09,2027-03-12,,food,,"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'[database]\nurl = "sqlite+aiosqlite:///{tmp_path / "cli.db"}"\n')
    return path


def run(config: Path, *args: str):
    return CliRunner().invoke(cli, ["fairs", *args, "--config", str(config)])


def csv_file(tmp_path: Path, *rows: str, name: str = "fairs.csv") -> Path:
    path = tmp_path / name
    path.write_text("\ufeff" + "\n".join((HEADER, *rows)) + "\n\n", encoding="utf-8")
    return path


def test_import_then_list(tmp_path: Path, config: Path) -> None:
    result = run(config, "import", str(csv_file(tmp_path, INACRAFT, FOODEX)))
    assert result.exit_code == 0, result.output
    assert "imported 2 fairs" in result.stdout
    listed = run(config, "list")
    assert listed.exit_code == 0, listed.output
    lines = listed.stdout.strip().splitlines()
    assert lines == [
        "2\t2027-03-09..2027-03-12\tFOODEX Japan 2027\tMakuhari Messe\tJapan\tfood",
        "1\t2027-04-21..2027-04-25\tINACRAFT 2027\tJCC Senayan, Jakarta\tIndonesia\t"
        "fashion;handicraft",
    ]


def test_one_bad_row_imports_nothing(tmp_path: Path, config: Path) -> None:
    bad = "Pameran Kuliner,Grand City,Indonesia,2027-05-10,2027-05-08,,makanan,,"
    result = run(config, "import", str(csv_file(tmp_path, INACRAFT, bad, FOODEX)))
    assert result.exit_code == 1
    assert "line 3: end_date 2027-05-08 is before start_date 2027-05-10" in result.stderr
    assert "line 3: unknown sector 'makanan'" in result.stderr
    assert "line 2" not in result.stderr and "line 4" not in result.stderr
    assert "nothing imported" in result.stderr
    assert "no fairs yet" in run(config, "list").stdout


def test_a_wrong_header_is_line_1(tmp_path: Path, config: Path) -> None:
    path = tmp_path / "fairs.csv"
    path.write_text("nama,tempat,negara\n" + FOODEX + "\n", encoding="utf-8")
    result = run(config, "import", str(path))
    assert result.exit_code == 1
    assert result.stderr.startswith("line 1: the header must be exactly: " + HEADER)


def test_importing_the_same_file_again_is_refused(tmp_path: Path, config: Path) -> None:
    path = csv_file(tmp_path, INACRAFT, FOODEX)
    assert run(config, "import", str(path)).exit_code == 0
    again = run(config, "import", str(csv_file(tmp_path, FOODEX, name="more.csv")))
    assert again.exit_code == 1
    assert "line 2: already stored as fair 2" in again.stderr
    assert len(run(config, "list").stdout.strip().splitlines()) == 2


def test_a_file_that_is_not_utf8(tmp_path: Path, config: Path) -> None:
    path = tmp_path / "fairs.csv"
    path.write_bytes(
        (HEADER + "\nPameran Kriya,Gedung Grahadi,Indonésia,2027-05-10,2027-05-12,,,,\n").encode(
            "cp1252"
        )
    )
    result = run(config, "import", str(path))
    assert result.exit_code == 1 and "UTF-8" in result.stderr
