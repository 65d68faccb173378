"""Config: TOML plus environment overrides; one clear line per problem; no secret echoed."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import cli
from bot.config import ConfigError, load_settings

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(body, encoding="utf-8")
    return path


def test_defaults_need_no_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    assert settings.database.url.startswith("sqlite+aiosqlite:///")
    assert settings.telegram.token is None
    assert settings.telegram.api_base == "https://api.telegram.org"
    assert settings.scheduler.timezone == "Asia/Jakarta"


def test_example_config_loads() -> None:
    settings = load_settings(Path(__file__).parents[2] / "config.example.toml")
    assert settings.telegram.mode == "polling" and settings.telegram.token is None


def test_environment_overrides_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = write(tmp_path, '[telegram]\nmode = "webhook"\nadmin_ids = [1, 2]\n')
    monkeypatch.setenv("KURASI_TELEGRAM__TOKEN", TOKEN)
    monkeypatch.setenv("KURASI_HTTP__PORT", "9090")
    settings = load_settings(path)
    assert settings.telegram.token.get_secret_value() == TOKEN
    assert settings.telegram.mode == "webhook" and settings.telegram.admin_ids == [1, 2]
    assert settings.http.port == 9090
    assert TOKEN not in repr(settings)


def test_config_path_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = write(tmp_path, '[database]\nurl = "sqlite+aiosqlite:///other.db"\n')
    monkeypatch.setenv("KURASI_CONFIG", str(path))
    assert load_settings().database.url.endswith("other.db")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('[telegram]\nmode = "push"\n', "telegram.mode"),
        ("[http]\nport = 99999\n", "http.port"),
        ('[http]\nport = "eighty"\n', "http.port"),
        ('[scheduler]\ntimezone = "Mars/Olympus"\n', "scheduler.timezone"),
        ('[database]\nurl = "mysql://x"\n', "database.url"),
        ("[telegram]\ntokn = 'x'\n", "telegram.tokn: unknown key"),
        ('[telegram]\ntoken = "no-colon-here"\n', "telegram.token"),
        ("[telegram\nmode=1", "not valid TOML"),
    ],
)
def test_bad_config_names_the_key(tmp_path: Path, body: str, expected: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(write(tmp_path, body))
    message = str(err.value)
    assert expected in message
    assert "\n" not in message
    assert "no-colon-here" not in message  # a malformed token is not echoed


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "nope.toml")


def test_cli_reports_config_errors_in_one_line(tmp_path: Path) -> None:
    path = write(tmp_path, '[telegram]\nmode = "push"\n')
    result = CliRunner().invoke(cli, ["db", "upgrade", "--config", str(path)])
    assert result.exit_code == 2
    assert "config error" in result.output and "telegram.mode" in result.output


def test_cli_db_upgrade(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    path = write(tmp_path, f'[database]\nurl = "{url}"\n')
    result = CliRunner().invoke(cli, ["db", "upgrade", "--config", str(path)])
    assert result.exit_code == 0, result.output
    assert "database at revision" in result.output
    assert (tmp_path / "cli.db").exists()


def test_review_and_reminder_settings(tmp_path: Path) -> None:
    body = """
[[review.chats]]
chat_id = -1001
sectors = ["food", "agribusiness"]
[[review.chats]]
chat_id = -1002
[review]
claim_timeout = "36h"
[reminders]
tick = "30s"
draft_idle = "2d"
quiet_hours = ""
weekly_digest = "fri 16:30"
"""
    settings = load_settings(write(tmp_path, body))
    assert settings.review_chats(console=False) == (
        ("-1001", ("food", "agribusiness")),
        ("-1002", ()),
    )
    assert settings.review.claim_timeout.total_seconds() == 36 * 3600
    schedule = settings.reminders.schedule()
    assert schedule.quiet_hours is None and schedule.weekly_digest_day == 4
    assert settings.reminders.tick.total_seconds() == 30
    assert settings.review_chats(console=True)[0][0] == "-1001"
    assert load_settings(None).review_chats(console=True) == (("review", ()),)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('[review]\nclaim_timeout = "two days"\n', "review.claim_timeout"),
        ('[[review.chats]]\nchat_id = 1\nsectors = ["bakery"]\n', "review.chats.0.sectors"),
        ('[reminders]\nquiet_hours = "21:00"\n', "reminders.quiet_hours"),
        ('[reminders]\nreview_digest_at = "8 pagi"\n', "reminders.review_digest_at"),
        ('[reminders]\nweekly_digest = "someday 08:00"\n', "reminders.weekly_digest"),
        ("[review.rubric]\nweights = { beauty = 2 }\n", "review.rubric.weights"),
    ],
)
def test_bad_review_and_reminder_settings(tmp_path: Path, body: str, expected: str) -> None:
    with pytest.raises(ConfigError, match=expected.replace(".", r"\.")):
        load_settings(write(tmp_path, body))
