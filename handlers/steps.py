"""The shape every step of a flow has, and the small readers of an answer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from handlers.context import Context
from handlers.events import ButtonPress, Event, Text


@dataclass(frozen=True)
class Step:
    prompt: Callable[[Context], Awaitable[None]]
    answer: Callable[[Context, Event], Awaitable[None]]


def text_of(event: Event) -> str | None:
    return event.text if isinstance(event, Text) else None


def pressed(event: Event) -> str | None:
    return event.payload if isinstance(event, ButtonPress) else None
