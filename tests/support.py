"""Test doubles shared across the suite: a movable clock and a channel that records replies."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import count

from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.channels.base import Undeliverable
from bot.runtime import Kurasi
from bot.sender import MessageSender
from db.engine import make_engine
from db.outbox import NOTICE
from handlers.kit.events import (
    ButtonPress,
    Command,
    Contact,
    Document,
    Event,
    Incoming,
    MediaRef,
    Photo,
    Reply,
    Sender,
    Text,
    Unsupported,
)


class FakeClock:
    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 25, 3, 0, tzinfo=UTC)  # 10:00 in Jakarta

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class RecordingChannel:
    """A channel whose 'screen' is a list: what each chat was sent, in order."""

    app: Kurasi
    name: str = "test"
    sent: list[tuple[str, Reply]] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)
    blocked: set[str] = field(default_factory=set)  # chats whose sends fail as blocked
    erased: list[tuple[str, list[str]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.app.add_channel(self)

    async def deliver(
        self, chat_id: str, replies: Sequence[Reply], *, origin: Incoming | None = None
    ) -> None:
        self.sent.extend((chat_id, r) for r in replies)

    async def post(self, chat_id: str, reply: Reply) -> list[str]:
        if chat_id in self.blocked:
            raise Undeliverable(chat_id)
        self.sent.append((chat_id, reply))
        return [str(len(self.sent))]

    async def erase(self, chat_id: str, message_ids: Sequence[str], *, notice: str) -> None:
        self.erased.append((chat_id, list(message_ids)))

    async def fetch_media(self, media: MediaRef) -> bytes:
        return self.files[media.file_id]


_update_ids = count(1)
_file_ids = count(1)


class Chat:
    """One person chatting on the recording channel; assertions read what they were sent."""

    def __init__(
        self,
        app: Kurasi,
        channel: RecordingChannel,
        *,
        user_id: str,
        name: str = "Budi",
        language: str | None = "id",
        chat_id: str | None = None,
        username: str | None = None,
    ) -> None:
        self.app = app
        self.channel = channel
        self.user_id = user_id
        self.name = name
        self.language = language
        self.username = username
        # A group chat (a review chat) when given; else the private chat with the bot.
        self.chat_id = chat_id or user_id
        self.chat_type = "group" if chat_id else "private"
        self.last: list[Reply] = []

    def incoming(self, event: Event, *, update_key: str | None = None) -> Incoming:
        return Incoming(
            sender=Sender(
                channel=self.channel.name,
                external_id=self.user_id,
                display_name=self.name,
                username=self.username,
                language_hint=self.language,
            ),
            chat_id=self.chat_id,
            chat_type=self.chat_type,  # type: ignore[arg-type]
            event=event,
            update_key=update_key or str(next(_update_ids)),
        )

    async def replies_to(self, event: Event) -> list[Reply]:
        """Run one event and return its replies without delivering them: safe to run many
        people's events concurrently and still know whose answer is whose."""
        return await self.app.handle(self.incoming(event), self.channel)

    async def send_event(
        self, event: Event, *, update_key: str | None = None, drain: bool = True
    ) -> list[Reply]:
        incoming = self.incoming(event, update_key=update_key)
        before = len(self.channel.sent)
        await self.app.process(incoming, self.channel)
        if drain:
            await self.app.drain()
            # Notices to other people wait in the outbox until its sender runs; review
            # cards are left to the tests' own poster (they check the pacing).
            await MessageSender(self.app, kinds=frozenset({NOTICE})).run_until_idle()
        self.last = [r for chat, r in self.channel.sent[before:] if chat == self.chat_id]
        return self.last

    async def send(self, text: str) -> list[Reply]:
        if text.startswith("/"):
            head, _, args = text[1:].partition(" ")
            return await self.send_event(Command(head, args))
        return await self.send_event(Text(text))

    async def send_photo(
        self,
        data: bytes,
        *,
        group_id: str | None = None,
        as_document: bool = False,
        mime: str | None = None,
        file_name: str | None = None,
        size: int | None = None,
        drain: bool = True,
    ) -> list[Reply]:
        file_id = f"file-{next(_file_ids)}"
        self.channel.files[file_id] = data
        ref = MediaRef(
            file_id=file_id,
            size=len(data) if size is None else size,
            mime=mime or ("image/jpeg" if not as_document else None),
            file_name=file_name,
        )
        event: Event = (
            Document(media=ref, group_id=group_id)
            if as_document
            else Photo(media=ref, group_id=group_id)
        )
        return await self.send_event(event, drain=drain)

    async def share_contact(self, phone: str, *, own: bool = True) -> list[Reply]:
        return await self.send_event(Contact(phone=phone, is_own=own))

    async def send_unsupported(self, kind: str = "sticker") -> list[Reply]:
        return await self.send_event(Unsupported(kind))

    def button(self, label: str) -> str:
        """The payload of the button whose label contains `label`, among the last replies."""
        for reply in reversed(self.last):
            for row in reply.buttons:
                for b in row:
                    if label.lower() in b.label.lower():
                        return b.payload
        raise AssertionError(f"no button {label!r} in {self.labels()}")

    def find_in_chat(self, label: str) -> tuple[str, str]:
        """(message id, payload) of the newest message in this chat with such a button."""
        for index in range(len(self.channel.sent) - 1, -1, -1):
            chat, reply = self.channel.sent[index]
            if chat != self.chat_id:
                continue
            for row in reply.buttons:
                for b in row:
                    if label.lower() in b.label.lower():
                        return str(index + 1), b.payload
        raise AssertionError(f"no button {label!r} in chat {self.chat_id}")

    async def press(self, label: str) -> list[Reply]:
        if self.chat_type == "group":
            message_id, payload = self.find_in_chat(label)
            return await self.send_event(ButtonPress(payload, message_id=message_id))
        return await self.send_event(ButtonPress(self.button(label)))

    @property
    def alerts(self) -> list[str]:
        return [r.alert for r in self.last if r.alert]

    async def press_payload(self, payload: str) -> list[Reply]:
        return await self.send_event(ButtonPress(payload))

    async def press_payload_in_chat(self, payload: str) -> list[Reply]:
        """Press a button of the newest message in this chat that carries it."""
        for index in range(len(self.channel.sent) - 1, -1, -1):
            chat, reply = self.channel.sent[index]
            if chat == self.chat_id and any(b.payload == payload for r in reply.buttons for b in r):
                return await self.send_event(ButtonPress(payload, message_id=str(index + 1)))
        raise AssertionError(f"no message in chat {self.chat_id} has button {payload!r}")

    def labels(self) -> list[str]:
        return [b.label for r in self.last for row in r.buttons for b in row]

    @property
    def text(self) -> str:
        return "\n".join(r.text for r in self.last)

    async def skip_numbers(self) -> None:
        """Pass the product form's document-number questions ("not at hand")."""
        while skip := [b for b in self.labels() if b in NOT_AT_HAND]:
            await self.press(skip[0])


