"""`kurasi run` serving WhatsApp keeps what it acknowledged: a webhook is answered 200 only
once its messages are stored, so a `kill -9` in the middle of a flood loses none of them,
and each is handled once, in order per sender, after the restart. Malformed bodies and
undecodable signatures are refused by the process before anything is stored."""

from __future__ import annotations

import asyncio
import json
import random
from collections import defaultdict
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select

from db.engine import is_sqlite
from db.models import ProcessedUpdate, User, WhatsAppInbound
from tests.bot.processes import BotProcess, free_port, wait_until, write_config
from tests.fakes.whatsapp import FakeWhatsApp

SENDERS = [f"62812000{n:04d}" for n in range(20)]
PER_SENDER = 10  # 200 messages
KILL_AFTER = 70  # acknowledged before the kill


@pytest.fixture
async def fake() -> AsyncIterator[FakeWhatsApp]:
    async with FakeWhatsApp(app_secret="inbox-process-secret") as server:
        yield server


def _config(tmp_path: Path, database_url: str, fake: FakeWhatsApp, port: int) -> Path:
    return write_config(
        tmp_path / "config.toml",
        {
            "database": {"url": database_url},
            "whatsapp": {
                "phone_number_id": fake.phone_number_id,
                "token": fake.token,
                "app_secret": fake.app_secret,
                "verify_token": "verify-inbox",
                "graph_api_base": fake.base_url,
            },
            "http": {"port": port},
            "media": {"dir": str(tmp_path / "media")},
            "limits": {"flood_messages": 10_000},
        },
    )


async def _started(bot: BotProcess, base: str) -> None:
    await bot.start()
    async with aiohttp.ClientSession() as http:
        for _ in range(900):  # a busy 2-core machine starts Python slowly
            try:
                async with http.get(f"{base}/healthz") as answer:
                    if answer.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError("kurasi run did not start:\n" + bot.stderr[-3000:])


