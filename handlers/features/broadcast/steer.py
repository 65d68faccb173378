"""A broadcast once made: its report (/siaran ID), the recent ones (/siaran_daftar), and
Jeda / Lanjut / Hentikan on the progress message that bot/broadcast.py edits as it sends."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from db import broadcasts as data
from db.audit import audit
from db.models import Broadcast, BroadcastState, DeliveryState
from handlers.i18n import N_
from handlers.kit.context import Context, Translate
from handlers.kit.events import Button, ButtonPress, Reply
from handlers.kit.forms.dates import date_text
from handlers.kit.payload import ButtonData, Payload

CONTROL = "bctl"  # buttons on a running broadcast's progress message


@dataclass(frozen=True)
class ControlButton(ButtonData, flow=CONTROL, steps=tuple(data.TRANSITIONS)):
    """Pause, resume or stop (`step`) one broadcast."""

    step: str
    broadcast_id: int


STATE_LABELS: dict[str, str] = {
    BroadcastState.scheduled: N_("scheduled"),
    BroadcastState.running: N_("sending"),
    BroadcastState.paused: N_("paused"),
    BroadcastState.done: N_("finished"),
    BroadcastState.cancelled: N_("stopped"),
}


async def show(ctx: Context, arg: str) -> None:
    broadcast = (
        await data.get_broadcast(ctx.session, broadcast_id=int(arg)) if arg.isdigit() else None
    )
    if broadcast is None:
        ctx.reply(ctx.t("No broadcast #{id}. /siaran_daftar lists them.", id=arg))
        return
    report = await data.report(ctx.session, broadcast=broadcast)
    ctx.reply(report_text(ctx.t, broadcast, report), buttons=control_buttons(ctx.t, broadcast))


async def list_recent(ctx: Context) -> None:
    """/siaran_daftar: the latest broadcasts and their state."""
    items = await data.recent_broadcasts(ctx.session)
    if not items:
        ctx.reply(ctx.t("No broadcasts yet. Start one with /siaran."))
        return
    lines = [ctx.t("Recent broadcasts (/siaran ID shows one):")]
    for b in items:
        first = b.text.strip().splitlines()[0] if b.text.strip() else "—"
        lines.append(
            f"#{b.id} · {ctx.t(STATE_LABELS.get(b.state, b.state))} · {b.total} · "
            f"{local_time(ctx, b.scheduled_at or b.created_at)} · {_strip(first)[:40]}"
        )
    ctx.reply("\n".join(lines))


def estimate(t: Translate, count: int, rate: float) -> str:
    seconds = int(count / rate) if rate > 0 else 0
    if seconds < 60:
        return t("under a minute")
    if seconds < 3600:
        return t("about {m} min", m=seconds // 60 + 1)
    return t("about {h} h {m} min", h=seconds // 3600, m=(seconds % 3600) // 60)


async def on_control(ctx: Context, payload: Payload) -> None:
    """Jeda / Lanjut / Hentikan on a progress message (admins only)."""
    if not ctx.is_admin:
        ctx.reply(ctx.t("Sorry, /{command} is for admins only.", command="siaran"))
        return
    pressed = ControlButton.read(payload)
    if pressed is None:
        ctx.reply(ctx.t("That button is no longer valid."))
        return
    await steer(ctx, pressed.broadcast_id, pressed.step)


async def steer(ctx: Context, broadcast_id: int, action: str) -> None:
    broadcast = await data.change_state(
        ctx.session, broadcast_id=broadcast_id, action=action, now=ctx.now
    )
    if broadcast is None:
        ctx.reply(ctx.t("Broadcast #{id} cannot do that now.", id=broadcast_id))
        return
    await audit(
        ctx.session,
        action=f"broadcast_{action}",
        actor_user_id=ctx.user.id,
        detail=f"#{broadcast_id}",
        now=ctx.now,
    )
    ctx.signals.add("broadcast")
    report = await data.report(ctx.session, broadcast=broadcast)
    ctx.reply(
        report_text(ctx.t, broadcast, report),
        buttons=control_buttons(ctx.t, broadcast),
        edit=isinstance(ctx.incoming.event, ButtonPress),
    )


def control_buttons(t: Translate, broadcast: Broadcast) -> list[list[Button]]:
    state, bid = broadcast.state, broadcast.id
    row = []
    if state in (BroadcastState.running, BroadcastState.scheduled):
        row.append(ControlButton("pause", bid).button(t("⏸ Pause")))
    if state == BroadcastState.paused:
        row.append(ControlButton("resume", bid).button(t("▶️ Resume")))
    if state not in data.FINAL_STATES:
        row.append(ControlButton("cancel", bid).button(t("⏹ Stop")))
    return [row] if row else []


def report_text(
    t: Translate,
    broadcast: Broadcast,
    report: data.Report,
    *,
    rate: float = 0.0,
    held: bool = False,
) -> str:
    c = report.counts
    lines = [
        t(
            "📣 Broadcast #{id}: {state}",
            id=broadcast.id,
            state=t(STATE_LABELS.get(broadcast.state, broadcast.state)),
        ),
        t(
            "Delivered {sent} · blocked {blocked} · failed {failed} · left {left} of {total}",
            sent=c.get(DeliveryState.sent, 0),
            blocked=c.get(DeliveryState.blocked, 0),
            failed=c.get(DeliveryState.failed, 0) + c.get(DeliveryState.needs_template, 0),
            left=report.left,
            total=report.total,
        ),
    ]
    if broadcast.state == BroadcastState.running and rate > 0:
        lines.append(
            t(
                "{rate} msg/s · done in {eta}",
                rate=format(rate, ".1f"),
                eta=estimate(t, report.left, rate),
            )
        )
    if held:
        lines.append(t("⏸ Held during quiet hours; it continues when they end."))
    for reason, n in sorted(report.errors.items(), key=lambda e: -e[1])[:5]:
        lines.append(f"• {reason[:80]}: {n}")
    if broadcast.started_at and broadcast.finished_at:
        took = int((broadcast.finished_at - broadcast.started_at).total_seconds())
        lines.append(t("Time taken: {m} min {s} s", m=took // 60, s=took % 60))
    return "\n".join(lines)


def progress_reply(
    t: Translate, broadcast: Broadcast, report: data.Report, *, rate: float, held: bool = False
) -> Reply:
    text = report_text(t, broadcast, report, rate=rate, held=held)
    return Reply(text, buttons=tuple(tuple(r) for r in control_buttons(t, broadcast)))


def final_reply(t: Translate, broadcast: Broadcast, report: data.Report) -> Reply:
    return Reply(t("✅ Finished.") + "\n" + report_text(t, broadcast, report))


def local_time(ctx: Context, moment: datetime) -> str:
    """ "25 Nov 2026 14:30 WIB": the configured zone's time, the zone named, the month in the
    reader's language."""
    local = moment.astimezone(ZoneInfo(ctx.settings.timezone))
    return f"{date_text(ctx.t, local.date())} {local:%H:%M %Z}"


def _strip(text: str) -> str:
    return re.sub(r"<[^>]+>", "", text)
