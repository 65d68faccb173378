"""An admin's /ekspor outlives a restart of `kurasi run`: stopped mid-upload by SIGTERM (a
deploy), the export says so, and the next process sends the files without being asked
again. The crash case (kill -9: the lease runs out) is tests/handlers/test_exports_trusted.py."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from tests.bot.processes import BotProcess, free_port, wait_until, write_config
from tests.fakes.telegram import FakeTelegram

ADMIN = 770_001


def uploads(fake: FakeTelegram) -> list:
    """Files Telegram took (a call still waiting on the fake has no result yet)."""
    return [c for c in fake.sent("sendDocument", chat_id=ADMIN) if c.result]


async def test_an_export_stopped_by_a_restart_is_sent_by_the_next_process(
    fake: FakeTelegram, database_url: str, tmp_path: Path
) -> None:
    config = write_config(
        tmp_path / "config.toml",
        {
            "database": {"url": database_url},
            "telegram": {"token": fake.token, "api_base": fake.base_url, "admin_ids": "ADMINS"},
            "http": {"port": free_port()},
            "media": {"dir": str(tmp_path / "media")},
            "runtime": {"shutdown_timeout": "20s"},
        },
    )
    config.write_text(config.read_text().replace('"ADMINS"', f"[{ADMIN}]"))
    uploading = fake.delay("sendDocument", 60)  # the first file is still going at the stop
    fake.push_update(fake.message(ADMIN, "/ekspor produk", first_name="Admin"))
    first = BotProcess(config, tmp_path / "bot1.log")
    await first.start()
    try:
        await asyncio.wait_for(uploading.wait(), 60)
        first.signal(signal.SIGTERM)
        assert await first.wait(within=30) == 0, first.stderr[-3000:]
    finally:
        await first.stop()
    texts = [c.params["text"] for c in fake.sent("sendMessage", chat_id=ADMIN)]
    edits = [c.params["text"] for c in fake.sent("editMessageText", chat_id=ADMIN)]
    assert any("Menyiapkan ekspor" in t for t in texts), texts
    assert any("dimulai lagi dengan sendirinya" in t for t in texts + edits), (texts, edits)
    assert not uploads(fake)  # the one upload never finished

    second = BotProcess(config, tmp_path / "bot2.log")
    await second.start()
    try:

        async def sent_both() -> bool:
            return len(uploads(fake)) >= 2

        await wait_until(sent_both, within=60)

        async def done() -> bool:
            said = fake.sent("sendMessage", chat_id=ADMIN) + fake.sent(
                "editMessageText", chat_id=ADMIN
            )
            return any(c.params["text"].startswith("✅") for c in said)

        await wait_until(done, within=30)
    finally:
        assert await second.terminate() == 0, second.stderr[-3000:]
    names = sorted(name for c in uploads(fake) for name in c.filenames.values())
    assert [n.rsplit(".", 1)[1] for n in names] == ["csv", "xlsx"]
    texts = [c.params["text"] for c in fake.sent("sendMessage", chat_id=ADMIN)]
    assert any("Bot dimulai ulang saat ekspor" in t for t in texts), texts
    assert sum("Menyiapkan ekspor" in t for t in texts) == 1  # asked once, never again
    for log in (first.stderr, second.stderr):
        assert "Traceback" not in log
