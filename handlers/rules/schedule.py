"""When reminders fall due: the configured intervals, in plain values the planner reads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, slots=True)
class ReminderSchedule:
    draft_idle: timedelta = timedelta(days=3)
    draft_nudges: int = 2
    revision_idle: timedelta = timedelta(days=5)
    unclaimed: timedelta = timedelta(days=3)
    review_digest_at: time = time(8, 0)
    weekly_digest_day: int = 0  # Monday
    weekly_digest_at: time = time(8, 0)
    quiet_hours: tuple[time, time] | None = (time(21, 0), time(7, 0))
    fair_deadline_days: tuple[int, ...] = (14, 3, 1)
    fair_start_days: tuple[int, ...] = (7, 1)
    fair_reminder_at: time = time(8, 0)  # local time fair reminders go out on their day

    def is_quiet(self, moment: datetime, zone: ZoneInfo) -> bool:
        if self.quiet_hours is None:
            return False
        start, end = self.quiet_hours
        local = moment.astimezone(zone).time()
        if start <= end:
            return start <= local < end
        return local >= start or local < end  # the window spans midnight

    def quiet_ends(self, moment: datetime, zone: ZoneInfo) -> datetime:
        """The first moment at or after `moment` outside quiet hours."""
        if not self.is_quiet(moment, zone) or self.quiet_hours is None:
            return moment
        local = moment.astimezone(zone)
        end = self.quiet_hours[1]
        candidate = local.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
        if candidate <= local:
            candidate += timedelta(days=1)
        return candidate.astimezone(moment.tzinfo)
