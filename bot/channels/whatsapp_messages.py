"""WhatsApp's messages as data, without pywa: replies rendered as WhatsApp messages, webhook
payloads read as events. The console plays a WhatsApp user with these, so it needs no pywa."""

from __future__ import annotations

import json
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


MAX_DEPTH = 32  # Meta's payloads nest 8 deep; anything far deeper is not one of them


class Malformed(ValueError):
    """A signed webhook body whose shape is not what Meta sends (answered 400)."""


def _shape(value: Any, kind: type | tuple[type, ...], where: str, *, optional: bool = True) -> Any:
    if value is None and optional:
        return None
    if not isinstance(value, kind) or isinstance(value, bool):
        raise Malformed(where)
    return value


def _items(value: Any, where: str) -> list[dict[str, Any]]:
    """A list of objects (absent: none)."""
    items = _shape(value, list, where)
    for i, item in enumerate(items or []):
        _shape(item, dict, f"{where}[{i}]", optional=False)
    return items or []


def _depth_ok(payload: Any) -> bool:
    stack = [(payload, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            return False
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)
    return True


def check_webhook(payload: Any) -> None:
    """Raise Malformed (naming where) unless every part this channel reads has the shape
    Meta documents: objects where objects go, lists of objects, ids and texts as strings.
    Checked before anything is stored, so a stored message can always be read back."""
    if not isinstance(payload, dict):
        raise Malformed("body")
    if not _depth_ok(payload):
        raise Malformed("nesting")
    _shape(payload.get("object"), str, "object")
    for e, entry in enumerate(_items(payload.get("entry"), "entry")):
        for c, change in enumerate(_items(entry.get("changes"), f"entry[{e}].changes")):
            where = f"entry[{e}].changes[{c}]"
            _shape(change.get("field"), str, f"{where}.field")
            value = _shape(change.get("value"), dict, f"{where}.value") or {}
            _check_value(value, f"{where}.value")


def _check_value(value: dict[str, Any], where: str) -> None:
    _shape(value.get("metadata"), dict, f"{where}.metadata")
    _items(value.get("errors"), f"{where}.errors")
    for i, contact in enumerate(_items(value.get("contacts"), f"{where}.contacts")):
        _shape(contact.get("wa_id"), str, f"{where}.contacts[{i}].wa_id")
        profile = _shape(contact.get("profile"), dict, f"{where}.contacts[{i}].profile") or {}
        _shape(profile.get("name"), str, f"{where}.contacts[{i}].profile.name")
    for i, message in enumerate(_items(value.get("messages"), f"{where}.messages")):
        _check_message(message, f"{where}.messages[{i}]")
    for i, status in enumerate(_items(value.get("statuses"), f"{where}.statuses")):
        at = f"{where}.statuses[{i}]"
        _shape(status.get("id"), str, f"{at}.id", optional=False)
        _shape(status.get("status"), str, f"{at}.status", optional=False)
        _shape(status.get("recipient_id"), str, f"{at}.recipient_id")
        _shape(status.get("timestamp"), (str, int), f"{at}.timestamp")
        for j, error in enumerate(_items(status.get("errors"), f"{at}.errors")):
            _shape(error.get("code"), (int, str), f"{at}.errors[{j}].code")
            _shape(error.get("title"), str, f"{at}.errors[{j}].title")
            _shape(error.get("message"), str, f"{at}.errors[{j}].message")


def _check_message(message: dict[str, Any], where: str) -> None:
    for key in ("id", "from"):
        if not _shape(message.get(key), str, f"{where}.{key}", optional=False):
            raise Malformed(f"{where}.{key}")
    kind = _shape(message.get("type"), str, f"{where}.type")
    _shape(message.get("timestamp"), (str, int), f"{where}.timestamp")
    _shape(message.get("context"), dict, f"{where}.context")
    _items(message.get("errors"), f"{where}.errors")
    if not kind:
        return
    body = _shape(message.get(kind), (dict, list), f"{where}.{kind}")
    if kind == "contacts":
        for i, card in enumerate(_items(body, f"{where}.contacts")):
            for j, phone in enumerate(_items(card.get("phones"), f"{where}.contacts[{i}].phones")):
                for key in ("phone", "wa_id"):
                    _shape(phone.get(key), str, f"{where}.contacts[{i}].phones[{j}].{key}")
        return
    body = _shape(body, dict, f"{where}.{kind}") or {}
    for key in ("body", "id", "caption", "filename", "mime_type", "sha256", "payload"):
        _shape(body.get(key), str, f"{where}.{kind}.{key}")
    if kind == "interactive":
        for key in ("button_reply", "list_reply"):
            reply = _shape(body.get(key), dict, f"{where}.interactive.{key}") or {}
            _shape(reply.get("id"), str, f"{where}.interactive.{key}.id")


def inbound(payload: Any) -> list[tuple[str, str, str]]:
    """The (message id, sender, body to store) of each message in a checked webhook: the
    message as Meta sent it with the sender's own contact entry (their profile name)."""
    out: list[tuple[str, str, str]] = []
    for item in parse_webhook(payload):
        if isinstance(item, StatusUpdate):
            continue
        value, message = item
        sender = str(message["from"])
        contacts = [c for c in value.get("contacts") or [] if c.get("wa_id") == sender]
        body = json.dumps({"message": message, "contacts": contacts[:1]}, ensure_ascii=False)
        out.append((str(message["id"]), sender, body))
    return out


def statuses(payload: Any) -> list[StatusUpdate]:
    return [item for item in parse_webhook(payload) if isinstance(item, StatusUpdate)]


def stored_incoming(body: str) -> events.Incoming:
    """A stored message (`inbound`'s body) as the runtime's event."""
    data = json.loads(body)
    return incoming({"contacts": data.get("contacts") or []}, data["message"])


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
