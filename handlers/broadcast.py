"""/siaran: an admin composes a broadcast (message, audience, preview, send or schedule) and
steers it while it runs (pause, resume, stop). Sending itself is bot/broadcast.py's job.

Steps of the composer flow: text → media → audience (with sub-steps to pick sectors,
regencies, statuses, languages, channels) → preview → send now / "when" → scheduled.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from db import broadcasts as data
from db.models import Broadcast, BroadcastState, DeliveryState
from db.regions import get_region, search_regions
from handlers.context import Context, Translate, button
from handlers.events import Button, ButtonPress, Command, Document, MediaOut, Photo, Reply, Text
from handlers.features import Feature, SimpleFlow
from handlers.i18n import N_
from handlers.labels import SECTOR_LABELS
from handlers.payload import Payload

FLOW = "bcast"
CONTROL = "bctl"  # buttons on a running broadcast's progress message
PDF = "application/pdf"
STATUS_LABELS = {
    "approved": N_("Has an approved product"),
    "in_review": N_("Has a product in review"),
    "draft": N_("Has a draft"),
    data.NO_PRODUCT: N_("Registered, no product yet"),
}
LANGUAGE_LABELS = {"id": "Bahasa Indonesia", "en": "English"}
CHANNEL_LABELS = {"telegram": "Telegram", "whatsapp": "WhatsApp"}
STATE_LABELS: dict[str, str] = {
    BroadcastState.scheduled: N_("scheduled"),
    BroadcastState.running: N_("sending"),
    BroadcastState.paused: N_("paused"),
    BroadcastState.done: N_("finished"),
    BroadcastState.cancelled: N_("stopped"),
}
CHOICES: dict[str, dict[str, str]] = {
    "sectors": SECTOR_LABELS,
    "statuses": STATUS_LABELS,
    "languages": LANGUAGE_LABELS,
    "channels": CHANNEL_LABELS,
}


# --- commands ---------------------------------------------------------------------------


async def start(ctx: Context) -> None:
    """/siaran: compose a new broadcast; /siaran ID: that broadcast's report."""
    event = ctx.incoming.event
    arg = event.args.strip() if isinstance(event, Command) else ""
    if arg:
        await show(ctx, arg)
        return
    ctx.goto(FLOW, "text")
    await prompt(ctx)


async def show(ctx: Context, arg: str) -> None:
    broadcast = await data.get_broadcast(ctx.session, int(arg)) if arg.isdigit() else None
    if broadcast is None:
        ctx.reply(ctx.t("No broadcast #{id}. /siaran_daftar lists them.", id=arg))
        return
    report = await data.report(ctx.session, broadcast)
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
            f"{_local(ctx, b.scheduled_at or b.created_at)} · {_strip(first)[:40]}"
        )
    ctx.reply("\n".join(lines))


# --- the composer -----------------------------------------------------------------------


async def prompt(ctx: Context) -> None:
    t = ctx.t
    match ctx.step:
        case "text":
            ctx.reply(
                t(
                    "📣 New broadcast. Send the message as producers should read it "
                    "(bold, italics and links are kept). A photo with a caption works too. "
                    "/batal stops."
                )
            )
        case "media":
            ctx.reply(
                t("Add one photo or one PDF document? Send it now, or skip."),
                buttons=[button(t("Skip"), FLOW, "media", "skip")],
            )
        case "audience" | "sectors" | "statuses" | "languages" | "channels":
            await _audience(ctx)
        case "regions":
            ctx.reply(
                t("Type a regency or city (e.g. Kab. Malang, Surabaya); several: one at a time."),
                buttons=[button(t("Done"), FLOW, "aud", "menu")],
            )
        case "preview":
            await _preview(ctx)
        case "when":
            ctx.reply(
                t(
                    "When should it go out (Asia/Jakarta time)? For example 1/12 09:00 or "
                    "2026-12-01 09:00."
                ),
                buttons=[button(t("« Back"), FLOW, "aud", "preview")],
            )
        case _:
            ctx.goto(FLOW, "text")
            await prompt(ctx)


