"""Polling loses nothing: `kurasi run` killed (-9) or stopped (SIGTERM) mid-burst, then
started again, handles every queued update exactly once."""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from pathlib import Path

from tests.bot.processes import BotProcess, free_port, processed, wait_until, write_config
from tests.fakes.telegram import FakeTelegram

USERS = 60
PER_USER = 5
TOTAL = USERS * PER_USER
FIRST_USER = 880_000


def config(tmp_path: Path, fake: FakeTelegram, database_url: str) -> Path:
    return write_config(
        tmp_path / "config.toml",
        {
            "database": {"url": database_url},
            "telegram": {"token": fake.token, "api_base": fake.base_url},
            "http": {"port": free_port()},
            "media": {"dir": str(tmp_path / "media")},
            "limits": {"flood_messages": 10_000},
            "runtime": {"shutdown_timeout": "20s"},
        },
    )


def burst(fake: FakeTelegram) -> None:
    """100 people, 5 messages each, interleaved as they would arrive."""
    for step in range(PER_USER):
        for n in range(USERS):
            text = "/start" if step == 0 else f"halo {step}"
            fake.push_update(fake.message(FIRST_USER + n, text, first_name=f"P{n}"))


def answers(fake: FakeTelegram) -> Counter[int]:
    return Counter(
        int(c.params["chat_id"]) for c in fake.sent("sendMessage") if c.params.get("chat_id")
    )


async def test_killed_then_stopped_mid_burst_every_update_is_handled_once(
    fake: FakeTelegram, database_url: str, sessionmaker, tmp_path: Path
) -> None:
    """kill -9 a third of the way through, SIGTERM two thirds through, then finish."""
    burst(fake)
    cfg = config(tmp_path, fake, database_url)
    logs: list[str] = []
    figures: list[str] = []
    for n, how in enumerate(("kill -9", "SIGTERM")):
        bot = BotProcess(cfg, tmp_path / f"bot{n}.log")
        # A third more than when it starts: a loaded machine's kill -9 may come late, and a
        # stop point already passed would signal a process still importing Python.
        stop_at = await processed(sessionmaker) + TOTAL // 3
        await bot.start()
        try:
            await wait_until(lambda at=stop_at: _at_least(sessionmaker, at), within=90)
            if how == "kill -9":
                bot.kill()
                await bot.wait()
            else:
                bot.signal(signal.SIGTERM)
                assert await bot.wait(within=30) == 0, bot.stderr[-3000:]
        finally:
            await bot.stop()
            logs.append(bot.stderr)
        handled = await processed(sessionmaker)
        # Telegram forgot (was confirmed) only updates that committed: whatever is not
        # recorded as handled is still queued there.
        pending = {u["update_id"] for u in fake.pending_updates}
        assert len(pending) + handled >= TOTAL, (how, len(pending), handled)
        figures.append(f"{how} after {handled}/{TOTAL} handled, {len(pending)} unconfirmed")

    last = BotProcess(cfg, tmp_path / "bot-last.log")
    await last.start()
    try:
        await wait_until(lambda: _at_least(sessionmaker, TOTAL), within=120)
        await wait_until(lambda: _no_pending(fake), within=60)
    finally:
        last.signal(signal.SIGTERM)
        assert await last.wait(within=30) == 0, last.stderr[-3000:]
        await last.stop()
        logs.append(last.stderr)
    lost = TOTAL - await processed(sessionmaker)
    per_chat = answers(fake)
    usual = Counter(per_chat.values()).most_common(1)[0][0]
    twice = sum(1 for n in per_chat.values() if n > usual)
    unanswered = sum(usual - n for n in per_chat.values() if n < usual)
    print(
        f"\n{'; '.join(figures)}: lost {lost}; chats answered twice {twice}; "
        f"replies missing {unanswered} (kill -9 between commit and send)"
    )
    assert lost == 0
    assert twice == 0
    assert len(per_chat) == USERS
    for log in logs:
        assert "Traceback" not in log and "Logging error" not in log


async def _at_least(sessionmaker, n: int) -> bool:
    return await processed(sessionmaker) >= n


async def _no_pending(fake: FakeTelegram) -> bool:
    return not fake.pending_updates


async def test_sigterm_while_starting_is_a_clean_stop(
    fake: FakeTelegram, database_url: str, tmp_path: Path
) -> None:
    """SIGTERM after the database is migrated and the HTTP listener is up, while Telegram is
    still being reached: the process stops cleanly (0), rather than dying by the signal
    (-15) because the handler would only be installed once polling began."""
    arrived = fake.delay("deleteWebhook", 2.0)
    bot = BotProcess(config(tmp_path, fake, database_url), tmp_path / "bot.log")
    await bot.start()
    try:
        await asyncio.wait_for(arrived.wait(), 90)
        bot.signal(signal.SIGTERM)
        bot.signal(signal.SIGTERM)  # an impatient operator's second one changes nothing
        assert await bot.wait(within=30) == 0, bot.stderr[-3000:]
    finally:
        await bot.stop()
    assert "Traceback" not in bot.stderr
    assert not fake.sent("getUpdates")
