"""Secrets never reach the logs, whichever logger writes them."""

from __future__ import annotations

import logging

import pytest
import structlog

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
    assert "calling" in err and "boom" in err
    for secret in (TOKEN, SECRET, other):
        assert secret not in err
    assert "***" in err