async def on_event(ctx: Context) -> None:
    """Messages while composing: the text, the file, a regency name or a time."""
    event = ctx.incoming.event
    step = ctx.step
    if step == "text" and isinstance(event, Text) and event.text.strip():
        ctx.update_data(text=event.html or event.text, html=event.html is not None)
        ctx.goto(FLOW, "media")
    elif step in ("text", "media") and isinstance(event, Photo):
        caption = event.caption or ctx.data.get("text")
        if not caption:
            ctx.reply(ctx.t("Send the message text first, then the photo."))
            return
        ctx.update_data(
            text=caption if event.caption else ctx.data["text"],
            html=False if event.caption else ctx.data.get("html", False),
            media_kind="photo",
            media_id=event.media.file_id,
            media_name=None,
        )
        ctx.goto(FLOW, "audience")
    elif step == "media" and isinstance(event, Document):
        if event.media.mime != PDF:
            ctx.reply(ctx.t("Only a PDF document can be attached. Send a PDF, or skip."))
            return
        ctx.update_data(
            media_kind="document", media_id=event.media.file_id, media_name=event.media.file_name
        )
        ctx.goto(FLOW, "audience")
    elif step == "regions" and isinstance(event, Text):
        await _add_region(ctx, event.text)
        return
    elif step == "when" and isinstance(event, Text):
        await _schedule(ctx, event.text)
        return
    else:
        ctx.reply(_refusal(ctx))
    await prompt(ctx)


def _refusal(ctx: Context) -> str:
    t = ctx.t
    match ctx.step:
        case "text":
            return t("I need the message as text (or a photo with a caption).")
        case "media":
            return t("Send one photo or one PDF, or tap Skip.")
        case _:
            return t("Please use the buttons below.")


async def on_button(ctx: Context, payload: Payload) -> None:
    """Composer buttons: bcast|media|skip, bcast|aud|<menu item>, bcast|pick|<kind:code>."""
    if not ctx.is_admin:
        ctx.reply(ctx.t("Sorry, /{command} is for admins only.", command="siaran"))
        return
    if ctx.flow != FLOW:
        ctx.reply(ctx.t("That button is no longer valid."))
        return
    value = payload.value
    if payload.step == "media" and value == "skip" and ctx.step == "media":
        ctx.goto(FLOW, "audience")
    elif payload.step == "pick" and ":" in value:
        kind, code = value.split(":", 1)
        filters = _filters(ctx)
        chosen = filters.setdefault(kind, [])
        if kind in CHOICES and code in CHOICES[kind]:
            filters[kind] = [c for c in chosen if c != code] if code in chosen else [*chosen, code]
        ctx.update_data(filters=filters)
        await _audience(ctx, edit=True)
        return
    elif payload.step == "rm" and value:
        filters = _filters(ctx)
        filters["regions"] = [c for c in filters.get("regions", []) if c != value]
        ctx.update_data(filters=filters)
    elif payload.step == "aud":
        if not await _audience_button(ctx, value):
            return
    else:
        ctx.reply(ctx.t("That button is no longer valid."))
    await prompt(ctx)


async def _audience_button(ctx: Context, value: str) -> bool:
    """Menu of the audience and preview steps; False when the reply is already made."""
    if value in CHOICES:
        ctx.goto(FLOW, value)
        await _audience(ctx, edit=True)
        return False
    if value == "regions":
        ctx.goto(FLOW, "regions")
    elif value == "everyone":
        ctx.update_data(filters={})
        ctx.goto(FLOW, "audience")
    elif value == "menu":
        ctx.goto(FLOW, "audience")
    elif value == "preview":
        ctx.goto(FLOW, "preview")
    elif value == "urgent":
        ctx.update_data(urgent=not ctx.data.get("urgent", False))
        ctx.goto(FLOW, "preview")
    elif value == "send":
        await _create(ctx, scheduled_at=None)
        return False
    elif value == "later":
        ctx.goto(FLOW, "when")
    elif value == "cancel":
        ctx.end_flow()
        ctx.reply(ctx.t("Broadcast discarded; nothing was sent."))
        return False
    return True


