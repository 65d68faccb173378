"""The route table: each feature module's `FEATURE`, assembled; and `dispatch`.

Every channel calls `dispatch` with a filled-in `Context`; nothing here knows which channel.
Flows never call back up here: they ask `ctx.reprompt()` or `ctx.redirect(entry)`, and
`dispatch` acts on it once the handler returns.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import TypeVar

from handlers import (
    admin,
    broadcast,
    catalogue,
    common,
    export,
    fairs,
    inquiries,
    link,
    mydata,
    product,
    registration,
    reminders,
    stats,
)
from handlers.common import MENU_COMMANDS
from handlers.context import REPROMPT, Context
from handlers.events import ButtonPress, Command, Text
from handlers.features import ButtonHandler, Feature, Flow, Handler, Hint
from handlers.i18n import N_
from handlers.payload import Payload
from handlers.review import FEATURE as REVIEW
from handlers.review.access import group_t, is_review_chat
from handlers.review.actions import on_group_button, on_group_message

__all__ = ["COMMANDS", "GROUP_COMMANDS", "MENU_COMMANDS", "dispatch"]

MAX_NAVIGATION = 4  # redirects one update may chain (a loop would be a bug)
# In the conversation row: the payloads of the choices last shown as numbered lines, so the
# number typed next presses that choice, even after a restart.
NUMBERED = "_numbered"


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
        _read_typed_words(ctx)
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
        _remember_numbered(ctx)


def _read_typed_words(ctx: Context) -> None:
    """Typed text that means a press or a command: a number answering the numbered choices
    shown last, or a plain word such as "produk baru" (only "batal"/"menu" inside a flow)."""
    data = ctx.conversation.data or {}
    numbered = data.get(NUMBERED)
    if numbered is not None:  # they answer the last message only; flows never see the key
        ctx.conversation.data = {k: v for k, v in data.items() if k != NUMBERED}
    event = ctx.incoming.event
    if not isinstance(event, Text):
        return
    typed = event.text.strip().rstrip(".")
    if isinstance(numbered, list) and typed.isdigit() and 1 <= int(typed) <= len(numbered):
        press = ButtonPress(payload=str(numbered[int(typed) - 1]))
        ctx.incoming = replace(ctx.incoming, event=press)
        return
    command = common.word_command(event, in_flow=ctx.flow is not None)
    if command is not None:
        ctx.incoming = replace(ctx.incoming, event=command)


def _remember_numbered(ctx: Context) -> None:
    shown = [r.numbered for r in ctx.replies if r.to is None and r.numbered]
    if shown:
        ctx.update_data(**{NUMBERED: list(shown[-1])})


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
