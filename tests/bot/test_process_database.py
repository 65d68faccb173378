"""A database blip loses nothing: backends killed with pg_terminate_backend during a
webhook burst; every update is handled exactly once, nobody is told "try again"."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from db.engine import is_sqlite, make_sessionmaker
from tests.bot.processes import (
    BotProcess,
    free_port,
    processed,
    wait_until,
    webhook_section,
    write_config,
)
from tests.fakes.telegram import FakeTelegram

SECRET = "webhook-Secret-for-db-blips"
USERS = 120
PER_USER = 5
KILLS = 5
FIRST_USER = 660_000


async def test_killed_connections_during_a_webhook_burst_lose_nothing(
    fake: FakeTelegram, database_url: str, sessionmaker, tmp_path: Path
) -> None:
    if is_sqlite(database_url):
        pytest.skip("pg_terminate_backend needs PostgreSQL")
    # The test's own connections: a pool-free engine whose backend is never the target.
    observer = create_async_engine(database_url, poolclass=NullPool)
    observe = make_sessionmaker(observer)
    async with observer.connect() as conn:
        ours = set(
            (
                await conn.execute(
                    text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
                )
            ).scalars()
        )
    port = free_port()
    config = write_config(
        tmp_path / "config.toml",
        {
            "database": {"url": database_url},
            "telegram": webhook_section(fake, SECRET),
            "http": {"port": port},
            "media": {"dir": str(tmp_path / "media")},
            "limits": {"flood_messages": 10_000},
        },
    )
    bot = BotProcess(config, tmp_path / "bot.log")
    await bot.start()
    statuses: Counter[int] = Counter()
    try:
        await wait_until(lambda: _webhook_set(fake), within=60)
        updates = [
            fake.make_update(
                message=fake.message(
                    FIRST_USER + n, "/start" if step == 0 else f"halo {step}", first_name=f"P{n}"
                )["message"]
            )
            for step in range(PER_USER)
            for n in range(USERS)
        ]
        url = f"http://127.0.0.1:{port}/telegram/webhook"
        queue: asyncio.Queue[dict] = asyncio.Queue()
        for update in updates:
            queue.put_nowait(update)

        async def telegram_side(session: aiohttp.ClientSession) -> None:
            # Like Telegram: a few connections, each update redelivered until it gets a 200.
            while not queue.empty():
                update = queue.get_nowait()
                while True:
                    async with session.post(
                        url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}
                    ) as response:
                        statuses[response.status] += 1
                        if response.status == 200:
                            break
                    await asyncio.sleep(0.2)

        async def blips() -> None:
            for _ in range(KILLS):
                await asyncio.sleep(0.6)
                async with observer.connect() as conn:
                    await conn.execute(
                        text(
                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                            "datname = current_database() AND pid <> pg_backend_pid() "
                            "AND NOT (pid = ANY(:ours))"
                        ),
                        {"ours": list(ours)},
                    )

        async with aiohttp.ClientSession() as session:
            # Per chat in order, like Telegram: one connection per slice of users would be
            # exact; eight connections with the burst ordered by step come close enough.
            await asyncio.gather(blips(), *(telegram_side(session) for _ in range(8)))
        handled = await processed(observe)
    finally:
        await bot.terminate()
        await observer.dispose()
    apologies = [
        c
        for c in fake.sent("sendMessage")
        if "gangguan" in c.params["text"] or "Sorry" in c.params["text"]
    ]
    print(
        f"\n{KILLS} connection kills during {len(updates)} webhook updates: "
        f"lost {len(updates) - handled}; apologies {len(apologies)}; statuses {dict(statuses)}"
    )
    assert handled == len(updates)
    assert not apologies
    assert "Logging error" not in bot.stderr


async def _webhook_set(fake: FakeTelegram) -> bool:
    return bool(fake.webhook_url)