def _filters(ctx: Context) -> dict[str, list[str]]:
    return {k: list(v) for k, v in (ctx.data.get("filters") or {}).items()}


def _audience_of(ctx: Context) -> data.Audience:
    return data.Audience.from_dict(ctx.data.get("filters") or {})


async def _audience(ctx: Context, *, edit: bool = False) -> None:
    t = ctx.t
    audience = _audience_of(ctx)
    count = await data.count_audience(ctx.session, audience)
    text = t("Who receives it? Combine filters; the count updates as you go.")
    text += "\n\n" + describe(t, audience) + "\n" + t("Recipients: {n}", n=count)
    kind = ctx.step if ctx.step in CHOICES else None
    rows: list[list[Button]]
    if kind is not None:
        chosen = set(getattr(audience, kind))
        rows = [
            [button(("✅ " if code in chosen else "▫️ ") + t(label), FLOW, "pick", f"{kind}:{code}")]
            for code, label in CHOICES[kind].items()
        ]
        rows.append([button(t("Done"), FLOW, "aud", "menu")])
    else:
        rows = [
            [
                button(t("Sectors"), FLOW, "aud", "sectors"),
                button(t("Regencies"), FLOW, "aud", "regions"),
            ],
            [button(t("Product status"), FLOW, "aud", "statuses")],
            [
                button(t("Language"), FLOW, "aud", "languages"),
                button(t("Channel"), FLOW, "aud", "channels"),
            ],
            [button(t("Everyone"), FLOW, "aud", "everyone")],
            [button(t("Preview ▶️"), FLOW, "aud", "preview")],
        ]
        for code in audience.regions:
            region = get_region(code)
            rows.append([button("✖ " + (region.label if region else code), FLOW, "rm", code)])
    ctx.reply(text, buttons=rows, edit=edit and isinstance(ctx.incoming.event, ButtonPress))


def describe(t: Translate, audience: data.Audience) -> str:
    """The segment in words, one filter a line."""
    if audience.everyone:
        return t("Everyone (registered, not opted out)")
    parts = []
    if audience.sectors:
        parts.append(
            t("Sectors: {v}", v=", ".join(t(SECTOR_LABELS.get(s, s)) for s in audience.sectors))
        )
    if audience.regions:
        names = [(r.label if (r := get_region(c)) else c) for c in audience.regions]
        parts.append(t("Regencies: {v}", v=", ".join(names)))
    if audience.statuses:
        parts.append(t("Status: {v}", v=", ".join(t(STATUS_LABELS[s]) for s in audience.statuses)))
    if audience.languages:
        parts.append(
            t("Language: {v}", v=", ".join(LANGUAGE_LABELS[x] for x in audience.languages))
        )
    if audience.channels:
        parts.append(t("Channel: {v}", v=", ".join(CHANNEL_LABELS[x] for x in audience.channels)))
    return "\n".join(parts)


async def _add_region(ctx: Context, text: str) -> None:
    found = search_regions(text)
    if not found:
        ctx.reply(ctx.t("No regency or city matches “{q}”. Try again.", q=text[:50]))
        await prompt(ctx)
        return
    exact = [r for r in found if r.label.lower() == text.strip().lower()]
    region = exact[0] if exact else found[0]
    if len(found) > 1 and not exact:
        ctx.reply(
            ctx.t(
                "Several match; I took {name}. Type the full name if you meant another.",
                name=region.label,
            )
        )
    filters = _filters(ctx)
    if region.code not in filters.get("regions", []):
        filters["regions"] = [*filters.get("regions", []), region.code]
    ctx.update_data(filters=filters)
    count = await data.count_audience(ctx.session, _audience_of(ctx))
    ctx.reply(
        ctx.t(
            "Added {name}. Recipients: {n}. Type another, or tap Done.", name=region.label, n=count
        ),
        buttons=[button(ctx.t("Done"), FLOW, "aud", "menu")],
    )


