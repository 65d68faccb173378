"""The route table: each feature module's `FEATURE`, assembled; and `dispatch`.

Every channel calls `dispatch` with a filled-in `Context`; nothing here knows which channel.
Flows never call back up here: they ask `ctx.reprompt()` or `ctx.redirect(entry)`, and
`dispatch` acts on it once the handler returns.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

from db.recent import sent_notices, sent_notifications
from handlers import (
    admin,
    broadcast,
    catalogue,
    common,
    dashboard,
    export,
    fairs,
    inquiries,
    link,
    mydata,
    product,
    registration,
    reminders,
    stats,
    typed,
)
from handlers.common import MENU_COMMANDS
from handlers.context import REPROMPT, Context
from handlers.events import ButtonPress, Command, Text
from handlers.features import ButtonHandler, Feature, Flow, Handler, Hint, SimpleFlow
from handlers.i18n import N_
from handlers.payload import Payload
from handlers.render import typed_commands
from handlers.review import FEATURE as REVIEW
from handlers.review.access import group_t, is_review_chat
from handlers.review.actions import on_group_button, on_group_message

__all__ = ["COMMANDS", "GROUP_COMMANDS", "MENU_COMMANDS", "dispatch"]

MAX_NAVIGATION = 4  # redirects one update may chain (a loop would be a bug)
# In the conversation row: the buttons last shown (payloads and labels), so an answer typed
# next presses one, even after a restart (handlers/typed.py). NUMBERED: the older key.
SHOWN = "_shown"
NUMBERED = "_numbered"
MAX_REMEMBERED = 24
NOTICE_MEMORY = timedelta(days=3)  # how long a notice's buttons can be answered by typing


async def cancel(ctx: Context) -> None:
    if ctx.flow is None:
        ctx.reply(ctx.t("There is nothing to stop right now."), buttons=common.menu_buttons(ctx))
        return
    hint = HINTS.get(ctx.flow, N_("send /bantuan to see what you can do next"))
    said = await hint(ctx) if callable(hint) else ctx.t(hint)
    ctx.end_flow()
    ctx.reply(
        ctx.t("Stopped. Everything you answered so far is kept — {hint}.", hint=said),
        remove_keyboard=True,
    )


COMMON = Feature(
    commands={
        "bahasa": common.choose_language,
        "language": common.choose_language,
        "batal": cancel,
        "cancel": cancel,
        "bantuan": common.show_help,
        "help": common.show_help,
        "menu": common.show_menu,
    },
    buttons={common.MENU: common.on_menu_button, "lang": common.on_language_button},
    entries={
        "help": common.show_help,
        "language": common.choose_language,
        "fairs": fairs.FEATURE.commands["pameran"],
        "reminders": reminders.FEATURE.commands["pengingat"],
    },
)

FEATURES: tuple[Feature, ...] = (
    COMMON,
    registration.FEATURE,
    product.FEATURE,
    mydata.FEATURE,
    fairs.FEATURE,
    reminders.FEATURE,
    link.FEATURE,
    stats.FEATURE,
    export.FEATURE,
    dashboard.FEATURE,
    catalogue.FEATURE,
    inquiries.FEATURE,
    broadcast.FEATURE,
    admin.FEATURE,
    REVIEW,
)


T = TypeVar("T")


def _merge(tables: list[Mapping[str, T]], what: str) -> dict[str, T]:
    """One table from every feature's; a name registered twice is a startup error."""
    merged: dict[str, T] = {}
    for table in tables:
        for key, value in table.items():
            if key in merged:
                raise ValueError(f"{what} {key!r} is registered twice")
            merged[key] = value
    return merged


COMMANDS: dict[str, Handler] = _merge([f.commands for f in FEATURES], "command")
GROUP_COMMANDS: dict[str, Handler] = _merge([f.group_commands for f in FEATURES], "command")
BUTTONS: dict[str, ButtonHandler] = _merge([f.buttons for f in FEATURES], "button")
ENTRIES: dict[str, Handler] = _merge([f.entries for f in FEATURES], "entry")
HINTS: dict[str, Hint] = _merge([f.hints for f in FEATURES], "hint")
FLOWS: dict[str, Flow] = _merge([{x.flow: x for x in f.forms} for f in FEATURES], "flow")
ADMIN_ONLY: frozenset[str] = frozenset().union(*(f.admin_only for f in FEATURES))


