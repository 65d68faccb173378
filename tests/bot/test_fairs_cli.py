"""`kurasi fairs import` and `kurasi fairs list` on a throwaway SQLite database."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import cli
from bot.notify import Notifier
from bot.runtime import Kurasi
from db.engine import make_engine, make_sessionmaker
from db.fairs import FAIR_CSV_HEADER, add_interest
from db.media_store import MediaStore
from handlers.kit.context import FlowSettings
from handlers.rules.schedule import ReminderSchedule
from tests.factories import producer
from tests.support import FakeClock, RecordingChannel

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


def test_import_reads_the_dates_an_indonesian_spreadsheet_writes(
    tmp_path: Path, config: Path
) -> None:
    rows = (
        INACRAFT.replace("2027-04-21,2027-04-25,2027-03-01", "21/04/2027,25-04-2027,1/3/2027"),
        FOODEX.replace("2027-03-09,2027-03-12", "09-03-2027,2027-03-12"),
    )
    result = run(config, "import", str(csv_file(tmp_path, *rows)))
    assert result.exit_code == 0, result.output
    lines = run(config, "list").stdout.strip().splitlines()
    assert [line.split("\t")[1] for line in lines] == [
        "2027-03-09..2027-03-12",
        "2027-04-21..2027-04-25",
    ]


def test_edit_checks_like_an_import(tmp_path: Path, config: Path) -> None:
    assert run(config, "import", str(csv_file(tmp_path, INACRAFT))).exit_code == 0
    moved = run(config, "edit", "1", "--start", "22/04/2027", "--end", "2027-04-26")
    assert moved.exit_code == 0, moved.output
    assert "fair 1 changed: start_date, end_date; told 0 interested producers" in moved.stdout
    assert "2027-04-22..2027-04-26" in run(config, "list").stdout
    bad = run(config, "edit", "1", "--end", "20-04-2027")
    assert bad.exit_code == 1
    assert "end_date 2027-04-20 is before start_date 2027-04-22" in bad.stderr
    assert "2027-04-22..2027-04-26" in run(config, "list").stdout
    not_a_date = run(config, "edit", "1", "--start", "April 22")
    assert not_a_date.exit_code == 1 and "21/04/2027" in not_a_date.stderr
    cleared = run(config, "edit", "1", "--sectors", "-", "--link", "-")
    assert cleared.exit_code == 0 and "all sectors" in run(config, "list").stdout
    assert run(config, "edit", "1", "--name", "INACRAFT 2027").stdout.endswith("nothing changed\n")
    assert run(config, "edit", "7", "--name", "X").exit_code == 1
    assert run(config, "edit", "1").exit_code == 2


def test_delete_asks_first(tmp_path: Path, config: Path) -> None:
    assert run(config, "import", str(csv_file(tmp_path, INACRAFT, FOODEX))).exit_code == 0
    kept = CliRunner().invoke(cli, ["fairs", "delete", "1", "--config", str(config)], input="n\n")
    assert kept.exit_code == 1 and "INACRAFT 2027" in kept.stdout
    assert len(run(config, "list").stdout.strip().splitlines()) == 2
    gone = CliRunner().invoke(cli, ["fairs", "delete", "1", "--config", str(config)], input="y\n")
    assert gone.exit_code == 0 and "fair 1 deleted; told 0" in gone.stdout
    assert "INACRAFT" not in run(config, "list").stdout
    assert run(config, "delete", "1", "--yes").exit_code == 1


def test_interested_producers_hear_of_a_change_and_a_cancellation(
    tmp_path: Path, config: Path
) -> None:
    """Through the CLI, the notifications table and the notifier, with a fake clock."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    assert run(config, "import", str(csv_file(tmp_path, INACRAFT, FOODEX))).exit_code == 0
    real_now = datetime.now(UTC)
    # 10:00 in Jakarta the next day: after the notices were queued, outside quiet hours.
    clock = FakeClock(datetime.combine(real_now.date() + timedelta(days=1), time(3), UTC))

    async def seed() -> None:
        engine = make_engine(url)
        async with make_sessionmaker(engine)() as session, session.begin():
            for external_id, language in (("p-id", "id"), ("p-en", "en"), ("p-not", "id")):
                user, _business = await producer(
                    session, external_id=external_id, language=language, now=real_now
                )
                if external_id != "p-not":
                    await add_interest(session, fair_id=1, user_id=user.id, now=real_now)
        await engine.dispose()

    async def deliver() -> RecordingChannel:
        engine = make_engine(url)
        app = Kurasi(
            sessionmaker=make_sessionmaker(engine),
            clock=clock,
            media_store=MediaStore(tmp_path / "media"),
            flow_settings=FlowSettings(),
        )
        channel = RecordingChannel(app)
        notify = Notifier(app, schedule=ReminderSchedule(), timezone="Asia/Jakarta")
        await notify.tick()
        await notify.tick()  # sent once only
        await engine.dispose()
        return channel

    asyncio.run(seed())
    moved = run(config, "edit", "1", "--start", "28/04/2027", "--end", "02/05/2027")
    assert moved.exit_code == 0, moved.output
    assert "told 2 interested producers" in moved.stdout
    described = run(config, "edit", "1", "--description", "Kriya")  # nobody needs telling
    assert "changed: description; told 0 interested producers" in described.stdout
    sent = asyncio.run(deliver()).sent
    by_chat = {chat: reply.text for chat, reply in sent}
    assert len(sent) == 2 and set(by_chat) == {"p-id", "p-en"}
    assert "berubah" in by_chat["p-id"] and "21–25 Apr 2027" in by_chat["p-id"]
    assert "28 Apr – 2 Mei 2027" in by_chat["p-id"]
    assert "has changed" in by_chat["p-en"] and "28 Apr – 2 May 2027" in by_chat["p-en"]

    gone = run(config, "delete", "1", "--yes")
    assert gone.exit_code == 0 and "told 2 interested producers" in gone.stdout
    sent = asyncio.run(deliver()).sent
    by_chat = {chat: reply.text for chat, reply in sent}
    assert len(sent) == 2
    assert "dibatalkan" in by_chat["p-id"] and "INACRAFT 2027" in by_chat["p-id"]
    assert "cancelled" in by_chat["p-en"] and "28 Apr – 2 May 2027" in by_chat["p-en"]


def test_the_readme_example_imports(tmp_path: Path, config: Path) -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    example = readme.split("```csv\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "readme.csv"
    path.write_text(example, encoding="utf-8")
    result = run(config, "import", str(path))
    assert result.exit_code == 0, result.output
    assert "2027-04-21..2027-04-25\tINACRAFT 2027" in run(config, "list").stdout
