"""Secrets never reach the logs, whichever logger writes them."""

from __future__ import annotations

import json
import logging

import pytest
import structlog

from bot.config import load_settings
from bot.logs import setup_logging

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"
SECRET = "webhook-secret-value-42"


@pytest.fixture(autouse=True)
def _restore_logging():
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.reset_defaults()


def test_known_secrets_and_token_shapes_are_masked(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging(level="DEBUG", secrets=[TOKEN, SECRET])
    structlog.get_logger("t").info("calling", url=f"https://api.telegram.org/bot{TOKEN}/getMe")
    logging.getLogger("aiogram").warning("secret %s in stdlib args", SECRET)
    other = "987654321:ZZHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw9"  # not configured, same shape
    logging.getLogger("x").error("unknown token %s", other)
    try:
        raise RuntimeError(f"failed with {TOKEN}")
    except RuntimeError:
        logging.getLogger("x").exception("boom")
    err = capsys.readouterr().err
    # Each event rendered as a log line of its own (not inside a "Logging error" dump).
    assert "Logging error" not in err and "Traceback (most recent call last)" in err
    lines = err.splitlines()
    assert any("[info" in line and "calling" in line and "***" in line for line in lines)
    assert any("[error" in line and "boom" in line for line in lines)
    assert any("RuntimeError: failed with ***" in line for line in lines)
    for secret in (TOKEN, SECRET, other):
        assert secret not in err


def test_json_mode_is_one_object_per_line_tracebacks_included(
    capsys: pytest.CaptureFixture[str],
) -> None:
    setup_logging(json=True, secrets=[TOKEN, SECRET])
    structlog.get_logger("t").warning("with a secret", detail={"nested": [SECRET]})
    try:
        raise RuntimeError(f"failed with {TOKEN}")
    except RuntimeError:
        structlog.get_logger("t").exception("structlog boom")
        logging.getLogger("aiohttp").exception("stdlib boom")
    err = capsys.readouterr().err
    events = [json.loads(line) for line in err.splitlines()]
    assert [e["event"] for e in events] == ["with a secret", "structlog boom", "stdlib boom"]
    assert events[0]["detail"] == {"nested": ["***"]}
    assert "RuntimeError: failed with ***" in events[1]["exception"]
    assert "RuntimeError: failed with ***" in events[2]["exception"]
    assert TOKEN not in err and SECRET not in err


def test_settings_name_every_secret_for_the_redactor() -> None:
    settings = load_settings(
        None,
        database={"url": "postgresql+asyncpg://kurasi:db-pass-123@db.example/kurasi"},
        telegram={"token": TOKEN, "webhook_secret": SECRET},
    )
    assert set(settings.secrets()) >= {TOKEN, SECRET, "db-pass-123"}
