"""`kurasi curator add|remove|list` on a throwaway SQLite database with two review chats."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from bot.cli import cli
from db.engine import make_engine, make_sessionmaker
from db.migrate import upgrade
from db.users import upsert_user

CHATS = (-1001111, -1002222)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    chats = "".join(f"\n[[review.chats]]\nchat_id = {c}\n" for c in CHATS)
    path.write_text(f'[database]\nurl = "sqlite+aiosqlite:///{tmp_path / "cli.db"}"\n{chats}')
    return path


def run(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["curator", *args, "--config", str(config)])


def talked_to_the_bot(tmp_path: Path, *people: tuple[str, str, str | None]) -> None:
    """Users as the bot records them when they write: (Telegram id, name, username)."""

    async def go() -> None:
        engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
        await upgrade(engine)
        async with make_sessionmaker(engine)() as session, session.begin():
            for external_id, name, username in people:
                await upsert_user(
                    session,
                    channel="telegram",
                    external_id=external_id,
                    display_name=name,
                    username=username,
                    now=datetime.now(UTC),
                )
        await engine.dispose()

    asyncio.run(go())


def test_add_by_id_then_list_shows_names(tmp_path: Path, config: Path) -> None:
    talked_to_the_bot(tmp_path, ("5001", "Siti Aminah", "siti_kurator"))
    added = run(config, "add", "5001")
    assert added.exit_code == 0, added.output
    assert (
        added.stdout == "5001 (Siti Aminah, @siti_kurator) is now a curator in every review chat\n"
    )
    assert run(config, "add", "7007", "--chat", "-1002222").exit_code == 0  # never wrote yet
    listed = run(config, "list")
    assert listed.stdout.splitlines() == [
        "5001\tSiti Aminah\t@siti_kurator\tevery review chat",
        "7007\t-\t-\t-1002222",
    ]


def test_add_by_username(tmp_path: Path, config: Path) -> None:
    talked_to_the_bot(tmp_path, ("5001", "Siti Aminah", "Siti_Kurator"), ("5002", "Budi", None))
    added = run(config, "add", "@siti_kurator", "--chat", str(CHATS[0]))
    assert added.exit_code == 0, added.output
    assert "5001 (Siti Aminah, @Siti_Kurator) is now a curator in review chat -1001111" in (
        added.stdout
    )
    again = run(config, "add", "@SITI_KURATOR", "--chat", str(CHATS[0]))
    assert "was already a curator" in again.stdout
    assert run(config, "list").stdout.startswith("5001\tSiti Aminah\t@Siti_Kurator\t-1001111")
    removed = run(config, "remove", "@siti_kurator")
    assert removed.exit_code == 0 and "removed" in removed.stdout
    assert run(config, "list").stdout == "no curators yet\n"


def test_an_unknown_username_is_refused_with_what_to_do(tmp_path: Path, config: Path) -> None:
    talked_to_the_bot(tmp_path, ("5001", "Siti Aminah", "siti_kurator"))
    result = run(config, "add", "@nobody_here")
    assert result.exit_code == 1
    assert "nobody called @nobody_here has written to the bot" in result.stderr
    assert "/start" in result.stderr
    assert run(config, "list").stdout == "no curators yet\n"


def test_a_chat_that_is_not_a_review_chat_is_refused(tmp_path: Path, config: Path) -> None:
    result = run(config, "add", "5001", "--chat", "-1009999")
    assert result.exit_code == 2
    assert "-1009999 is not a configured review chat" in result.stderr
    assert "configured: -1001111, -1002222" in result.stderr
    assert run(config, "list").stdout == "no curators yet\n"


def test_no_review_chats_configured(tmp_path: Path) -> None:
    bare = tmp_path / "bare.toml"
    bare.write_text(f'[database]\nurl = "sqlite+aiosqlite:///{tmp_path / "bare.db"}"\n')
    result = run(bare, "add", "5001", "--chat", "-1001111")
    assert result.exit_code == 2
    assert "none (add [[review.chats]] to the config)" in result.stderr


@pytest.mark.parametrize("who", ["siti", "12a", "@", "@siti kurator", "-5"])
def test_neither_an_id_nor_a_username(config: Path, who: str) -> None:
    result = run(config, "add", "--", who) if who.startswith("-") else run(config, "add", who)
    assert result.exit_code == 2


def test_a_username_is_no_pattern(tmp_path: Path, config: Path) -> None:
    talked_to_the_bot(tmp_path, ("5003", "Ax", "axb"))
    added = run(config, "add", "@a_b")
    assert added.exit_code == 1 and "nobody called @a_b" in added.output
    assert run(config, "list").stdout == "no curators yet\n"