async def reprompt(ctx: Context) -> None:
    """Ask the open flow's current question again."""
    flow = FLOWS.get(ctx.flow or "")
    if flow is not None:
        await flow.prompt(ctx)


async def dispatch(ctx: Context) -> None:
    if ctx.incoming.chat_type != "private":
        await _dispatch_group(ctx)
    else:
        await _read_typed_words(ctx)
        await _dispatch_private(ctx)
    for _ in range(MAX_NAVIGATION):
        if not ctx.navigation:
            break
        target = ctx.navigation.pop(0)
        if target == REPROMPT:
            await reprompt(ctx)
        else:
            await ENTRIES[target](ctx)
    ctx.navigation.clear()
    if ctx.incoming.chat_type == "private":
        _remember_shown(ctx)
        if not ctx.capabilities.command_menu:  # replies not drawn through ctx.reply too
            ctx.replies = [
                replace(r, text=typed_commands(ctx.t, r.text)) if r.to is None else r
                for r in ctx.replies
            ]


async def _read_typed_words(ctx: Context) -> None:
    """Typed text that means a press or a command: a button shown last, typed (its number,
    its label, a yes or a no: handlers/typed.py), or a plain word such as "produk baru".

    Inside a form the form reads its own answers (only numbered lines and "batal"/"menu"
    count here); in the small flows that are not forms (a confirmation, a code) every
    button and every plain word does, so nobody is kept in a question they cannot answer."""
    data = ctx.conversation.data or {}
    shown = data.get(SHOWN)
    if shown is not None or NUMBERED in data:  # flows never see the keys
        ctx.conversation.data = {k: v for k, v in data.items() if k not in (SHOWN, NUMBERED)}
    event = ctx.incoming.event
    if not isinstance(event, Text):
        return
    last, earlier = _shown_pairs(shown, data.get(NUMBERED))
    flow = FLOWS.get(ctx.flow or "")
    in_form = flow is not None and not isinstance(flow, SimpleFlow)
    numbered_only = isinstance(shown, dict) and shown.get("numbered")
    payload = None
    if not in_form or numbered_only:
        payload = typed.press_number(event.text, last)
    if payload is None and not in_form:
        for pairs in (last, earlier):
            payload = payload or typed.press_for(event.text, pairs, loose=flow is None)
    if payload is None and in_form:  # a button not the form's (the language picker): exactly
        payload = typed.press_label(event.text, [*last, *earlier])
    command = common.word_command(event, in_flow=in_form)
    # A notice's buttons (a curator's, a reminder's); not when this very message released
    # what waited: it answered a template, before its sender saw what it released.
    if payload is None and command is None and ctx.flow is None and not ctx.incoming.released:
        for pairs in await _notice_buttons(ctx):
            payload = payload or typed.press_for(event.text, pairs, loose=True)
    if payload is not None:
        ctx.incoming = replace(ctx.incoming, event=ButtonPress(payload=payload))
        return
    if command is not None:
        if flow is not None and not in_form:
            ctx.end_flow()  # a plain word leaves a confirmation (nothing was done)
        ctx.incoming = replace(ctx.incoming, event=command)


async def _notice_buttons(ctx: Context) -> list[typed.Shown]:
    """The buttons of what was sent to this person lately from elsewhere, newest first."""
    since = ctx.now - NOTICE_MEMORY
    found: list[tuple[datetime, typed.Shown]] = []
    sender = ctx.incoming.sender
    for at, payload in await sent_notices(
        ctx.session, channel=sender.channel, chat_id=ctx.incoming.chat_id, since=since
    ):
        rows = payload.get("buttons") or []
        pairs = [(str(b[1]), str(b[0])) for row in rows for b in row if len(b) == 2]
        if pairs:
            found.append((at, pairs))
    for note in await sent_notifications(ctx.session, user_id=ctx.user.id, since=since):
        if note.sent_at is None:
            continue
        reply = await reminders.render(
            ctx.session,
            note,
            translator=ctx.translator,
            now=ctx.now,
            zone=ZoneInfo(ctx.settings.timezone),
            recipient=ctx.user,
            review_language=ctx.settings.review_language,
            review_chats=ctx.settings.review_chats,
        )
        last, _ = typed.shown_in([reply] if reply is not None else [])
        if last:
            found.append((note.sent_at, last))
    found.sort(key=lambda f: f[0], reverse=True)
    return [pairs for _, pairs in found]


