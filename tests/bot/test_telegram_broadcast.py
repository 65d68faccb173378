"""/siaran over Telegram: formatting kept from the admin's message to every recipient, the
preview as recipients see it, a progress message edited in place, then the report."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import insert

from bot.config import Settings, load_settings
from db.base import utcnow
from db.models import User
from tests.bot.telegram_driver import Person, running_bot
from tests.fakes.telegram import FakeTelegram

ADMIN = 4242


@pytest.fixture
def settings(fake: FakeTelegram, database_url: str, sessionmaker, tmp_path: Path) -> Settings:
    return load_settings(
        None,
        database={"url": database_url},
        telegram={"token": fake.token, "api_base": fake.base_url, "admin_ids": [ADMIN]},
        media={"dir": tmp_path / "media"},
        limits={"flood_messages": 10_000},
        reminders={"quiet_hours": ""},
    )


async def test_formatted_broadcast_with_photo_reaches_everyone(
    settings: Settings, fake: FakeTelegram, sessionmaker
) -> None:
    now = utcnow()
    async with sessionmaker() as session, session.begin():
        await session.execute(
            insert(User),
            [
                {
                    "channel": "telegram",
                    "external_id": str(7000 + i),
                    "consented_at": now,
                    "reminder_optouts": [],
                    "is_admin": False,
                }
                for i in range(12)
            ],
        )
    async with running_bot(settings, fake) as (runtime, tracker):
        admin = Person(fake, tracker, ADMIN)
        await admin.say("/siaran")
        update = fake.message(ADMIN, "Pelatihan ekspor Jumat", language_code="id")
        update["message"]["entities"] = [{"type": "bold", "offset": 0, "length": 9}]
        await admin._push(update)
        await admin.send(photo=b"\xff\xd8 poster bytes")
        preview = await admin.press("Pratinjau")
        shown = [c for c in preview if c.method == "sendPhoto"]
        assert len(shown) == 1
        assert shown[0].params["caption"] == "<b>Pelatihan</b> ekspor Jumat"
        assert shown[0].params["parse_mode"] == "HTML"
        assert "Penerima: 12" in preview[-1].params["text"]
        await admin.press("Kirim")
        await runtime.sender.run_until_idle()

        photos = [c for c in fake.sent("sendPhoto") if c.chat_id != ADMIN]
        assert sorted(c.chat_id for c in photos) == [7000 + i for i in range(12)]
        assert {c.params["caption"] for c in photos} == {"<b>Pelatihan</b> ekspor Jumat"}
        assert not [c for c in photos if c.files]  # the admin's upload, re-sent by file id
        admin_texts = [
            c.params.get("text", "")
            for c in fake.sent(chat_id=ADMIN)
            if c.method in ("sendMessage", "editMessageText")
        ]
        assert any("Siaran #1" in t for t in admin_texts)
        assert "Terkirim 12" in admin_texts[-1] and "Selesai" in admin_texts[-1]
