"""/siaran as a form: the message, an optional photo or PDF, the audience (audience.py), then
the preview as recipients will see it, with the count and the time it takes. From the preview
it is sent, scheduled (a date and time), marked urgent, or dropped; « Audience goes back to
the audience and returns. Sending itself is bot/broadcast.py's job."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from db import broadcasts as data
from db.audit import audit
from handlers.features.broadcast import markup
from handlers.features.broadcast.audience import AUDIENCE as AUDIENCE_INPUT
from handlers.features.broadcast.audience import audience_of, describe
from handlers.features.broadcast.steer import control_buttons, estimate, local_time, show
from handlers.i18n import N_
from handlers.kit.context import Context
from handlers.kit.events import Command, MediaOut, Reply
from handlers.kit.forms.engine import SUMMARY, Field, Form, Skip, Step
from handlers.kit.forms.inputs import DateTimeInput
from handlers.kit.forms.messages import DOCUMENT, PHOTO, Message, MessageInput
from handlers.kit.payload import Payload
from handlers.kit.render import Option, choice_reply

FLOW = "bcast"
PDF = "application/pdf"
TEXT, MEDIA, AUDIENCE, WHEN = "text", "media", "audience", "when"
SEND, LATER, URGENT, CANCEL = "send", "later", "urgent", "cancel"
NOBODY = "nobody"  # "0 recipients: send (or schedule) anyway?"
YES, BACK = "yes", "back"


def _when_question(ctx: Context, record: dict[str, Any]) -> str:
    """The examples are tomorrow morning: an example must be a time still ahead."""
    zone = ctx.settings.timezone
    day = ctx.now.astimezone(ZoneInfo(zone)) + timedelta(days=1)
    short, iso = f"{day.day}/{day.month} 09:00", f"{day:%Y-%m-%d} 09:00"
    return ctx.t(
        "When should it go out ({zone} time)? For example {short} or {iso}.",
        zone=zone,
        short=short,
        iso=iso,
    )


FIELDS: tuple[Field[dict[str, Any]], ...] = (
    Field(
        TEXT,
        "",
        N_(
            "📣 New broadcast. Send the message as producers should read it "
            "(bold, italics and links are kept). A photo with a caption works too. "
            "/batal stops."
        ),
        MessageInput(
            caption_needed=N_("Send the message text first, then the photo."),
            refusal=N_("I need the message as text (or a photo with a caption)."),
            check=lambda ctx, message: _unsendable(ctx, message),
        ),
        editable=False,
    ),
    Field(
        MEDIA,
        "",
        N_("Add one photo or one PDF document? Send it now, or skip."),
        MessageInput(
            text=False,
            documents=(PDF,),
            wrong_type=N_("Only a PDF document can be attached. Send a PDF, or skip."),
            refusal=N_("Send one photo or one PDF, or tap Skip."),
        ),
        skip=Skip(N_("Skip")),
        editable=False,
    ),
    Field(
        AUDIENCE,
        N_("« Audience"),
        N_("Who receives it? Combine filters; the count updates as you go."),
        AUDIENCE_INPUT,
    ),
    Field(  # asked only when Schedule is pressed on the preview
        WHEN,
        "",
        _when_question,
        DateTimeInput(back=N_("« Back")),
        editable=False,
    ),
)


def _nobody_text(ctx: Context, record: dict[str, Any]) -> str:
    if record.get("then") == LATER:
        return ctx.t(
            "Nobody matches this audience right now: 0 recipients. Whoever matches when it "
            "starts will get it. Schedule it anyway?"
        )
    return ctx.t("Nobody matches this audience: 0 recipients, so nobody would get it. Send anyway?")


def _nobody_options(ctx: Context, record: dict[str, Any]) -> list[Option]:
    t = ctx.t
    go = t("🕒 Schedule anyway") if record.get("then") == LATER else t("📤 Send anyway")
    return [
        Option(YES, go),
        Option(AUDIENCE, t("« Audience")),
        Option(BACK, t("↩️ Back to the preview")),
    ]


def _unsendable(ctx: Context, message: Message) -> str | None:
    """Why the text would fail on a channel it reaches (Telegram's HTML rules, the length
    every channel allows), said before anything is queued; None when it can go."""
    problem = markup.check(message.text or "", html=message.html)
    if problem is None:
        return None
    return ctx.t(
        "This message cannot be sent: {reason}. Please send it again.",
        reason=ctx.t(problem.reason, detail=problem.detail),
    )


class BroadcastForm(Form[dict[str, Any]]):
    """The record is the conversation's data: text, html, media_kind / media_id /
    media_name, filters, urgent."""

    flow: ClassVar[str] = FLOW
    fields = FIELDS

    def __init__(self) -> None:
        super().__init__()
        self.steps = {NOBODY: Step(_nobody_text, _nobody_options, self._nobody_chosen)}

    async def record(self, ctx: Context) -> dict[str, Any]:
        return ctx.data

    def answered(self, record: dict[str, Any], field: Field[dict[str, Any]]) -> bool:
        match field.name:
            case "text":
                return bool(record.get("text"))
            case "media":
                return "media_kind" in record  # None once skipped
            case "audience":
                return "filters" in record
        return True  # WHEN: only on request

    async def save(
        self, ctx: Context, record: dict[str, Any], field: Field[dict[str, Any]], value: Any
    ) -> bool:
        if field.name == WHEN:
            await self.create(ctx, record, scheduled_at=value)
            return False
        if field.name == AUDIENCE:
            ctx.update_data(filters=value)
            return True
        message: Message | None = value
        if message is None:  # no photo or PDF
            ctx.update_data(media_kind=None)
            return True
        if message.text and (field.name == TEXT or message.kind == PHOTO):  # a photo's caption
            ctx.update_data(text=message.text, html=message.html)
        if message.kind is not None:
            ctx.update_data(
                media_kind=message.kind, media_id=message.file_id, media_name=message.file_name
            )
        return True

    # --- only admins compose -------------------------------------------------------------

    async def on_event(self, ctx: Context) -> None:
        if not _refused(ctx):
            await super().on_event(ctx)

    async def on_button(self, ctx: Context, payload: Payload) -> None:
        if not _refused(ctx):
            await super().on_button(ctx, payload)

    # --- the preview (this form's summary) ----------------------------------------------

    def edit_options(self, ctx: Context, record: dict[str, Any]) -> list[Option]:
        return [Option(AUDIENCE, ctx.t("« Audience"))]

    def summary_actions(self, ctx: Context, record: dict[str, Any]) -> list[Option]:
        t = ctx.t
        urgent = "☑️ " if record.get("urgent") else "⬜ "
        return [
            Option(SEND, t("📤 Send")),
            Option(LATER, t("🕒 Schedule")),
            Option(CANCEL, t("✖ Cancel")),
            Option(URGENT, urgent + t("Urgent (also during quiet hours)")),
        ]

    async def ask_summary(self, ctx: Context, record: dict[str, Any]) -> None:
        t = ctx.t
        audience = audience_of(record.get("filters") or {})
        n = await data.count_audience(ctx.session, audience=audience)
        ctx.replies.extend(preview_replies(record))
        text = t(
            "👆 This is how producers will see it.\nRecipients: {n} · estimated time: {eta}\n"
            "{audience}",
            n=n,
            eta=estimate(t, n, ctx.settings.broadcast_rate),
            audience=describe(t, audience),
        )
        send, later, cancel, urgent = self.summary_actions(ctx, record)
        options = [send, later, *self.edit_options(ctx, record), cancel, urgent]
        ctx.replies.append(
            choice_reply(ctx.capabilities, t, text, options, flow=FLOW, step=SUMMARY)
        )

    async def on_action(self, ctx: Context, record: dict[str, Any], action: str) -> None:
        if action in (SEND, LATER) and not await self._has_recipients(ctx, record):
            ctx.update_data(then=action)  # asked first: nobody would receive it now
            await self.go(ctx, NOBODY)
        elif action == SEND:
            await self.create(ctx, record, scheduled_at=None)
        elif action == LATER:
            await self.edit(ctx, WHEN)
        elif action == URGENT:
            ctx.update_data(urgent=not record.get("urgent", False))
            await self.prompt(ctx)
        else:
            ctx.end_flow()
            ctx.reply(ctx.t("Broadcast discarded; nothing was sent."))

    async def _has_recipients(self, ctx: Context, record: dict[str, Any]) -> bool:
        audience = audience_of(record.get("filters") or {})
        return await data.count_audience(ctx.session, audience=audience) > 0

    async def _nobody_chosen(self, ctx: Context, record: dict[str, Any], choice: str) -> None:
        if choice == YES and record.get("then") == SEND:
            await self.create(ctx, record, scheduled_at=None)
        elif choice == YES:
            await self.edit(ctx, WHEN)
        elif choice == AUDIENCE:
            await self.edit(ctx, AUDIENCE)
        else:
            await self.go(ctx, SUMMARY)

    async def refuse(self, ctx: Context, message: str) -> None:
        if ctx.step == SUMMARY:
            message = ctx.t("Please use the buttons below.")
        await super().refuse(ctx, message)

    async def create(
        self, ctx: Context, record: dict[str, Any], *, scheduled_at: datetime | None
    ) -> None:
        if not record.get("text"):
            await self.go(ctx, TEXT)
            return
        audience = audience_of(record.get("filters") or {})
        broadcast = await data.create_broadcast(
            ctx.session,
            text=record["text"],
            html=bool(record.get("html")),
            audience=audience,
            created_by=ctx.user.id,
            now=ctx.now,
            media_kind=record.get("media_kind"),
            media_name=record.get("media_name"),
            media_ids={ctx.user.channel: record["media_id"]} if record.get("media_id") else None,
            urgent=bool(record.get("urgent")),
            scheduled_at=scheduled_at,
            report_to=(ctx.user.channel, ctx.incoming.chat_id),
        )
        action = "broadcast_scheduled" if scheduled_at else "broadcast_sent"
        await audit(
            ctx.session,
            action=action,
            actor_user_id=ctx.user.id,
            detail=f"#{broadcast.id} {describe(_untranslated, audience)}",
            now=ctx.now,
        )
        ctx.end_flow()
        ctx.signals.add("broadcast")
        if scheduled_at is None:
            ctx.reply(
                ctx.t("📤 Broadcast #{id} is starting. Progress follows here.", id=broadcast.id)
            )
            return
        ctx.reply(
            ctx.t(
                "🕒 Broadcast #{id} is scheduled for {when}. /siaran {id} shows it; "
                "/siaran_daftar lists all.",
                id=broadcast.id,
                when=local_time(ctx, scheduled_at),
            ),
            buttons=control_buttons(ctx.t, broadcast),
        )


FORM = BroadcastForm()


async def start(ctx: Context) -> None:
    """/siaran: compose a new broadcast (from the beginning); /siaran ID: that one's report."""
    event = ctx.incoming.event
    arg = event.args.strip() if isinstance(event, Command) else ""
    if arg:
        await show(ctx, arg)
        return
    ctx.end_flow()
    await FORM.start(ctx)


def _refused(ctx: Context) -> bool:
    """A person who is no longer an admin cannot go on composing."""
    if ctx.is_admin:
        return False
    ctx.reply(ctx.t("Sorry, /{command} is for admins only.", command="siaran"))
    return True


def preview_replies(d: dict[str, Any]) -> list[Reply]:
    """The message as recipients will see it."""
    text, html = d.get("text", ""), bool(d.get("html"))
    if d.get("media_kind") == PHOTO:
        if len(text) <= 1024:
            return [
                Reply("", media=(MediaOut("", cached_id=d["media_id"], caption=text),), html=html)
            ]
        return [Reply("", media=(MediaOut("", cached_id=d["media_id"]),)), Reply(text, html=html)]
    if d.get("media_kind") == DOCUMENT:
        return [Reply(f"📎 {d.get('media_name') or 'PDF'}\n\n{text}", html=html)]
    return [Reply(text, html=html)]


def _untranslated(message: str, /, **values: Any) -> str:
    """For the audit trail: the English text."""
    return message.format(**values)
