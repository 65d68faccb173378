"""The shape every step of a flow has, and the small readers of an answer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from handlers.context import Context
from handlers.events import ButtonPress, Event, Text

T = TypeVar("T")


@dataclass(frozen=True)
class Step:
    prompt: Callable[[Context], Awaitable[None]]
    answer: Callable[[Context, Event], Awaitable[None]]


def text_of(event: Event) -> str | None:
    return event.text if isinstance(event, Text) else None


def pressed(event: Event) -> str | None:
    return event.payload if isinstance(event, ButtonPress) else None


Ask = Callable[[Context], Awaitable[None]]


def answers(ask: Ask) -> tuple[Callable[[Context, str], Awaitable[None]], Ask]:
    """A flow's two ways of turning an answer down, each followed by its question again:
    `refuse(ctx, why)` and `not_understood(ctx)` (a sticker, a voice note, a location...)."""

    async def refuse(ctx: Context, message: str) -> None:
        ctx.reply(message)
        await ask(ctx)

    async def not_understood(ctx: Context) -> None:
        await refuse(ctx, ctx.t("I can't read that here. Please answer with a short text message."))

    return refuse, not_understood


def typed_answer(
    parse: Callable[[str], T | None],
    refusal: str,
    store: Callable[[Context, T], Awaitable[None]],
    ask: Ask,
) -> Callable[[Context, Event], Awaitable[None]]:
    """The answer to a question typed as text: parse it, or say why not (`refusal`, marked
    with N_) and ask again; anything but text gets the not-understood reply."""
    refuse, not_understood = answers(ask)

    async def answer(ctx: Context, event: Event) -> None:
        text = text_of(event)
        if text is None:
            await not_understood(ctx)
            return
        value = parse(text)
        if value is None:
            await refuse(ctx, ctx.t(refusal))
            return
        await store(ctx, value)

    return answer
