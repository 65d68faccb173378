"""Reminders through the real Telegram client: delivered with buttons; a 403 marks the user."""

from __future__ import annotations

from sqlalchemy import select

from bot.config import Settings
from bot.notify import Notifier
from db.models import Product, ProductStatus, User
from handlers.rules.schedule import ReminderSchedule
from tests.bot.telegram_driver import running_bot
from tests.factories import producer
from tests.fakes.telegram import FakeTelegram
from tests.support import FakeClock

OK_USER, BLOCKED_USER = 7100, 7200


async def test_draft_reminders_over_telegram(
    fake: FakeTelegram, settings: Settings, sessionmaker, clock: FakeClock
) -> None:
    async with sessionmaker() as session, session.begin():
        for external_id in (OK_USER, BLOCKED_USER):
            _user, business = await producer(
                session, external_id=str(external_id), channel="telegram", now=clock.now
            )
            session.add(
                Product(
                    business_id=business.id, name="Kopi Dampit", sector="food",
                    status=ProductStatus.draft, precheck=[],
                    created_at=clock.now, updated_at=clock.now,
                )
            )  # fmt: skip
    fake.blocked_chats.add(BLOCKED_USER)
    async with running_bot(settings, fake, clock=clock) as (runtime, _tracker):
        notify = Notifier(
            runtime.app, schedule=ReminderSchedule(quiet_hours=None), timezone="Asia/Jakarta"
        )
        clock.advance(days=3)
        await notify.tick()
    [reminder] = fake.sent("sendMessage", chat_id=OK_USER)
    assert "Kopi Dampit" in reminder.params["text"]
    assert reminder.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"].startswith(
        "plist|open|"
    )
    async with sessionmaker() as session:
        blocked = await session.scalar(select(User).where(User.external_id == str(BLOCKED_USER)))
        fine = await session.scalar(select(User).where(User.external_id == str(OK_USER)))
    assert blocked.blocked_at == clock.now and fine.blocked_at is None
