"""WhatsApp's messages as data, without pywa: replies rendered as WhatsApp messages, webhook
payloads read as events. The console plays a WhatsApp user with these, so it needs no pywa."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.channels.base import typed
from db.whatsapp import StatusUpdate
from handlers.kit import events
from handlers.kit.capabilities import WHATSAPP, Capabilities
from handlers.kit.render import fit

NAME = "whatsapp"
LIST_LABEL = "Pilih / Choose"  # the list's button: both languages, the reply has no language


# --- rendering ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One WhatsApp message: text, reply buttons, a list, or a file."""

    text: str = ""
    buttons: tuple[tuple[str, str], ...] = ()  # (title, id)
    rows: tuple[tuple[str, str, str | None], ...] = ()  # (title, id, description)
    list_button: str = LIST_LABEL
    image: events.MediaOut | None = None
    document: events.Attachment | None = None


# Said by the rules' own words where a reply reached the channel without being fitted for
# WhatsApp (no recipient language is known here): both languages.
_NEUTRAL = {
    "Choose": LIST_LABEL,
    "Type the number of your choice.": "Ketik nomor pilihan / Type the number of your choice.",
}


def _neutral(message: str, /, **values: Any) -> str:
    return _NEUTRAL.get(message, message).format(**values)


def fitted(reply: events.Reply, caps: Capabilities = WHATSAPP) -> bool:
    """Whether the reply's choices are already within WhatsApp's limits (render.fit's rules)."""
    buttons = [b for row in reply.buttons for b in row]
    return (
        len(buttons) <= caps.max_buttons
        and all(len(b.label) <= caps.button_title for b in buttons)
        and len({b.label for b in buttons}) == len({b.payload for b in buttons}) == len(buttons)
        and not (reply.edit and not caps.edits)
    )


def render(reply: events.Reply, caps: Capabilities = WHATSAPP) -> list[Outgoing]:
    """A reply as WhatsApp messages, in order. No edits exist: an edit is a new message.

    Which choices become buttons, a list or numbered lines is decided once, by `render.fit`
    (Context.reply fits every reply for its recipient's channel); this maps the result onto
    WhatsApp's messages and splits long text at paragraphs. A reply built elsewhere that does
    not fit yet is fitted here by the same rules.
    """
    if not fitted(reply, caps):
        reply = fit(caps, _neutral, reply)
    out: list[Outgoing] = []
    if reply.alert and reply.alert != reply.text:
        out.append(Outgoing(text=reply.alert))
    out += [Outgoing(text=(m.caption or "")[: caps.max_body], image=m) for m in reply.media]
    if reply.attachment is not None:
        out.append(Outgoing(document=reply.attachment))
    if not reply.text.strip():
        return out
    buttons = tuple((b.label, b.payload) for row in reply.buttons for b in row)
    menu = reply.menu if caps.list_rows else None
    if not buttons and menu is None:
        return out + [Outgoing(text=chunk) for chunk in split_text(reply.text, caps.max_text)]
    chunks = split_text(reply.text, caps.max_body)
    out += [Outgoing(text=chunk) for chunk in chunks[:-1]]
    if buttons:
        return [*out, Outgoing(text=chunks[-1], buttons=buttons)]
    assert menu is not None
    rows = tuple((r.title, r.payload, r.description) for r in menu.rows)
    return [*out, Outgoing(text=chunks[-1], rows=rows, list_button=menu.button)]


def split_text(text: str, limit: int) -> list[str]:
    """Pieces of at most `limit` characters, cut between paragraphs, else lines, else words."""
    pieces: list[str] = []
    current = ""
    for part in _parts(text.strip(), limit):
        joined = f"{current}\n\n{part}" if current else part
        if len(joined) <= limit:
            current = joined
        else:
            pieces.append(current)
            current = part
    if current or not pieces:
        pieces.append(current)
    return pieces


