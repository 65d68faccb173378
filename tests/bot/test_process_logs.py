"""What an operator sees on stderr from `kurasi run`: no logging errors, no secrets, even
when Telegram fails, the network drops and tracebacks are written; JSON mode is JSON."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp
from sqlalchemy.engine import make_url

from db.engine import is_sqlite
from tests.bot.processes import (
    BotProcess,
    free_port,
    wait_until,
    webhook_section,
    write_config,
)
from tests.fakes.telegram import FakeTelegram

TOKEN = "5550001234:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"
SECRET = "Webhook_Secret-never-in-logs-42"
PASSWORD = "Pg-Passw0rd-never-in-logs"


def _with_password(database_url: str) -> str:
    """The test database, reached with a password in the URL (trust auth ignores it)."""
    if is_sqlite(database_url):
        return database_url
    return make_url(database_url).set(password=PASSWORD).render_as_string(hide_password=False)


def assert_clean(stderr: str) -> None:
    assert "Logging error" not in stderr, stderr[-3000:]
    for secret in (TOKEN, SECRET, PASSWORD, TOKEN.split(":")[1]):
        assert secret not in stderr, f"{secret!r} leaked:\n{stderr[-3000:]}"


async def test_console_with_stdin_closed_logs_cleanly(database_url: str, tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "config.toml",
        {
            "database": {"url": _with_password(database_url)},
            "http": {"port": free_port()},
            "media": {"dir": str(tmp_path / "media")},
        },
    )
    bot = BotProcess(config, tmp_path / "bot.log")
    await bot.start()
    assert await bot.wait(within=60) == 0, bot.stderr
    assert_clean(bot.stderr)
    assert "starting the terminal console" in bot.stderr


async def test_polling_through_telegram_errors_and_network_loss_leaks_nothing(
    database_url: str,
    sessionmaker: object,
    tmp_path: Path,  # from empty tables
) -> None:
    fake = FakeTelegram(token=TOKEN)
    await fake.start()
    port = fake.base_url.rsplit(":", 1)[1]
    config = write_config(
        tmp_path / "config.toml",
        {
            "database": {"url": _with_password(database_url)},
            "telegram": {"token": TOKEN, "api_base": fake.base_url, "webhook_secret": SECRET},
            "http": {"port": free_port()},
            "media": {"dir": str(tmp_path / "media")},
        },
    )
    # Error texts that echo the request (as proxies and gateways do): the token, the secret,
    # and the database password when there is one (an SQLite file has none to mask).
    pw = "" if is_sqlite(database_url) else f", pw {PASSWORD}"
    echo = f"Bad Gateway calling /bot{TOKEN}/getUpdates (secret {SECRET}{pw})"
    fake.fail_next("getUpdates", 502, description=echo, times=2)
    fake.fail_next("sendMessage", 500, description=echo, times=1)
    fake.fail_next("answerCallbackQuery", 500, description=echo, times=1)
    bot = BotProcess(config, tmp_path / "bot.log")
    await bot.start()
    try:
        update_id = fake.push_update(fake.message(42, "/start"))
        await fake.wait_for("sendMessage", count=1, timeout=60)
        fake.push_update(fake.callback(42, "no|such|button"))
        await fake.wait_for("answerCallbackQuery", count=1, timeout=60)
        assert update_id
        # The network goes away for a while, then comes back on the same port.
        await fake.stop()
        await asyncio.sleep(3)
        await _restart_on(fake, int(port))
        fake.push_update(fake.message(42, "halo"))
        await fake.wait_for("sendMessage", count=2, timeout=60)
    finally:
        code = await bot.terminate()
        await fake.stop()
    assert code == 0, bot.stderr[-3000:]
    stderr = bot.stderr
    assert_clean(stderr)
    assert "getUpdates failed" in stderr and "***" in stderr
    fake.assert_spec_clean()


async def test_webhook_json_log_is_one_object_per_line_and_leaks_nothing(
    database_url: str,
    sessionmaker: object,
    tmp_path: Path,  # from empty tables
) -> None:
    fake = FakeTelegram(token=TOKEN)
    await fake.start()
    port = free_port()
    config = write_config(
        tmp_path / "config.toml",
        {
            "database": {"url": _with_password(database_url)},
            "telegram": webhook_section(fake, SECRET),
            "http": {"port": port},
            "media": {"dir": str(tmp_path / "media")},
            "log": {"json": True},
        },
    )
    fake.fail_next("sendMessage", 500, description=f"oops /bot{TOKEN}/sendMessage", times=1)
    bot = BotProcess(config, tmp_path / "bot.log")
    await bot.start()
    url = f"http://127.0.0.1:{port}/telegram/webhook"
    try:
        await wait_until(lambda: _webhook_set(fake), within=60)
        async with aiohttp.ClientSession() as session:
            good = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
            update = fake.make_update(message=fake.message(43, "/start")["message"])
            async with session.post(url, json=update, headers=good) as response:
                assert response.status == 200
            async with session.post(url, data=b"[", headers=good) as response:
                assert response.status == 400
            async with session.post(url, json=update, headers={}) as response:
                assert response.status == 401
    finally:
        code = await bot.terminate()
        await fake.stop()
    assert code == 0, bot.stderr[-3000:]
    stderr = bot.stderr
    assert_clean(stderr)
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert lines
    for line in lines:
        assert isinstance(json.loads(line), dict), line
    assert any(json.loads(line)["event"] == "webhook body is not an update" for line in lines)
    fake.assert_spec_clean()


async def _webhook_set(fake: FakeTelegram) -> bool:
    return bool(fake.webhook_url)


async def _restart_on(fake: FakeTelegram, port: int) -> None:
    await fake.start(port=port)
