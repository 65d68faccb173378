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
from db.reviews import find_curators
from handlers.features import (
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
)
from handlers.features.review import FEATURE as REVIEW
from handlers.features.review.access import group_t, is_review_chat
from handlers.features.review.actions import on_group_button, on_group_message
from handlers.i18n import N_
from handlers.kit import typed
from handlers.kit.context import REPROMPT, Context, FlowSettings, Translate
from handlers.kit.events import ButtonPress, Command, Text
from handlers.kit.feature import (
    ButtonHandler,
    Feature,
    Flow,
    Handler,
    Hint,
    Role,
    SimpleFlow,
    Surface,
)
from handlers.kit.payload import Payload
from handlers.kit.render import learn_command_words, typed_commands

__all__ = ["COMMANDS", "GROUP_COMMANDS", "MENU_COMMANDS", "dispatch"]

MAX_NAVIGATION = 4  # redirects one update may chain (a loop would be a bug)
# In the conversation row: the buttons last shown (payloads and labels), so an answer typed
# next presses one, even after a restart (handlers/kit/typed.py). NUMBERED: the older key.
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


async def show_help(ctx: Context) -> None:
    """/bantuan: the commands the reader may use, derived from every feature's `surface`."""
    text = help_text(ctx.t) + await role_help(ctx)
    if ctx.flow is not None:  # the open question follows: one message fewer on a slow phone
        text += "\n\n" + ctx.t(
            "We were in the middle of something — answer below, or /batal to stop."
        )
    ctx.reply(text, buttons=common.menu_buttons(ctx))
    if ctx.flow is not None:
        ctx.reprompt()


async def chat_help(ctx: Context) -> None:
    """/bantuan or /help in a review chat: what curators do there (in the chat's language)."""
    ctx.reply(curator_help(group_t(ctx)))


COMMON = Feature(
    commands={
        "bahasa": common.choose_language,
        "language": common.choose_language,
        "batal": cancel,
        "cancel": cancel,
        "bantuan": show_help,
        "help": show_help,
        "menu": common.show_menu,
    },
    group_commands={"bantuan": chat_help, "help": chat_help},
    buttons={common.MENU: common.on_menu_button, "lang": common.on_language_button},
    entries={
        "help": show_help,
        "language": common.choose_language,
        "fairs": fairs.FEATURE.commands["pameran"],
        "reminders": reminders.FEATURE.commands["pengingat"],
    },
    surface=(
        Surface(
            "bahasa",
            help={"producer": N_("choose Bahasa Indonesia or English")},
            aliases=("language",),
            words=("bahasa", "language"),
            word=N_("language"),
            menu=N_("Language: Bahasa Indonesia / English"),
            rank=80,
        ),
        Surface(
            "batal",
            help={"producer": N_("stop what you are doing (your answers are kept)")},
            aliases=("cancel",),
            words=("batal", "cancel"),
            word=N_("cancel"),
            menu=N_("Stop the current step (answers are kept)"),
            rank=85,
        ),
        Surface(
            "menu",
            help={"producer": N_("the main menu")},
            words=("menu",),
            word=N_("menu"),
            rank=88,
        ),
        Surface(
            "bantuan",
            help={"producer": N_("this help")},
            aliases=("help",),
            words=("bantuan", "help"),
            word=N_("help"),
            menu=N_("Help"),
            rank=90,
        ),
    ),
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

# --- what people see of the commands, derived from every feature's `surface` ---------------

SURFACE: tuple[Surface, ...] = tuple(
    sorted((s for f in FEATURES for s in f.surface), key=lambda s: s.rank)
)
# Plain words that work as commands on every channel (WhatsApp has no command menu and no
# slash habit), matched case- and accent-insensitively: the phrase -> the command's name.
WORDS: dict[str, str] = _merge([dict.fromkeys(s.words, s.command) for s in SURFACE], "word")
# The word a reply names for each command (and its aliases) where there is no command menu.
COMMAND_WORDS: dict[str, str] = {n: s.word for s in SURFACE if s.word for n in s.names}
learn_command_words(COMMAND_WORDS)
# The Telegram command menu: (command, N_ description), in the help's order.
MENU_COMMANDS: tuple[tuple[str, str], ...] = tuple(
    (s.command, s.menu) for s in SURFACE if s.menu is not None
)
HEADINGS: dict[Role, str] = {
    "producer": N_("Commands:"),
    "curator": N_("For curators, in a review chat:"),
    "admin": N_("For admins:"),
}
# One rule for every verdict (handlers/features/review/decisions.py applies it).
DECISION_RULE = N_(
    "Until all seven criteria are scored, any decision needs a written reason for the "
    "producer. Scored: grade A or B approves; a lower grade needs a written reason to "
    "approve; a revision or a rejection needs a reason, picked or written."
)


def _check_surface() -> None:
    """Every declared command exists, and every command is declared (a startup error)."""
    declared = _merge([dict.fromkeys(s.names, s) for s in SURFACE], "command surface")
    handled = set(COMMANDS) | set(GROUP_COMMANDS)
    if unknown := sorted(set(declared) - handled):
        raise ValueError(f"surface declared for commands nobody handles: {unknown}")
    if undeclared := sorted(handled - set(declared)):
        raise ValueError(f"commands without a surface (help line, words, menu): {undeclared}")


_check_surface()


def help_lines(t: Translate, role: Role, settings: FlowSettings | None = None) -> str:
    """The role's heading and one "/command – what it does" line per command it may use
    (under `settings`, only the commands whose service is configured)."""
    lines = [
        f"/{s.command} – {t(s.help[role])}"
        for s in SURFACE
        if role in s.help and (s.shown is None or settings is None or s.shown(settings))
    ]
    return "\n".join([t(HEADINGS[role]), *lines])


def help_text(t: Translate) -> str:
    """A producer's /bantuan: what Kurasi is, the commands, the plain words."""
    words = ", ".join(s.words[0] for s in SURFACE if "producer" in s.help and s.words)
    return "\n\n".join(
        (
            t(
                "Kurasi helps East Java producers get their products curated for export "
                "markets and hear about export fairs."
            ),
            help_lines(t, "producer"),
            t(
                "You can also type the words without the slash ({words}), in Indonesian or "
                "English.",
                words=words,
            ),
        )
    )


def curator_help(t: Translate) -> str:
    """What curators can do in a review chat, and the one rule for deciding."""
    return "\n".join(
        (
            help_lines(t, "curator"),
            t(
                "On a card: take it, score each criterion 1–3, then approve, revise or "
                "reject; an approval or a rejection can be undone for 30 seconds."
            ),
            t(DECISION_RULE),
        )
    )


async def role_help(ctx: Context) -> str:
    """The commands of the reader's roles beyond a producer's ("" for a producer)."""
    sender = ctx.incoming.sender
    sections = []
    curator = await find_curators(
        ctx.session, channel=sender.channel, external_id=sender.external_id
    )
    if curator or ctx.is_admin:
        sections.append(curator_help(ctx.t))
    if ctx.is_admin:
        sections.append(help_lines(ctx.t, "admin", ctx.settings))
    return "".join("\n\n" + s for s in sections)


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
    its label, a yes or a no: handlers/kit/typed.py), or a plain word such as "produk baru".

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
    command = common.word_command(event, in_flow=in_form, words=WORDS)
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
            await show_help(ctx)
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
