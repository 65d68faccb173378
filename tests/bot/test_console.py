"""The terminal console drives the real flows: buttons become numbers, files become paths."""

from __future__ import annotations

from collections.abc import Iterator

from bot.channels.console import ConsoleChannel
from bot.runtime import Kurasi
from db.businesses import get_business
from db.users import get_user


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
    assert "☰ Pilih / Choose" in output  # 4-10 choices: a list message
    async with sessionmaker() as session:
        user = await get_user(session, channel="whatsapp", external_id="6281234567890")
        business = await get_business(session, owner_id=user.id)
    assert business.registered_at is not None and business.sector == "food"
