"""The channel seam: what a flow receives and what it answers, with no channel types.

Channels (bot/channels/*) translate their own updates into `Incoming` and render `Reply`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ChatType = Literal["private", "group"]


@dataclass(frozen=True, slots=True)
class Sender:
    channel: str  # "telegram" | "whatsapp" | "console"
    external_id: str
    display_name: str | None = None
    username: str | None = None
    language_hint: str | None = None  # the client's UI language, before the user chooses
    phone: str | None = None  # E.164, where the channel knows it (WhatsApp: the sender's number)


# --- what a user can send -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Text:
    text: str
    html: str | None = None  # the text with its formatting as Telegram HTML, when it has any


@dataclass(frozen=True, slots=True)
class Command:
    name: str  # without the slash, lower case, without @botname
    args: str = ""


@dataclass(frozen=True, slots=True)
class ButtonPress:
    payload: str
    message_id: str | None = None  # the message that carried the button, for edits
    ack_id: str | None = None  # the channel's handle to acknowledge the press (callback id)


@dataclass(frozen=True, slots=True)
class Contact:
    phone: str
    is_own: bool  # the contact shared is the sender's own


@dataclass(frozen=True, slots=True)
class MediaRef:
    """A file still held by the channel; fetched through `Context.fetch_media`."""

    file_id: str
    unique_id: str | None = None
    size: int | None = None
    mime: str | None = None
    file_name: str | None = None
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True, slots=True)
class Photo:
    media: MediaRef
    caption: str | None = None
    group_id: str | None = None  # album id: several photos sent together


@dataclass(frozen=True, slots=True)
class Document:
    media: MediaRef
    caption: str | None = None
    group_id: str | None = None


@dataclass(frozen=True, slots=True)
class Unsupported:
    kind: str  # sticker, voice, location, video, ...


Event = Text | Command | ButtonPress | Contact | Photo | Document | Unsupported


@dataclass(frozen=True, slots=True)
class Incoming:
    sender: Sender
    chat_id: str
    event: Event
    chat_type: ChatType = "private"
    update_key: str | None = None  # unique per channel; a repeat is ignored
    message_id: str | None = None
    # Messages held for this person (WhatsApp's window, a template's "reply to see it")
    # that this message released and that went out just before it: when it says nothing
    # else understood, they were its answer.
    released: int = 0


# --- what a flow answers --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Address:
    """Someone other than the current chat (a producer told of a decision, a review chat)."""

    channel: str
    chat_id: str


@dataclass(frozen=True, slots=True)
class Button:
    label: str
    payload: str


@dataclass(frozen=True, slots=True)
class ListRow:
    """One row of a list message: `payload` comes back as a ButtonPress when it is chosen."""

    payload: str
    title: str
    description: str | None = None


@dataclass(frozen=True, slots=True)
class ListMenu:
    """A list message (WhatsApp): a button opening rows to choose one from."""

    button: str
    rows: tuple[ListRow, ...]


@dataclass(frozen=True, slots=True)
class MediaOut:
    """An image to show, read from `path` (or given as PNG/JPEG `data`, e.g. a chart);
    `cached_id` is the channel's id for it, if known."""

    path: str
    photo_id: int | None = None  # our Photo row, so the channel can report the id it got
    cached_id: str | None = None
    caption: str | None = None
    data: bytes | None = field(default=None, repr=False)  # a chart's bytes stay out of logs


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file to send (e.g. a producer's data export)."""

    filename: str
    data: bytes
    mime: str = "application/octet-stream"


@dataclass(frozen=True, slots=True)
class Reply:
    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()  # rows of inline buttons
    menu: ListMenu | None = None  # a list message, for channels that have them
    ask_contact: str | None = None  # label of a one-tap "share my number" keyboard button
    remove_keyboard: bool = False
    edit: bool = False  # replace the message whose button was pressed, instead of a new one
    edit_message_id: str | None = None  # replace this message of the target chat instead
    force_reply: bool = False
    media: tuple[MediaOut, ...] = ()
    to: Address | None = None  # None: the chat the event came from
    alert: str | None = None  # short pop-up answer to a button press (Telegram) / plain text
    attachment: Attachment | None = None
    # Replies with the same key, sent to one chat in quick succession, collapse into the
    # last one (an album's photos arrive as separate messages but get one answer).
    debounce: str | None = None
    html: bool = False  # text (or the photo's caption) is Telegram HTML
    # Choices shown as numbered lines (more than the channel can show as buttons or a list):
    # a number typed next presses that choice (remembered in the conversation).
    numbered: tuple[Button, ...] = ()
    # A notification to someone else: its kind ("approved", "revision", ...) and the product or
    # fair it is about, so a platform with a messaging window can send the kind's template.
    notice_kind: str | None = None
    subject_id: int | None = None
    # A message in a review chat about this review (a prompt naming the product): the ids
    # of the messages it makes are kept with the review, so erasure removes them too.
    about_review: int | None = None
