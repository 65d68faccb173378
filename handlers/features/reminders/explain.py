"""Every statement one scheduler tick runs whose cost grows with the data, by name: each
kind's planning (declared with the kind) and the rest of the tick (db/explain.py). For
bench/scale's plans and the index test."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Executable

from db.explain import tick_queries
from handlers.features.reminders.kinds import PRODUCER_KINDS, Planning, planning_queries
from handlers.rules.schedule import ReminderSchedule


def scheduler_queries(
    *,
    now: datetime,
    today: date,
    schedule: ReminderSchedule | None = None,
    claim_timeout: timedelta = timedelta(hours=48),
    timezone: str = "Asia/Jakarta",
) -> dict[str, Executable]:
    planning = Planning(
        now=now,
        today=today,
        zone=ZoneInfo(timezone),
        schedule=schedule or ReminderSchedule(),
        admin_channel="telegram",
    )
    return {
        **tick_queries(now=now, claim_timeout=claim_timeout, producer_kinds=sorted(PRODUCER_KINDS)),
        **planning_queries(planning),
    }
