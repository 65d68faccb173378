"""The HTTP side: the Telegram webhook's secret check, redeliveries, and the health check."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select
from structlog.testing import capture_logs

from bot.app import Runtime, build
from bot.config import load_settings
from bot.http import TELEGRAM_WEBHOOK_PATH, make_http_app
from db.engine import make_engine
from db.models import User
from tests.fakes.telegram import FakeTelegram

SECRET = "s3cret-Token_for-webhooks"
USER = 777001


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


@pytest.fixture
async def runtime(fake: FakeTelegram, database_url: str, sessionmaker, tmp_path: Path):
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
        media={"dir": tmp_path / "media"},
        limits={"flood_messages": 10_000},
    )
    runtime = await build(settings)
    yield runtime
    await runtime.close()


@pytest.fixture
async def client(runtime: Runtime) -> AsyncIterator[TestClient]:
    app = make_http_app(runtime.engine, telegram=runtime.telegram, telegram_secret=SECRET)
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


async def users(sessionmaker) -> int:
    async with sessionmaker() as session:
        return await session.scalar(select(func.count()).select_from(User))


async def test_correct_secret_is_accepted_and_answered(
    client: TestClient, fake: FakeTelegram, sessionmaker
) -> None:
    update = fake.make_update(message=fake.message(USER, "/start")["message"])
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    response = await client.post(TELEGRAM_WEBHOOK_PATH, json=update, headers=headers)
    assert response.status == 200
    assert "Pilih bahasa" in fake.sent("sendMessage", chat_id=USER)[0].params["text"]
    assert await users(sessionmaker) == 1
    # Telegram redelivers when unsure; the second copy changes nothing and sends nothing.
    again = await client.post(TELEGRAM_WEBHOOK_PATH, json=update, headers=headers)
    assert again.status == 200
    assert len(fake.sent("sendMessage", chat_id=USER)) == 1


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}, {"X-Telegram-Bot-Api-Secret-Token": ""}],
)
async def test_wrong_or_missing_secret_is_401_and_stores_nothing(
    client: TestClient, fake: FakeTelegram, sessionmaker, headers: dict[str, str]
) -> None:
    update = fake.make_update(message=fake.message(USER, "/start")["message"])
    response = await client.post(TELEGRAM_WEBHOOK_PATH, json=update, headers=headers)
    assert response.status == 401
    assert await users(sessionmaker) == 0
    assert not fake.sent("sendMessage")


async def test_healthz_reports_the_database(client: TestClient, tmp_path: Path) -> None:
    response = await client.get("/healthz")
    assert response.status == 200
    assert (await response.json())["database"] == "up"
    # A database that cannot be reached makes the check fail, not crash.
    broken = make_engine(f"sqlite+aiosqlite:///{tmp_path}/missing/dir/x.db")
    async with TestClient(TestServer(make_http_app(broken))) as other:
        down = await other.get("/healthz")
        assert down.status == 503
    await broken.dispose()


def test_webhook_mode_needs_a_secret(runtime: Runtime) -> None:
    with pytest.raises(ValueError, match="webhook_secret"):
        make_http_app(runtime.engine, telegram=runtime.telegram, telegram_secret=None)


NOT_UPDATES = {
    "not JSON": b"{this is not json",
    "a list": b"[]",
    "null": b"null",
    "an empty object": b"{}",
    "a string update_id": b'{"update_id": "12", "message": {}}',
    "a boolean update_id": b'{"update_id": true}',
    "a broken message": b'{"update_id": 12, "message": {"text": 5}}',
    "100,000-deep nesting": b'{"update_id": 1, "message": '
    + b"[" * 100_000
    + b"]" * 100_000
    + b"}",
    "100,000-deep objects": b'{"a": ' * 100_000 + b"1" + b"}" * 100_000,
}


@pytest.mark.parametrize("body", NOT_UPDATES.values(), ids=NOT_UPDATES.keys())
async def test_a_body_that_is_not_an_update_gets_400_and_is_logged_once(
    client: TestClient, fake: FakeTelegram, sessionmaker, body: bytes
) -> None:
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}
    with capture_logs() as logs:
        response = await client.post(TELEGRAM_WEBHOOK_PATH, data=body, headers=headers)
    assert response.status == 400
    assert await users(sessionmaker) == 0
    assert not fake.sent("sendMessage")
    assert [e["event"] for e in logs] == ["webhook body is not an update"]
    assert len(str(logs[0])) < 300  # brief: the reason, never the body


async def test_a_valid_update_the_bot_does_not_handle_gets_200(
    client: TestClient, fake: FakeTelegram, sessionmaker
) -> None:
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    edited = {**fake.message(USER, "halo")["message"], "edit_date": 1_700_000_000}
    for update in (
        {"update_id": 91, "edited_message": edited},
        {"update_id": 92},
        {"update_id": 93, "some_future_kind": {"x": 1}},
    ):
        response = await client.post(TELEGRAM_WEBHOOK_PATH, json=update, headers=headers)
        assert response.status == 200, update
    assert await users(sessionmaker) == 0
