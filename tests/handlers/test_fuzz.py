"""Whatever a person sends, in whatever order, the bot answers and never breaks.

Seeded random walks over every kind of event: typed text of all sorts, every command, the
buttons on screen and forged ones, stickers, contacts, photos and files of junk.
"""

from __future__ import annotations

import random

import pytest

from bot.runtime import FloodGuard, Kurasi
from handlers.kit.events import (
    ButtonPress,
    Command,
    Contact,
    Document,
    Event,
    MediaRef,
    Photo,
    Text,
    Unsupported,
)
from handlers.kit.payload import Payload
from handlers.routes import COMMANDS
from tests.handlers.test_registration import register
from tests.support import Chat, RecordingChannel, make_photo

ERROR = "Maaf, ada gangguan"  # the runtime's reply when a handler raised
TEXTS = [
    "", " ", "ya", "tidak", "belum punya", "1", "0", "-5", "25rb", "1,5 jt", "500 pcs",
    "6 bulan", "malang", "Kota Malang", "sby", "0812-3456-7890", "+6281234567890",
    "1234567890123", "12345", "PIRT, Halal", "selesai", "done", "x" * 5000, "💥🔥" * 50,
    "\x00\x01", "Robert'); DROP TABLE users;--", "<b>bold</b>", "Malaysia, Jepang dan Korea",
]  # fmt: skip


def random_event(rng: random.Random, chat: Chat, files: dict[str, bytes]) -> Event:
    roll = rng.random()
    if roll < 0.35:
        return Text(rng.choice(TEXTS))
    if roll < 0.5:
        return Command(rng.choice(sorted(COMMANDS)), rng.choice(["", "1", "@someone", "x" * 300]))
    if roll < 0.75:
        labels = [b.payload for r in chat.last for row in r.buttons for b in row]
        if labels and rng.random() < 0.8:
            return ButtonPress(rng.choice(labels))
        forged = rng.choice(
            [
                "garbage",
                Payload("prod", "card", "submit").pack(),
                Payload("plist", "open", str(rng.randint(1, 50))).pack(),
                Payload("rv", "approve", "1").pack(),
                Payload("fair", "interest", "999").pack(),
                Payload("reg", "summary", "save").pack(),
                "a|b",
                "||",
            ]
        )
        return ButtonPress(forged)
    if roll < 0.82:
        return Unsupported(rng.choice(["sticker", "voice", "location", "video", "poll"]))
    if roll < 0.88:
        return Contact(phone=rng.choice(["6281234567890", "12", "+1 555 0100"]), is_own=True)
    file_id = f"fuzz-{len(files)}"
    files[file_id] = rng.choice(
        [make_photo(seed=rng.randint(0, 5)), b"%PDF-1.4 junk", b"\xff\xd8\xff" + b"\x00" * 50]
    )
    ref = MediaRef(
        file_id=file_id,
        size=len(files[file_id]),
        mime=rng.choice([None, "image/jpeg", "application/pdf"]),
    )
    return (
        Photo(media=ref)
        if rng.random() < 0.6
        else Document(media=ref, group_id=rng.choice([None, "g1"]))
    )


@pytest.mark.parametrize("registered", [False, True])
@pytest.mark.parametrize("seed", range(8))
async def test_random_walks_always_get_an_answer(
    sessionmaker, clock, media_store, seed: int, registered: bool
) -> None:
    app = Kurasi(
        sessionmaker=sessionmaker,
        clock=clock,
        media_store=media_store,
        debounce_seconds=60,
        flood=FloodGuard(limit=10_000),
    )
    channel = RecordingChannel(app)
    rng = random.Random(seed)
    chat = Chat(app, channel, user_id=f"fuzz-{seed}-{registered}", language="id")
    if registered:  # start deep: a registered producer in the middle of a product
        await register(chat)
        await chat.send("/produk_baru")
        await chat.send("Produk Uji")
    for _ in range(60):
        event = random_event(rng, chat, channel.files)
        replies = await chat.send_event(event)
        assert replies, f"no answer to {event!r}"
        assert not any(ERROR in r.text or "went wrong" in r.text for r in replies), (
            f"{event!r} broke a handler"
        )
        clock.advance(minutes=rng.choice([0, 1, 60, 60 * 24]))


@pytest.mark.parametrize("seed", range(6))
async def test_random_walks_in_a_review_chat(sessionmaker, clock, media_store, seed: int) -> None:
    from bot.sender import MessageSender
    from db.reviews import add_curator
    from handlers.kit.context import FlowSettings
    from handlers.routes import GROUP_COMMANDS
    from tests.factories import submitted_product

    app = Kurasi(
        sessionmaker=sessionmaker,
        clock=clock,
        media_store=media_store,
        flood=FloodGuard(limit=10_000),
        flow_settings=FlowSettings(
            review_chats=(("-100", ()),), review_channel="test", admin_ids=frozenset({"adm"})
        ),
    )
    channel = RecordingChannel(app)
    for _ in range(3):
        await submitted_product(sessionmaker, now=clock.now, store=media_store, chat_id="-100")
    async with sessionmaker() as session, session.begin():
        for who in ("c1", "c2"):
            await add_curator(
                session, external_id=who, chat_id=None, added_by="t", now=clock.now, channel="test"
            )
    await MessageSender(app).run_until_idle()
    rng = random.Random(seed)
    people = [
        Chat(app, channel, user_id=u, name=u, chat_id="-100") for u in ("c1", "c2", "adm", "x")
    ]
    for _ in range(80):
        person = rng.choice(people)
        roll = rng.random()
        if roll < 0.6:
            buttons = [
                (str(i + 1), b.payload)
                for i, (c, r) in enumerate(channel.sent)
                if c == "-100"
                for row in r.buttons
                for b in row
            ]
            message_id, payload = rng.choice(buttons)
            event: Event = ButtonPress(payload, message_id=message_id)
        elif roll < 0.75:
            event = ButtonPress(
                Payload(
                    "rv",
                    rng.choice(["claim", "score", "approve", "send", "reason"]),
                    rng.choice(["1", "1.legal.9", "x", "999", "2.photos"]),
                ).pack()
            )
        elif roll < 0.9:
            event = Command(rng.choice(sorted(GROUP_COMMANDS)), rng.choice(["", "c2", "@nobody"]))
        else:
            event = Text(rng.choice(TEXTS))
        replies = await person.send_event(event)
        assert not any(ERROR in (r.text + (r.alert or "")) for r in replies), f"{event!r} broke"