def _shown_pairs(shown: object, numbered: object) -> tuple[typed.Shown, typed.Shown]:
    """What `_remember_shown` kept (and the older key that kept numbered lines only)."""
    if isinstance(shown, dict):
        return _pairs(shown.get("last")), _pairs(shown.get("earlier"))
    if isinstance(numbered, list):
        return [(str(p), "") for p in numbered], []
    return [], []


def _pairs(raw: object) -> typed.Shown:
    if not isinstance(raw, list):
        return []
    return [(str(x[0]), str(x[1])) for x in raw if isinstance(x, list) and len(x) == 2]


def _remember_shown(ctx: Context) -> None:
    """The buttons this update showed, for an answer typed next (they answer the last
    update only, as a number answers the last numbered list)."""
    last, earlier = typed.shown_in(ctx.replies)
    mine = [r for r in ctx.replies if r.to is None]
    numbered = any(r.numbered for r in mine) and not any(r.buttons or r.menu for r in mine)
    flow = FLOWS.get(ctx.flow or "")
    if flow is not None and not isinstance(flow, SimpleFlow) and not numbered:
        # A form reads its own answers: only other buttons are kept (no write a step).
        last = [p for p in last if not p[0].startswith(f"{flow.flow}|")]
        earlier = [p for p in earlier if not p[0].startswith(f"{flow.flow}|")]
        last, earlier = (last, earlier) if last else (earlier, [])
    if last:
        kept = {
            "last": [list(p) for p in last],
            "earlier": [list(p) for p in earlier[-MAX_REMEMBERED:]],
            "numbered": numbered,
        }
        ctx.update_data(**{SHOWN: kept})


async def _dispatch_private(ctx: Context) -> None:
    event = ctx.incoming.event
    if isinstance(event, Command):
        handler = COMMANDS.get(event.name)
        if handler is None:
            ctx.reply(ctx.t("I don't know that command."))
            await common.show_help(ctx)
        elif _refused(ctx, event):
            pass
        # The same person already registered on another channel: offer to link first.
        elif not (event.name == "start" and await link.offer(ctx)):
            await handler(ctx)
        return
    if isinstance(event, ButtonPress):
        payload = Payload.unpack(event.payload)
        flow = FLOWS.get(payload.flow) if payload else None
        button_handler = BUTTONS.get(payload.flow) if payload else None
        if payload is not None and flow is not None:
            await flow.on_button(ctx, payload)
        elif payload is not None and button_handler is not None:
            await button_handler(ctx, payload)
        elif ctx.incoming.released and not ctx.flow:
            pass  # a template's quick reply: what it released was the answer
        else:
            ctx.reply(ctx.t("That button is no longer valid."))
            if ctx.flow:
                ctx.reprompt()
            else:
                await common.nudge(ctx)
        return
    open_flow = FLOWS.get(ctx.flow or "")
    if open_flow is None:
        if ctx.flow is not None:
            ctx.end_flow()  # a flow that no longer exists (after an upgrade)
        await common.nudge(ctx)
        return
    await open_flow.on_event(ctx)


async def _dispatch_group(ctx: Context) -> None:
    """Groups are review chats; in any other group the bot stays silent."""
    if not is_review_chat(ctx):
        return
    event = ctx.incoming.event
    if isinstance(event, Command):
        handler = GROUP_COMMANDS.get(event.name)
        if handler is not None and not _refused(ctx, event):
            await handler(ctx)
    elif isinstance(event, ButtonPress):
        await on_group_button(ctx, event)
    else:
        await on_group_message(ctx)


def _refused(ctx: Context, command: Command) -> bool:
    if command.name in ADMIN_ONLY and not ctx.is_admin:
        t = ctx.t if ctx.incoming.chat_type == "private" else group_t(ctx)
        ctx.reply(t("Sorry, /{command} is for admins only.", command=command.name))
        return True
    return False
