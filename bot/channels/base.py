"""What every channel provides to the runtime."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from handlers.events import Incoming, MediaRef, Reply


class Undeliverable(Exception):
    """The recipient cannot be reached any more (blocked the bot, left, deleted account)."""


class Channel(Protocol):
    name: str

    async def deliver(
        self, chat_id: str, replies: Sequence[Reply], *, origin: Incoming | None = None
    ) -> None:
        """Send replies into one chat, in order. `origin` is the event they answer, if any."""

    async def post(self, chat_id: str, reply: Reply) -> list[str]:
        """Send one reply and return the ids of the messages it made (for later edits)."""
        ...

    async def erase(self, chat_id: str, message_ids: Sequence[str], *, notice: str) -> None:
        """Remove messages the bot sent (a producer erased their data). Where the platform
        no longer allows deleting one, replace its text or caption with `notice`.
        Errors propagate, so the caller (a queue) can try again."""
        ...

    async def fetch_media(self, media: MediaRef) -> bytes:
        """Download a file the user sent, while the channel still holds it."""
        ...