def _parts(text: str, limit: int) -> Iterator[str]:
    for paragraph in text.split("\n\n"):
        paragraph = paragraph.strip("\n")
        if not paragraph:
            continue
        while len(paragraph) > limit:
            cut = paragraph.rfind("\n", 0, limit)
            if cut <= 0:
                cut = paragraph.rfind(" ", 0, limit)
            if cut <= 0:
                cut = limit
            yield paragraph[:cut].rstrip()
            paragraph = paragraph[cut:].lstrip()
        if paragraph:
            yield paragraph


# --- incoming -------------------------------------------------------------------------


def parse_webhook(payload: Any) -> Iterator[tuple[dict[str, Any], dict[str, Any]] | StatusUpdate]:
    """Each message (with its change's value, for the sender's profile) and each status."""
    if not isinstance(payload, dict) or payload.get("object") != "whatsapp_business_account":
        return
    for entry in payload.get("entry") or []:
        for change in entry.get("changes") or []:
            value = change.get("value") or {}
            if change.get("field") != "messages":
                continue
            for message in value.get("messages") or []:
                if isinstance(message, dict) and message.get("id") and message.get("from"):
                    yield value, message
            for status in value.get("statuses") or []:
                errors = status.get("errors") or []
                error = None
                if errors:
                    first = errors[0]
                    error = f"{first.get('code')}: {first.get('title') or first.get('message')}"
                yield StatusUpdate(
                    message_id=str(status.get("id", "")),
                    chat_id=str(status.get("recipient_id", "")),
                    status=str(status.get("status", "")),
                    at=_timestamp(status.get("timestamp")),
                    error=error,
                )


def _timestamp(value: Any) -> datetime:
    try:
        return datetime.fromtimestamp(int(value), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return datetime.now(UTC)


def incoming(value: dict[str, Any], message: dict[str, Any]) -> events.Incoming:
    wa_id = str(message["from"])
    name = None
    for contact in value.get("contacts") or []:
        if contact.get("wa_id") == wa_id:
            name = (contact.get("profile") or {}).get("name")
    return events.Incoming(
        sender=events.Sender(
            channel=NAME,
            external_id=wa_id,
            display_name=name or None,
            phone=f"+{wa_id}" if wa_id.isdigit() else None,
        ),
        chat_id=wa_id,
        event=event(message),
        update_key=str(message["id"])[:128],
        message_id=str(message["id"]),
    )


def event(message: dict[str, Any]) -> events.Event:
    kind = message.get("type")
    body = message.get(kind) if isinstance(kind, str) else None
    body = body if isinstance(body, dict) else {}
    match kind:
        case "text":
            return typed(str(body.get("body", "")))
        case "interactive":
            reply = body.get("button_reply") or body.get("list_reply") or {}
            context = message.get("context") or {}
            return events.ButtonPress(
                payload=str(reply.get("id", "")), message_id=context.get("id")
            )
        case "button":  # a template's quick-reply button
            return events.ButtonPress(payload=str(body.get("payload", "")))
        case "image":
            return events.Photo(media=_ref(body), caption=body.get("caption"))
        case "document":
            return events.Document(media=_ref(body), caption=body.get("caption"))
        case "contacts":
            contacts = message.get("contacts") or []
            phones = (contacts[0].get("phones") or []) if contacts else []
            if phones:
                phone = phones[0]
                own = phone.get("wa_id") == message.get("from")
                number = phone.get("phone") or phone.get("wa_id") or ""
                return events.Contact(phone=str(number), is_own=own)
            return events.Unsupported(kind="contacts")
        case "audio":
            return events.Unsupported(kind="voice" if body.get("voice") else "audio")
    return events.Unsupported(kind=str(kind or "unknown"))


def _ref(body: dict[str, Any]) -> events.MediaRef:
    return events.MediaRef(
        file_id=str(body.get("id", "")),
        unique_id=body.get("sha256"),
        mime=body.get("mime_type"),
        file_name=body.get("filename"),
    )
