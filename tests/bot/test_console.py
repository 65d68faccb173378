"""The terminal console drives the real flows: buttons become numbers, files become paths."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

from bot.channels.console import PROMPT, ConsoleChannel
from bot.runtime import Kurasi
from bot.sender import MessageSender
from db.businesses import get_business
from db.users import get_user
from handlers.kit.events import Reply
from tests.factories import submitted_product


def scripted(lines: list[str]):
    feed: Iterator[str] = iter(lines)

    async def read(_prompt: str) -> str | None:
        return next(feed, None)

    return read


async def test_console_registration_to_the_end(app: Kurasi, sessionmaker) -> None:
    screen: list[str] = []
    script = [
        "/start", "1", "1", "Tempe Chips Bu Tini", "Tini", ":contact 0812 3456 7890",
        "kota malang", "1", "9999", "1234567890123", "6", "500 pcs", "1", "10", ":quit",
    ]  # fmt: skip
    console = ConsoleChannel(app, user_id="tini", read=scripted(script), write=screen.append)
    await console.run()
    output = "\n".join(screen)
    assert "[1] Bahasa Indonesia" in output
    async with sessionmaker() as session:
        user = await get_user(session, channel="console", external_id="tini")
        business = await get_business(session, owner_id=user.id)
    assert business.registered_at is not None
    assert (business.name, business.region_code, business.sector) == (
        "Tempe Chips Bu Tini",
        "35.73",
        "food",
    )
    assert business.phone == "+6281234567890"


async def test_console_commands_and_files(app: Kurasi, tmp_path) -> None:
    screen: list[str] = []
    console = ConsoleChannel(app, read=scripted([]), write=screen.append)
    assert console.parse(":help") is None and "console command" not in "".join(screen)
    assert console.parse(":photo /no/such/file.jpg") is None
    assert "no such file" in screen[-1]
    image = tmp_path / "a.png"
    image.write_bytes(b"\x89PNG")
    event = console.parse(f":photo {image}")
    assert event.media.mime == "image/png" and await console.fetch_media(event.media) == b"\x89PNG"
    assert console.parse(":sticker").kind == "sticker"
    assert console.parse("/profil").name == "profil"
    assert console.parse("7").text == "7"  # no button 7 shown: plain text


async def test_review_chat_shows_the_album_a_line_a_photo(
    app: Kurasi, sessionmaker, media_store, clock
) -> None:
    """The card's photos go out as a reply with media and no text: still on screen."""
    screen: list[str] = []
    ConsoleChannel(app, read=scripted([]), write=screen.append)
    await submitted_product(
        sessionmaker, now=clock.now, store=media_store, channel="console", photos=3
    )
    assert await MessageSender(app).run_until_idle() == 1
    output = "\n".join(screen)
    photo_lines = [line for line in output.splitlines() if line.startswith("🖼")]
    assert len(photo_lines) == 3
    assert all(".jpg" in line for line in photo_lines)
    assert output.index("🖼") < output.index("Kurasi ›")  # the photos, then the card


async def test_a_message_arriving_at_the_prompt_gets_its_own_lines(app: Kurasi) -> None:
    """A digest or a notice while the person is at `you ›`: not glued to the prompt, and the
    prompt is drawn again below it."""
    terminal: list[str] = []
    waiting = asyncio.Event()
    go_on = asyncio.Event()
    lines = iter(["/bantuan", ":quit"])

    async def read(prompt: str) -> str | None:
        terminal.append(prompt)  # what input() shows
        line = next(lines, None)
        if line == ":quit":
            waiting.set()
            await go_on.wait()
        terminal.append(f"{line}\n")  # the terminal echoes what was typed
        return line

    console = ConsoleChannel(
        app,
        read=read,
        write=lambda text: terminal.append(text + "\n"),
        write_raw=terminal.append,
        erase_line="\n",
    )
    running = asyncio.create_task(console.run())
    await waiting.wait()
    await console.post(console.user_id, Reply("☀️ Digest: 2 products waiting"))
    go_on.set()
    await running
    screen = "".join(terminal)
    assert f"{PROMPT}\nKurasi › ☀️ Digest: 2 products waiting\n{PROMPT}" in screen
    assert f"{PROMPT}Kurasi" not in screen
    # Replies to what the person typed are not preceded by an extra blank line.
    assert f"{PROMPT}\n\n" not in screen


async def test_erasure_is_shown_in_the_console_review_chat(app: Kurasi) -> None:
    screen: list[str] = []
    console = ConsoleChannel(app, read=scripted([]), write=screen.append)
    await console.erase("review", ["3", "4"], notice="🗑 Data erased at the producer's request.")
    assert screen == [
        "[in chat review] (messages 3, 4 deleted: 🗑 Data erased at the producer's request.)"
    ]


async def test_console_plays_a_whatsapp_user_with_whatsapps_limits(
    app: Kurasi, sessionmaker
) -> None:
    screen: list[str] = []
    script = [
        ":channel whatsapp", "/start", "1", "1", "Tempe Chips Bu Tini", "Tini",
        ":contact 0812 3456 7890", "kota malang", "1", "9999", "1234567890123", "6", "500 pcs",
        "1", "10", ":quit",
    ]  # fmt: skip
    console = ConsoleChannel(
        app, user_id="6281234567890", read=scripted(script), write=screen.append
    )
    await console.run()
    output = "\n".join(screen)
    assert "WhatsApp › " in output and "Kurasi › " not in output
    assert "[1] Bahasa Indonesia" in output
    assert "☰ Pilih" in output  # 4-10 choices: a list message
    async with sessionmaker() as session:
        user = await get_user(session, channel="whatsapp", external_id="6281234567890")
        business = await get_business(session, owner_id=user.id)
    assert business.registered_at is not None and business.sector == "food"
