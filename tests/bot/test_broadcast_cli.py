"""`kurasi broadcast ...` on a throwaway SQLite database."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from bot.cli import cli
from db.base import utcnow
from db.engine import make_engine, make_sessionmaker
from db.models import AuditEvent, Business, User


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"


@pytest.fixture
def config(tmp_path: Path, db_url: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'[database]\nurl = "{db_url}"\n[media]\ndir = "{tmp_path / "media"}"\n')
    return path


def run(config: Path, *args: str):
    return CliRunner().invoke(cli, ["broadcast", *args, "--config", str(config)])


def seed(url: str) -> None:
    async def go() -> None:
        engine = make_engine(url)
        now = utcnow()
        async with make_sessionmaker(engine)() as session, session.begin():
            for i, (sector, region) in enumerate(
                [("food", "35.73"), ("food", "35.07"), ("fashion", "35.73")]
            ):
                user = User(
                    channel="telegram",
                    external_id=str(100 + i),
                    consented_at=now,
                    reminder_optouts=[],
                )
                session.add(user)
                await session.flush()
                session.add(
                    Business(owner_id=user.id, sector=sector, region_code=region, registered_at=now)
                )
        await engine.dispose()

    asyncio.run(go())


def audit(url: str) -> list[str]:
    async def go() -> list[str]:
        engine = make_engine(url)
        async with make_sessionmaker(engine)() as session:
            rows = list(await session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
        await engine.dispose()
        return rows

    return asyncio.run(go())


def test_send_dry_run_list_and_steer(tmp_path: Path, config: Path, db_url: str) -> None:
    assert run(config, "list").stdout.strip() == "no broadcasts yet"  # also migrates
    seed(db_url)
    text = tmp_path / "pesan.txt"
    text.write_text("Pelatihan <b>ekspor</b> di Malang\n", encoding="utf-8")

    dry = run(config, "send", "--text-file", str(text), "--sector", "food", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert dry.stdout.strip() == "2 recipients (dry run: nothing queued)"
    dry = run(
        config, "send", "--text-file", str(text), "--sector", "food", "--regency", "Kota Malang",
        "--dry-run",
    )  # fmt: skip
    assert dry.stdout.startswith("1 recipients")
    bad = run(config, "send", "--text-file", str(text), "--sector", "kue", "--status", "done")
    assert bad.exit_code == 2
    assert "unknown sector 'kue'" in bad.output and "unknown status 'done'" in bad.output

    sent = run(
        config, "send", "--text-file", str(text), "--sector", "food", "--html",
        "--at", "2030-01-02 09:00",
    )  # fmt: skip
    assert sent.exit_code == 0, sent.output
    assert "broadcast 1 queued for 2 recipients, starting at 2030-01-02 09:00 WIB" in sent.stdout
    listed = run(config, "list").stdout.strip().split("\t")
    assert listed[:2] == ["1", "scheduled"]
    assert "2030-01-02 09:00 WIB" in listed  # the configured zone's time, the zone named
    assert listed[-1] == "Pelatihan ekspor di Malang"  # as producers read it, no tags

    assert run(config, "pause", "1").stdout.strip() == "broadcast 1: paused"
    again = run(config, "pause", "1")
    assert again.exit_code == 1 and "cannot pause" in again.output
    assert run(config, "resume", "1").stdout.strip() == "broadcast 1: scheduled"
    assert run(config, "cancel", "1").stdout.strip() == "broadcast 1: cancelled"
    shown = run(config, "show", "1")
    assert shown.exit_code == 0 and "Broadcast #1: stopped" in shown.stdout
    assert run(config, "show", "9").exit_code == 1
    assert audit(db_url) == [
        "broadcast_scheduled",
        "broadcast_pause",
        "broadcast_resume",
        "broadcast_cancel",
    ]


def test_unknown_languages_and_channels_are_refused_with_the_known_ones(
    tmp_path: Path, config: Path, db_url: str
) -> None:
    run(config, "list")  # migrates
    seed(db_url)
    text = tmp_path / "pesan.txt"
    text.write_text("Pelatihan ekspor\n", encoding="utf-8")
    bad = run(config, "send", "--text-file", str(text), "--channel", "sms", "--language", "jv")
    assert bad.exit_code == 2
    assert "unknown channel 'sms'; channels: telegram, whatsapp" in bad.output
    assert "unknown language 'jv'; languages: id, en" in bad.output
    assert "queued" not in bad.output
    good = run(config, "send", "--text-file", str(text), "--channel", "telegram", "--dry-run")
    assert good.exit_code == 0 and good.stdout.startswith("3 recipients")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("<b>Pameran</b> baru <i>gratis", "<i> is never closed"),
        ("Harga < 10.000", "write &lt;"),
        ("Daftar di <a href='javascript:alert(1)'>sini</a>", "http://"),
        ("Baris satu<br>baris dua", "<br>"),
        ("<b><i>tebal miring</b></i>", "cross"),
    ],
)
def test_send_refuses_html_telegram_would_refuse_and_queues_nothing(
    tmp_path: Path, config: Path, db_url: str, text: str, reason: str
) -> None:
    assert run(config, "list").stdout.strip() == "no broadcasts yet"  # also migrates
    seed(db_url)
    message = tmp_path / "message.html"
    message.write_text(text, encoding="utf-8")
    result = run(config, "send", "--text-file", str(message), "--html")
    assert result.exit_code == 2
    assert reason in result.output
    assert run(config, "list").stdout.strip() == "no broadcasts yet"  # nothing queued
    good = tmp_path / "good.html"
    good.write_text("<b>Pameran</b> baru &amp; <a href='https://kurasi.id'>daftar</a>", "utf-8")
    assert run(config, "send", "--text-file", str(good), "--html").exit_code == 0
