"""`kurasi run` as deployed: webhook mode end to end, on a real port, against the fake API."""

from __future__ import annotations

import asyncio
import socket
from contextlib import suppress
from pathlib import Path

import aiohttp

from bot.app import serve
from bot.config import load_settings
from tests.fakes.telegram import FakeTelegram

SECRET = "webhook-secret-123"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_webhook_mode_serves_until_stopped(
    fake: FakeTelegram, database_url: str, sessionmaker, tmp_path: Path
) -> None:
    port = free_port()
    settings = load_settings(
        None,
        database={"url": database_url},
        telegram={
            "token": fake.token,
            "api_base": fake.base_url,
            "mode": "webhook",
            "webhook_url": "https://kurasi.example/telegram/webhook",
            "webhook_secret": SECRET,
        },
        http={"host": "127.0.0.1", "port": port},
        media={"dir": tmp_path / "media"},
    )
    task = asyncio.create_task(serve(settings))
    try:
        [hook] = await fake.wait_for("setWebhook")
        assert hook.params["url"] == "https://kurasi.example/telegram/webhook"
        assert hook.params["secret_token"] == SECRET
        assert fake.commands(language_code="en")  # the menu is registered on start
        update = fake.make_update(message=fake.message(4242, "/start")["message"])
        async with aiohttp.ClientSession() as http:
            base = f"http://127.0.0.1:{port}"
            async with http.get(f"{base}/healthz") as health:
                assert health.status == 200
            headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
            async with http.post(f"{base}/telegram/webhook", json=update, headers=headers) as r:
                assert r.status == 200
            async with http.post(f"{base}/telegram/webhook", json=update) as r:
                assert r.status == 401
        [welcome] = fake.sent("sendMessage", chat_id=4242)
        assert "Pilih bahasa" in welcome.params["text"]
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
