"""GET /metrics: what an update, a send and the queues look like to Prometheus; who may ask."""
# ruff: noqa: F811 - pytest fixtures imported from test_webhook are parameters here

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import Runtime
from bot.http import TELEGRAM_WEBHOOK_PATH, make_http_app
from tests.bot.test_webhook import SECRET, USER, fake, runtime  # noqa: F401 - fixtures
from tests.factories import submitted_product
from tests.fakes.telegram import FakeTelegram

TOKEN = "metrics-token-0123456789"


@pytest.fixture
async def client(runtime: Runtime) -> AsyncIterator[TestClient]:
    app = make_http_app(
        runtime.engine, telegram=runtime.telegram, telegram_secret=SECRET, metrics_token=TOKEN
    )
    async with TestClient(TestServer(app, host="127.0.0.1")) as test_client:
        yield test_client


def value(body: str, name: str) -> float:
    lines = [line for line in body.splitlines() if line.startswith(name + " ")]
    assert lines, f"{name} not in /metrics"
    return float(lines[0].rsplit(" ", 1)[1])


async def test_metrics_count_updates_sends_round_trips_and_queues(
    client: TestClient,
    fake: FakeTelegram,
    runtime: Runtime,
    sessionmaker,
    tmp_path,
) -> None:
    before = (await (await client.get("/metrics")).text()).splitlines()
    base = {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in before if line[:1] != "#"
    }
    update = fake.make_update(message=fake.message(USER, "/start")["message"])
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    for _ in range(2):  # the second is a redelivery
        assert (
            await client.post(TELEGRAM_WEBHOOK_PATH, json=update, headers=headers)
        ).status == 200
    from db.media_store import MediaStore

    await submitted_product(
        sessionmaker, now=runtime.app.clock(), store=MediaStore(tmp_path / "m"), chat_id="-100"
    )
    response = await client.get("/metrics")
    assert response.status == 200
    body = await response.text()

    def grew(name: str) -> float:
        return value(body, name) - base.get(name, 0.0)

    assert grew('kurasi_updates_total{channel="telegram",outcome="ok"}') == 1
    assert grew('kurasi_updates_total{channel="telegram",outcome="duplicate"}') == 1
    assert grew('kurasi_update_seconds_count{channel="telegram"}') == 2
    assert grew("kurasi_update_db_round_trips_count") == 2
    assert grew('kurasi_messages_total{channel="telegram",result="sent"}') >= 1
    assert value(body, 'kurasi_curation_backlog{sector="food"}') == 1
    assert 'kurasi_queue_depth{queue="notifications"}' in body
    assert 'kurasi_queue_depth{queue="outbox"}' in body
    assert "process_resident_memory_bytes" in body


async def test_metrics_are_for_this_machine_or_the_token_holder(client: TestClient) -> None:
    assert (await client.get("/metrics")).status == 200  # loopback, direct
    proxied = {"X-Forwarded-For": "203.0.113.9"}
    assert (await client.get("/metrics", headers=proxied)).status == 404
    wrong = {**proxied, "Authorization": "Bearer nope"}
    assert (await client.get("/metrics", headers=wrong)).status == 404
    right = {**proxied, "Authorization": f"Bearer {TOKEN}"}
    assert (await client.get("/metrics", headers=right)).status == 200


async def test_log_lines_carry_the_update_and_user_id_not_the_name(
    client: TestClient,
    fake: FakeTelegram,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import structlog

    import handlers.routes

    seen: list[dict] = []

    def capture(_logger, _name, event_dict):  # type: ignore[no-untyped-def]
        seen.append(dict(event_dict))
        raise structlog.DropEvent

    dispatch = handlers.routes.dispatch

    async def logging_dispatch(ctx):  # type: ignore[no-untyped-def]
        structlog.get_logger("probe").info("a flow ran")
        await dispatch(ctx)

    monkeypatch.setattr(handlers.routes, "dispatch", logging_dispatch)
    structlog.configure(processors=[structlog.contextvars.merge_contextvars, capture])
    try:
        update = fake.make_update(message=fake.message(USER, "/start")["message"])
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        await client.post(TELEGRAM_WEBHOOK_PATH, json=update, headers=headers)
    finally:
        structlog.reset_defaults()
    [line] = [e for e in seen if e.get("event") == "a flow ran"]
    assert str(update["update_id"]) in str(line["update"])
    assert isinstance(line["user_id"], int)
    assert not any(str(USER) in str(e) for e in seen)  # the Telegram id is not ours to log
