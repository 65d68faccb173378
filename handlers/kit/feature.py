"""What a feature module exports: one `Feature` naming its commands, buttons, flows and entry
points. The route table (handlers/__init__.py) assembles them; no feature imports it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from handlers.kit.context import Context
from handlers.kit.payload import Payload

Handler = Callable[[Context], Awaitable[None]]
ButtonHandler = Callable[[Context, Payload], Awaitable[None]]
# What /batal says resumes a flow: an N_ text, or (ctx) -> the translated text, asked before
# the flow is left (the right command can depend on where it was).
Hint = str | Callable[[Context], Awaitable[str]]


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