async def _count(sessionmaker: Any, model: Any) -> int:
    async with sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_kill_9_mid_flood_loses_no_acknowledged_message_and_answers_none_twice(
    fake: FakeWhatsApp, database_url: str, sessionmaker: Any, tmp_path: Path
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/whatsapp/webhook"
    config = _config(tmp_path, database_url, fake, port)
    # Each sender's messages, in the order they write them; each /start is answered with
    # one message (the language question), so answers can be counted per sender.
    bodies: dict[str, list[bytes]] = {
        wa: [json.dumps(fake.webhook(wa, fake.text("/start"))).encode() for _ in range(PER_SENDER)]
        for wa in SENDERS
    }
    ids = {
        body: json.loads(body)["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
        for messages in bodies.values()
        for body in messages
    }
    acknowledged: set[str] = set()
    enough = asyncio.Event()

    async def write(http: aiohttp.ClientSession, wa: str) -> None:
        for body in bodies[wa]:
            headers = {"X-Hub-Signature-256": fake.sign(body)}
            try:
                async with http.post(url, data=body, headers=headers) as answer:
                    if answer.status != 200:
                        return  # as Meta: this one and the rest come again later
            except aiohttp.ClientError:
                return
            acknowledged.add(ids[body])
            if len(acknowledged) >= KILL_AFTER:
                enough.set()
            await asyncio.sleep(random.uniform(0, 0.01))

    first = BotProcess(config, tmp_path / "first.log")
    await _started(first, f"http://127.0.0.1:{port}")
    async with aiohttp.ClientSession() as http:
        writers = [asyncio.create_task(write(http, wa)) for wa in SENDERS]
        await asyncio.wait_for(enough.wait(), 60)
        first.kill()  # SIGKILL: no shutdown of any kind
        await first.wait()
        await asyncio.gather(*writers)
    killed_with = set(acknowledged)
    assert KILL_AFTER <= len(killed_with) < len(ids), "the kill came too late to mean much"
    handled_before = await _count(sessionmaker, ProcessedUpdate)
    assert handled_before < len(killed_with), "the kill came after everything was handled"

    second = BotProcess(config, tmp_path / "second.log")
    await _started(second, f"http://127.0.0.1:{port}")
    try:
        # Meta posts again whatever was not answered 200, each sender's in order.
        async with aiohttp.ClientSession() as http:

            async def redeliver(wa: str) -> None:
                for body in bodies[wa]:
                    if ids[body] in acknowledged:
                        continue
                    headers = {"X-Hub-Signature-256": fake.sign(body)}
                    async with http.post(url, data=body, headers=headers) as answer:
                        assert answer.status == 200
                    acknowledged.add(ids[body])

            await asyncio.gather(*(redeliver(wa) for wa in SENDERS))

        async def all_handled() -> bool:
            return await _count(sessionmaker, ProcessedUpdate) >= len(ids)

        await wait_until(all_handled, within=90)
        # Answers follow the commits; anything answered twice would show by then too.
        await wait_until(lambda: _answered(fake, len(ids) - 10), within=30)
        await asyncio.sleep(1.0)
    finally:
        assert await second.terminate() == 0, second.stderr[-3000:]

    async with sessionmaker() as session:
        rows = await session.execute(
            select(ProcessedUpdate.update_key)
            .where(ProcessedUpdate.channel == "whatsapp")
            .order_by(ProcessedUpdate.processed_at)
        )
        in_handling_order = list(rows.scalars())
    handled = set(in_handling_order)
    # Every acknowledged message handled (processed_updates' key makes it once), none lost.
    assert killed_with <= handled and handled == set(ids.values())
    assert await _count(sessionmaker, WhatsAppInbound) == 0  # pruned once handled
    assert await _count(sessionmaker, User) == len(SENDERS)
    # Nothing answered twice: one read mark per message at most, one answer per message at
    # most; only the few committed in the instant of the kill may miss their answer.
    reads = [c.body["message_id"] for c in fake.calls if c.kind == "read"]
    assert len(reads) == len(set(reads))
    per_sender: dict[str, int] = defaultdict(int)
    for call in fake.messages():
        assert "Pilih bahasa" in call.text
        per_sender[call.to or ""] += 1
    assert all(n <= PER_SENDER for n in per_sender.values()), per_sender
    unanswered = len(ids) - sum(per_sender.values())
    assert unanswered <= 10, f"{unanswered} handled in the kill's instant without an answer"
    # In order per sender: each sender's messages were handled in the order written.
    position = {
        ids[body]: (wa, i) for wa, messages in bodies.items() for i, body in enumerate(messages)
    }
    for order in (in_handling_order, reads):
        seen: dict[str, int] = {}
        for message_id in order:
            wa, i = position[message_id]
            assert i > seen.get(wa, -1), f"{wa}'s message {i} handled after a later one"
            seen[wa] = i
    assert "Maaf" not in "".join(c.text for c in fake.messages())


async def _answered(fake: FakeWhatsApp, at_least: int) -> bool:
    return len(fake.messages()) >= at_least


MALFORMED_BODIES = {
    "entry: 5": b'{"object": "whatsapp_business_account", "entry": 5}',
    'changes: "abc"': b'{"object": "whatsapp_business_account", "entry": [{"changes": "abc"}]}',
    "100,000 deep": b'{"object": "whatsapp_business_account", "entry": '
    + b"[" * 100_000
    + b"]" * 100_000
    + b"}",
}


async def test_the_process_refuses_malformed_bodies_and_undecodable_signatures(
    fake: FakeWhatsApp, database_url: str, sessionmaker: Any, tmp_path: Path
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/whatsapp/webhook"
    bot = BotProcess(_config(tmp_path, database_url, fake, port), tmp_path / "bot.log")
    await _started(bot, f"http://127.0.0.1:{port}")
    try:
        for body in MALFORMED_BODIES.values():
            assert await fake.post(url, body) == 400
        statuses = [fake.status(f"wamid.unknown{n}", SENDERS[0], "read") for n in range(20)]
        for status in statuses:
            assert await fake.post(url, status) == 200
        message = json.dumps(fake.webhook(SENDERS[0], fake.text("/start"))).encode()
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        head = (
            f"POST /whatsapp/webhook HTTP/1.1\r\nHost: x\r\nContent-Length: {len(message)}\r\n"
            "Connection: close\r\nX-Hub-Signature-256: sha256="
        ).encode()
        writer.write(head + "é".encode("latin-1") * 64 + b"\r\n\r\n" + message)
        await writer.drain()
        assert (await reader.readline()).split()[1] == b"401"
        writer.close()
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{port}/metrics") as m,
        ):
            metrics = await m.text()
        assert 'kurasi_whatsapp_statuses_total{result="unknown"} 20.0' in metrics
    finally:
        assert await bot.terminate() == 0, bot.stderr[-3000:]
    assert await _count(sessionmaker, WhatsAppInbound) == 0
    assert await _count(sessionmaker, User) == 0
    assert fake.calls == []
    assert "Traceback" not in bot.stderr


async def test_two_workers_on_one_postgresql_handle_each_message_once_in_sender_order(
    fake: FakeWhatsApp, database_url: str, sessionmaker: Any, tmp_path: Path
) -> None:
    if is_sqlite(database_url):
        pytest.skip("several workers share PostgreSQL, not an SQLite file")
    ports = [free_port(), free_port()]
    bots = []
    for n, port in enumerate(ports):
        (tmp_path / str(n)).mkdir()
        config = _config(tmp_path / str(n), database_url, fake, port)
        bots.append(BotProcess(config, tmp_path / f"bot{n}.log"))
    await asyncio.gather(
        *(_started(b, f"http://127.0.0.1:{p}") for b, p in zip(bots, ports, strict=True))
    )
    senders = SENDERS[:10]
    written: dict[str, list[str]] = defaultdict(list)
    try:
        async with aiohttp.ClientSession() as http:

            async def write(wa: str) -> None:
                # As a proxy spreads requests: one sender's messages alternate workers.
                for i in range(PER_SENDER):
                    body = json.dumps(fake.webhook(wa, fake.text("/start"))).encode()
                    url = f"http://127.0.0.1:{ports[i % 2]}/whatsapp/webhook"
                    headers = {"X-Hub-Signature-256": fake.sign(body)}
                    async with http.post(url, data=body, headers=headers) as answer:
                        assert answer.status == 200
                    written[wa].append(
                        json.loads(body)["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
                    )

            await asyncio.gather(*(write(wa) for wa in senders))
        total = len(senders) * PER_SENDER

        async def all_handled() -> bool:
            return await _count(sessionmaker, ProcessedUpdate) >= total

        await wait_until(all_handled, within=60)
        await wait_until(lambda: _answered(fake, total), within=30)
        await asyncio.sleep(1.0)
    finally:
        for bot in bots:
            assert await bot.terminate() == 0, bot.stderr[-3000:]
    async with sessionmaker() as session:
        rows = await session.execute(
            select(ProcessedUpdate.update_key).order_by(ProcessedUpdate.processed_at)
        )
        order = list(rows.scalars())
    assert len(order) == total
    for wa in senders:
        assert [m for m in order if m in set(written[wa])] == written[wa]
        assert len(fake.messages(wa)) == PER_SENDER  # each answered once
    assert await _count(sessionmaker, WhatsAppInbound) == 0
