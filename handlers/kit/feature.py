"""What a feature module exports: one `Feature` naming its commands, buttons, flows and entry
points, and how each command shows itself (`Surface`: help line per role, plain words, menu
entry). The route table (handlers/routes.py) assembles them and derives /bantuan, the plain
words and the Telegram command menu from them; no feature imports it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol

from handlers.kit.context import Context, FlowSettings
from handlers.kit.payload import Payload

Handler = Callable[[Context], Awaitable[None]]
ButtonHandler = Callable[[Context, Payload], Awaitable[None]]
# What /batal says resumes a flow: an N_ text, or (ctx) -> the translated text, asked before
# the flow is left (the right command can depend on where it was).
Hint = str | Callable[[Context], Awaitable[str]]
# Who reads a help line: producers (private chats), curators (review chats), admins.
Role = Literal["producer", "curator", "admin"]
ROLES: tuple[Role, ...] = ("producer", "curator", "admin")


@dataclass(frozen=True, slots=True)
class Surface:
    """How one command shows itself to people, declared beside its handler.

    `help` holds its /bantuan line per role (an N_ text, shown as "/command – line"),
    `aliases` the other names it answers to (English), `words` the plain words that mean it
    in both languages (typed without the slash), `word` the one of them a reply names where
    there is no command menu (an N_ text: "Kirim /start" reads "Ketik daftar" on WhatsApp),
    `menu` its description in the Telegram command menu, `rank` its place in the help and
    the menu, `shown` whether the help lists it under the running configuration (a command
    whose service is not set up is left out).
    """

    command: str
    help: Mapping[Role, str] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()
    words: tuple[str, ...] = ()
    word: str | None = None
    menu: str | None = None
    rank: int = 100
    shown: Callable[[FlowSettings], bool] | None = None  # None: always in the help

    @property
    def names(self) -> tuple[str, ...]:
        return (self.command, *self.aliases)


class Flow(Protocol):
    """An open conversation: its name, what it does with an event, its current question."""

    @property
    def flow(self) -> str: ...

    async def on_event(self, ctx: Context) -> None: ...

    async def on_button(self, ctx: Context, payload: Payload) -> None: ...

    async def prompt(self, ctx: Context) -> None: ...


@dataclass(frozen=True)
class SimpleFlow:
    """A flow made of three plain functions, for a module that is not a `Form`."""

    flow: str
    event_handler: Handler
    button_handler: ButtonHandler
    prompt_handler: Handler

    async def on_event(self, ctx: Context) -> None:
        await self.event_handler(ctx)

    async def on_button(self, ctx: Context, payload: Payload) -> None:
        await self.button_handler(ctx, payload)

    async def prompt(self, ctx: Context) -> None:
        await self.prompt_handler(ctx)


@dataclass(frozen=True)
class Feature:
    commands: Mapping[str, Handler] = field(default_factory=dict)  # private chats
    group_commands: Mapping[str, Handler] = field(default_factory=dict)  # review chats
    admin_only: frozenset[str] = frozenset()  # commands that answer admins only
    buttons: Mapping[str, ButtonHandler] = field(default_factory=dict)  # payload flow -> handler
    forms: tuple[Flow, ...] = ()  # flows whose buttons, events and prompts route here
    entries: Mapping[str, Handler] = field(default_factory=dict)  # `ctx.redirect` targets
    hints: Mapping[str, Hint] = field(default_factory=dict)  # flow -> "how to carry on"
    surface: tuple[Surface, ...] = ()  # help lines, plain words and menu entries