NOT_AT_HAND = ("Tidak ada di tangan", "Not at hand")


async def create_database(server_url: str) -> str:
    """A fresh database of our own next to the configured one; returns its URL."""
    url = make_url(server_url)
    name = f"kurasi_test_{uuid.uuid4().hex[:10]}"
    admin = make_engine(url.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


async def drop_database(server_url: str, database_url: str) -> None:
    name = make_url(database_url).database
    admin = make_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


def flat_png(width: int, height: int, mode: str = "RGB", level: int = 9) -> bytes:
    """A decompression bomb: a real PNG of one colour, tiny on the wire, width x height
    pixels; written row by row, so making it costs no memory."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    channels = {"L": (0, 1), "RGB": (2, 3)}[mode]
    row = b"\x00" + b"\xc8" * (width * channels[1])
    pack = zlib.compressobj(level)
    batch = row * 256
    body = b"".join(pack.compress(batch) for _ in range(height // 256))
    body += pack.compress(row * (height % 256)) + pack.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 8, channels[0], 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


def make_photo(
    kind: str = "good", *, size: tuple[int, int] = (1200, 900), seed: int = 7, fmt: str = "JPEG"
) -> bytes:
    """A synthetic product photo: a lit, textured scene; or a dark, blurred or tiny one."""
    import io
    import random

    from PIL import Image, ImageDraw, ImageFilter

    rng = random.Random(seed)
    img = Image.new("RGB", size, (205, 185, 160))
    draw = ImageDraw.Draw(img)
    for _ in range(400):
        x, y = rng.randrange(size[0]), rng.randrange(size[1])
        w, h = rng.randint(4, size[0] // 10 + 5), rng.randint(4, size[1] // 10 + 5)
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        draw.rectangle([x, y, x + w, y + h], fill=colour)
    if kind == "dark":
        img = img.point(lambda v: v // 7)
    elif kind == "blurred":
        img = img.filter(ImageFilter.GaussianBlur(10))
    elif kind != "good":
        raise ValueError(kind)
    buf = io.BytesIO()
    img.save(buf, fmt, quality=90) if fmt == "JPEG" else img.save(buf, fmt)
    return buf.getvalue()
