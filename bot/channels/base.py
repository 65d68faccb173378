"""What every channel provides to the runtime."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from handlers.kit.events import (
    Attachment,
    Button,
    Command,
    Incoming,
    MediaOut,
    MediaRef,
    Reply,
    Text,
)


class Undeliverable(Exception):
    """The recipient cannot be reached any more (blocked the bot, left, deleted account),
    or the platform refuses this message for good: sending it again would not help."""


class ChannelUnavailable(Exception):
    """The platform cannot be used at start (unreachable, or the credentials refused);
    the message is one line for the operator, with no secret in it."""


def typed(text: str, *, html: str | None = None) -> Command | Text:
    """What a person typed, on any channel: a /command (its name in lower case, without a
    @botname) or plain text (`html`: the same with its formatting, where the channel has it)."""
    if text.startswith("/") and len(text) > 1:
        head, _, args = text[1:].partition(" ")
        return Command(name=head.split("@", 1)[0].lower(), args=args.strip())
    return Text(text, html=html)


@dataclass(frozen=True, slots=True)
class Notice:
    """A notification as a windowed channel needs it: its kind (whose approved template
    stands in for it outside the window), the values that fill that template, and when the
    person last wrote (None: never)."""

    kind: str
    values: dict[str, str]
    last_inbound_at: datetime | None
    # Its template went already (the message waits for their reply): never a second one.
    template_sent: bool = False
    source: str | None = None  # the queued row it is ("outbox:7"), for a late 131047


@runtime_checkable
class WindowedChannel(Protocol):
    """A platform that lets a business write freely only for a while after the person last
    wrote (WhatsApp's 24 hours); outside it only a notification kind's approved template."""

    async def notify(
        self, chat_id: str, reply: Reply, notice: Notice, *, now: datetime
    ) -> str | None:
        """ "sent", "template", or None: no template for this kind, so it must wait until
        the person writes again."""
        ...


class Channel(Protocol):
    name: str

    async def deliver(
        self, chat_id: str, replies: Sequence[Reply], *, origin: Incoming | None = None
    ) -> None:
        """Send replies into one chat, in order. `origin` is the event they answer, if any."""

    async def post(self, chat_id: str, reply: Reply) -> list[str]:
        """Send one reply and return the ids of the messages it made (for later edits).

        Failures raise (the outbox retries); a recipient gone for good raises
        `Undeliverable`."""
        ...

    async def erase(self, chat_id: str, message_ids: Sequence[str], *, notice: str) -> None:
        """Remove messages the bot sent (a producer erased their data). Where the platform
        no longer allows deleting one, replace its text or caption with `notice`.
        Errors propagate, so the caller (a queue) can try again."""
        ...

    async def fetch_media(self, media: MediaRef) -> bytes:
        """Download a file the user sent, while the channel still holds it."""
        ...


# --- a reply at rest: queued in the outbox (JSON) until a channel sends it ---------------


def reply_payload(reply: Reply) -> dict[str, Any]:
    """A reply as JSON, for the outbox; `to` is the outbox row's chat, `debounce` and
    `edit` (the sender's pressed message) do not apply to a queued message."""
    data: dict[str, Any] = {"text": reply.text}
    if reply.buttons:
        data["buttons"] = [[[b.label, b.payload] for b in row] for row in reply.buttons]
    for flag in (
        "ask_contact",
        "edit_message_id",
        "alert",
        "notice_kind",
        "subject_id",
        "about_review",
    ):
        if (value := getattr(reply, flag)) is not None:
            data[flag] = value
    for flag in ("remove_keyboard", "force_reply", "html"):
        if getattr(reply, flag):
            data[flag] = True
    if reply.media:
        data["media"] = [
            {"path": m.path, "photo_id": m.photo_id, "cached_id": m.cached_id, "caption": m.caption}
            for m in reply.media
        ]
    if reply.attachment is not None:
        a = reply.attachment
        data["attachment"] = {
            "filename": a.filename,
            "mime": a.mime,
            "data": base64.b64encode(a.data).decode("ascii"),
        }
    return data


def reply_from_payload(data: dict[str, Any]) -> Reply:
    attachment = data.get("attachment")
    return Reply(
        text=data.get("text", ""),
        buttons=tuple(
            tuple(Button(label, payload) for label, payload in row)
            for row in data.get("buttons", ())
        ),
        ask_contact=data.get("ask_contact"),
        remove_keyboard=bool(data.get("remove_keyboard")),
        edit_message_id=data.get("edit_message_id"),
        force_reply=bool(data.get("force_reply")),
        alert=data.get("alert"),
        html=bool(data.get("html")),
        notice_kind=data.get("notice_kind"),
        subject_id=data.get("subject_id"),
        about_review=data.get("about_review"),
        media=tuple(MediaOut(**m) for m in data.get("media", ())),
        attachment=Attachment(
            filename=attachment["filename"],
            mime=attachment["mime"],
            data=base64.b64decode(attachment["data"]),
        )
        if attachment
        else None,
    )


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
    # WhatsApp: the template to send when Meta says the window closed after all.
    fallback_template: str | None = None
    whatsapp_text: str | None = None  # the text in WhatsApp's formatting (*bold*, no tags)


@dataclass(frozen=True, slots=True)
class Announced:
    message_id: str | None
    media_id: str | None = None  # learned on upload, for re-sending by id


class RateLimited(Exception):
    """The platform asked to slow down and for how long: the whole bot or number (Telegram
    429, WhatsApp 130429, 4, 80007; the shared budget is paused for every worker), or one
    chat (`chat`: WhatsApp's 131056 pair rate; only that chat waits)."""

    def __init__(self, retry_after: float, *, chat: bool = False) -> None:
        super().__init__(f"retry after {retry_after}s")
        self.retry_after = retry_after
        self.chat = chat


class TemporaryFailure(Exception):
    """Network trouble or a server error: the same send may work later."""


class Rejected(Exception):
    """The platform refused this message for this chat; sending again will not help."""


class WindowClosed(Exception):
    """A free-form message refused because the person has not written lately (WhatsApp's
    24 hours, 131047): the kind's template goes instead, or it waits for them."""


class Announcer(Protocol):
    """A channel that can send broadcasts: one call per recipient, errors as above
    (Undeliverable when the recipient blocked the bot)."""

    name: str

    async def announce(self, chat_id: str, message: Announcement) -> Announced: ...
