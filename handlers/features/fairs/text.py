"""How fairs read: their dates, the fair as producers see it, its button.

Shared by /pameran, the fair form and the fair reminders.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from db.fairs import FairData
from db.models import Fair
from handlers.kit.context import Translate
from handlers.kit.events import Button
from handlers.kit.forms.dates import MONTHS, date_text
from handlers.kit.labels import SECTOR_LABELS
from handlers.kit.payload import ButtonData

FLOW = "fair"
INTEREST, UNINTEREST = "interest", "uninterest"
CHANGE, DELETE = "change", "delete"  # an admin's buttons under a fair
# The notification kinds an edit or a deletion sends the interested (reminders/kinds.py).
FAIR_CHANGED, FAIR_CANCELLED = "fair_changed", "fair_cancelled"
MESSAGE_BUDGET = 3500  # characters per message, well under Telegram's 4096


@dataclass(frozen=True)
class FairButton(ButtonData, flow=FLOW, steps=(INTEREST, UNINTEREST, CHANGE, DELETE)):
    """A button under a fair: (un)interest for producers, change or delete for admins."""

    step: str
    fair_id: int


def date_range_text(t: Translate, start: date, end: date) -> str:
    """21–25 Apr 2027; 28 Sep – 2 Oct 2027; one date for a one-day fair."""
    if start == end:
        return date_text(t, start)
    if (start.year, start.month) == (end.year, end.month):
        return f"{start.day}–{date_text(t, end)}"
    if start.year == end.year:
        return f"{start.day} {t(MONTHS[start.month - 1])} – {date_text(t, end)}"
    return f"{date_text(t, start)} – {date_text(t, end)}"


def sectors_text(t: Translate, sectors: list[str] | tuple[str, ...]) -> str:
    if not sectors:
        return t("all sectors")
    return ", ".join(t(SECTOR_LABELS[s]) for s in sectors if s in SECTOR_LABELS)


def _button(label: str, step: str, fair_id: int) -> Button:
    return FairButton(step, fair_id).button(label)


def interest_button(t: Translate, fair_id: int, *, interested: bool = False) -> Button:
    """ "I'm interested", or, for someone on the fair's list, "Not interested any more"."""
    if interested:
        return _button(t("❌ Not interested any more"), UNINTEREST, fair_id)
    return _button(t("I'm interested"), INTEREST, fair_id)


def admin_buttons(t: Translate, fair_id: int) -> list[Button]:
    return [_button(t("✏️ Edit"), CHANGE, fair_id), _button(t("🗑 Delete"), DELETE, fair_id)]


def fair_text(t: Translate, fair: Fair | FairData, *, today: date | None = None) -> str:
    """A fair as producers see it: name, dates, place, deadline, sectors, link."""
    lines = [
        f"🌏 {fair.name}",
        f"📅 {date_range_text(t, fair.start_date, fair.end_date)}",
        f"📍 {fair.place}, {fair.country}",
    ]
    deadline = fair.registration_deadline
    if deadline is None:
        lines.append(t("⏳ Registration deadline: not announced"))
    elif today is not None and deadline < today:
        lines.append(t("⏳ Registration closed on {date}", date=date_text(t, deadline)))
    else:
        lines.append(t("⏳ Register by {date}", date=date_text(t, deadline)))
    lines.append(t("🏷 Sectors: {sectors}", sectors=sectors_text(t, fair.sectors)))
    if fair.link:
        lines.append(f"🔗 {fair.link}")
    if fair.description:
        lines.append("")
        lines.append(fair.description)
    return "\n".join(lines)


def chunks(lines: list[str]) -> list[str]:
    """Lines joined into messages that each stay within the budget."""
    chunks: list[str] = []
    current = ""
    for line in lines:
        if current and len(current) + 1 + len(line) > MESSAGE_BUDGET:
            chunks.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line
    if current:
        chunks.append(current)
    return chunks
