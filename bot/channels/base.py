"""What every channel provides to the runtime."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
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

    async def fetch_media(self, media: MediaRef) -> bytes:
        """Download a file the user sent, while the channel still holds it."""
        ...


# --- bulk announcements (broadcasts) ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class Announcement:
    """One broadcast message as a channel sends it to each recipient."""

    text: str
    html: bool = False  # text is Telegram-style HTML (bold, italic, links)
    media_kind: str | None = None  # "photo" | "document"
    media_path: str | None = None  # local file, uploaded by the first send
    media_id: str | None = None  # the channel's id for the file once uploaded
    media_name: str | None = None
    paid: bool = False  # Telegram paid broadcast (allow_paid_broadcast)
    template: str | None = None  # WhatsApp: send this template (recipient outside 24 h)


@dataclass(frozen=True, slots=True)
class Announced:
    message_id: str | None
    media_id: str | None = None  # learned on upload, for re-sending by id


class RateLimited(Exception):
    """The platform asked the whole bot to slow down (Telegram 429)."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"retry after {retry_after}s")
        self.retry_after = retry_after


class TemporaryFailure(Exception):
    """Network trouble or a server error: the same send may work later."""


class Rejected(Exception):
    """The platform refused this message for this chat; sending again will not help."""


class Announcer(Protocol):
    """A channel that can send broadcasts: one call per recipient, errors as above
    (Undeliverable when the recipient blocked the bot)."""

    name: str

    async def announce(self, chat_id: str, message: Announcement) -> Announced: ...