def estimate(t: Translate, count: int, rate: float) -> str:
    seconds = int(count / rate) if rate > 0 else 0
    if seconds < 60:
        return t("under a minute")
    if seconds < 3600:
        return t("about {m} min", m=seconds // 60 + 1)
    return t("about {h} h {m} min", h=seconds // 3600, m=(seconds % 3600) // 60)


async def _preview(ctx: Context) -> None:
    t = ctx.t
    d = ctx.data
    count = await data.count_audience(ctx.session, _audience_of(ctx))
    ctx.replies.extend(preview_replies(d))
    urgent = d.get("urgent", False)
    ctx.reply(
        t(
            "👆 This is how producers will see it.\nRecipients: {n} · estimated time: {eta}\n"
            "{audience}",
            n=count,
            eta=estimate(t, count, ctx.settings.broadcast_rate),
            audience=describe(t, _audience_of(ctx)),
        ),
        buttons=[
            [
                button(t("📤 Send"), FLOW, "aud", "send"),
                button(t("🕒 Schedule"), FLOW, "aud", "later"),
            ],
            [
                button(
                    ("☑️ " if urgent else "⬜ ") + t("Urgent (also during quiet hours)"),
                    FLOW,
                    "aud",
                    "urgent",
                )
            ],
            [
                button(t("« Audience"), FLOW, "aud", "menu"),
                button(t("✖ Cancel"), FLOW, "aud", "cancel"),
            ],
        ],
    )


def preview_replies(d: dict[str, Any]) -> list[Reply]:
    text, html = d.get("text", ""), bool(d.get("html"))
    if d.get("media_kind") == "photo":
        if len(text) <= 1024:
            return [
                Reply("", media=(MediaOut("", cached_id=d["media_id"], caption=text),), html=html)
            ]
        return [Reply("", media=(MediaOut("", cached_id=d["media_id"]),)), Reply(text, html=html)]
    if d.get("media_kind") == "document":
        return [Reply(f"📎 {d.get('media_name') or 'PDF'}\n\n{text}", html=html)]
    return [Reply(text, html=html)]


_WHEN = re.compile(
    r"\s*(?:(\d{4})-(\d{1,2})-(\d{1,2})|(\d{1,2})[/.-](\d{1,2})(?:[/.-](\d{4}))?)\s+"
    r"(?:jam\s+|pukul\s+)?(\d{1,2})[:.](\d{2})\s*"
)


def parse_when(text: str, *, now: datetime, zone: ZoneInfo) -> datetime | None:
    """A local date and time ("1/12 09:00", "2026-12-01 09.00") as UTC-aware, or None."""
    m = _WHEN.fullmatch(text.lower())
    if m is None:
        return None
    local_now = now.astimezone(zone)
    if m.group(1):
        year, month, day = int(m.group(1)), int(m.group(2)), int(m.group(3))
    else:
        day, month = int(m.group(4)), int(m.group(5))
        year = int(m.group(6)) if m.group(6) else local_now.year
    try:
        at = datetime(year, month, day, int(m.group(7)), int(m.group(8)), tzinfo=zone)
    except ValueError:
        return None
    if not m.group(1) and not m.group(6) and at < local_now:
        at = at.replace(year=year + 1)  # "1/1 09:00" in December means next year
    return at


async def _schedule(ctx: Context, text: str) -> None:
    zone = ZoneInfo(ctx.settings.timezone)
    at = parse_when(text, now=ctx.now, zone=zone)
    if at is None:
        ctx.reply(ctx.t("I could not read that date and time. Example: 1/12 09:00"))
    elif at <= ctx.now:
        ctx.reply(ctx.t("That time has passed. Give a time in the future."))
    elif at > ctx.now + timedelta(days=365):
        ctx.reply(ctx.t("That is more than a year away. Give a nearer date."))
    else:
        await _create(ctx, scheduled_at=at)
        return
    await prompt(ctx)


async def _create(ctx: Context, *, scheduled_at: datetime | None) -> None:
    d = ctx.data
    if not d.get("text"):
        ctx.goto(FLOW, "text")
        await prompt(ctx)
        return
    audience = _audience_of(ctx)
    broadcast = await data.create_broadcast(
        ctx.session,
        text=d["text"],
        html=bool(d.get("html")),
        audience=audience,
        created_by=ctx.user.id,
        now=ctx.now,
        media_kind=d.get("media_kind"),
        media_name=d.get("media_name"),
        media_ids={ctx.user.channel: d["media_id"]} if d.get("media_id") else None,
        urgent=bool(d.get("urgent")),
        scheduled_at=scheduled_at,
        report_to=(ctx.user.channel, ctx.incoming.chat_id),
    )
    action = "broadcast_scheduled" if scheduled_at else "broadcast_sent"
    await data.audit(
        ctx.session,
        action=action,
        actor_user_id=ctx.user.id,
        detail=f"#{broadcast.id} {describe(_untranslated, audience)}",
        now=ctx.now,
    )
    ctx.end_flow()
    ctx.signals.add("broadcast")
    if scheduled_at:
        ctx.reply(
            ctx.t(
                "🕒 Broadcast #{id} is scheduled for {when}. /siaran {id} shows it; "
                "/siaran_daftar lists all.",
                id=broadcast.id,
                when=_local(ctx, scheduled_at),
            ),
            buttons=control_buttons(ctx.t, broadcast),
        )
    else:
        ctx.reply(ctx.t("📤 Broadcast #{id} is starting. Progress follows here.", id=broadcast.id))


# --- steering a running broadcast -------------------------------------------------------


async def on_control(ctx: Context, payload: Payload) -> None:
    """Jeda / Lanjut / Hentikan on a progress message (admins only)."""
    if not ctx.is_admin:
        ctx.reply(ctx.t("Sorry, /{command} is for admins only.", command="siaran"))
        return
    if payload.step not in data.TRANSITIONS or not payload.value.isdigit():
        ctx.reply(ctx.t("That button is no longer valid."))
        return
    await steer(ctx, int(payload.value), payload.step)


async def steer(ctx: Context, broadcast_id: int, action: str) -> None:
    broadcast = await data.change_state(ctx.session, broadcast_id, action, now=ctx.now)
    if broadcast is None:
        ctx.reply(ctx.t("Broadcast #{id} cannot do that now.", id=broadcast_id))
        return
    await data.audit(
        ctx.session,
        action=f"broadcast_{action}",
        actor_user_id=ctx.user.id,
        detail=f"#{broadcast_id}",
        now=ctx.now,
    )
    ctx.signals.add("broadcast")
    report = await data.report(ctx.session, broadcast)
    ctx.reply(
        report_text(ctx.t, broadcast, report),
        buttons=control_buttons(ctx.t, broadcast),
        edit=isinstance(ctx.incoming.event, ButtonPress),
    )


def control_buttons(t: Translate, broadcast: Broadcast) -> list[list[Button]]:
    state, bid = broadcast.state, str(broadcast.id)
    row = []
    if state in (BroadcastState.running, BroadcastState.scheduled):
        row.append(button(t("⏸ Pause"), CONTROL, "pause", bid))
    if state == BroadcastState.paused:
        row.append(button(t("▶️ Resume"), CONTROL, "resume", bid))
    if state not in data.FINAL_STATES:
        row.append(button(t("⏹ Stop"), CONTROL, "cancel", bid))
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
                rate=f"{rate:.1f}",
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


def _local(ctx: Context, moment: datetime) -> str:
    return moment.astimezone(ZoneInfo(ctx.settings.timezone)).strftime("%d/%m/%Y %H:%M")


def _strip(text: str) -> str:
    return re.sub(r"<[^>]+>", "", text)


def _untranslated(message: str, /, **values: Any) -> str:
    """For the audit trail: the English text."""
    return message.format(**values)


FEATURE = Feature(
    commands={
        "siaran": start,
        "broadcast": start,
        "siaran_daftar": list_recent,
        "broadcasts": list_recent,
    },
    admin_only=frozenset({"siaran", "broadcast", "siaran_daftar", "broadcasts"}),
    buttons={CONTROL: on_control},
    forms=(SimpleFlow(FLOW, on_event, on_button, prompt),),
)
