"""Products over Telegram: photos downloaded through getFile, albums, the card's media."""

from __future__ import annotations

import hashlib
import json

from sqlalchemy import select

from bot.config import Settings
from db.models import Photo, Product
from tests.bot.telegram_driver import Person, register_business, running_bot, texts
from tests.fakes.telegram import FakeTelegram
from tests.support import make_photo

USER = 5550002


async def product_details(tini: Person) -> None:
    await tini.say("/produk_baru")
    await tini.say("Keripik Tempe Original")
    await tini.press("⭐")
    await tini.say("Keripik tempe tipis dan renyah dari kedelai lokal, digoreng kering.")
    await tini.press("Lewati")  # the English description
    await tini.say("25rb")
    await tini.press("pack")
    for answer in ("10", "500", "tempe, minyak kelapa", "6 bulan"):
        await tini.say(answer)
    await tini.press("Selesai")
    for _number in ("PIRT", "Halal"):  # the documents' numbers, not at hand
        await tini.press("Tidak ada di tangan")


async def test_album_photo_card_and_submit(
    fake: FakeTelegram, settings: Settings, sessionmaker
) -> None:
    pictures = [make_photo(seed=s) for s in (11, 12, 13)]
    async with running_bot(settings, fake) as (runtime, tracker):
        tini = Person(fake, tracker, USER)
        await register_business(tini)
        await product_details(tini)
        before = len(fake.sent("sendMessage", chat_id=USER))
        album = [
            fake.message(USER, photo=fake.photo_sizes(p, 1200, 900), media_group_id="alb-1")
            for p in pictures
        ]
        for update in album:
            await tini._push(update)
        await runtime.app.drain()
        acks = fake.sent("sendMessage", chat_id=USER)[before:]
        assert len(acks) == 1 and "3 foto" in acks[0].params["text"]
        card = await tini.press("Selesai")
        groups = [c for c in card if c.method == "sendMediaGroup"]
        assert len(groups) == 1 and len(groups[0].params["media"]) == 3
        # Photos the user sent are re-sent by their file_id: no upload.
        assert not groups[0].files
        # Nothing for the pre-check to warn about: submitted at once.
        assert "diajukan" in texts(await tini.press("Ajukan"))

    async with sessionmaker() as session:
        product = await session.scalar(select(Product))
        stored = list(
            await session.scalars(
                select(Photo).where(Photo.product_id == product.id).order_by(Photo.position)
            )
        )
    assert product.status == "submitted"
    assert [p.sha256 for p in stored] == [hashlib.sha256(p).hexdigest() for p in pictures]
    assert all(p.channel_ids.get("telegram") for p in stored)


async def test_document_photo_is_uploaded_once_then_sent_by_id(
    fake: FakeTelegram, settings: Settings, sessionmaker
) -> None:
    png = make_photo(fmt="PNG", seed=21)
    async with running_bot(settings, fake) as (_runtime, tracker):
        tini = Person(fake, tracker, USER)
        await register_business(tini)
        await product_details(tini)
        doc = fake.add_document(png, file_name="kemasan.png", mime_type="image/png")
        assert "Foto 1" in texts(await tini.send(document=doc))
        pdf = fake.add_document(b"%PDF-1.4 brosur", file_name="brosur.pdf")
        assert "PDF" in texts(await tini.send(document=pdf))
        first_card = await tini.press("Selesai")
        uploads = [c for c in first_card if c.method == "sendPhoto"]
        assert len(uploads) == 1 and uploads[0].upload("photo") == png
        await tini.press("Simpan draf")
        await tini.say("/produk")
        second_card = await tini.press("Keripik Tempe")
        resent = [c for c in second_card if c.method == "sendPhoto"]
        assert len(resent) == 1 and not resent[0].files  # by the cached file_id


async def test_my_data_arrives_as_a_document(fake: FakeTelegram, settings: Settings) -> None:
    async with running_bot(settings, fake) as (_runtime, tracker):
        tini = Person(fake, tracker, USER)
        await register_business(tini)
        sent = await tini.say("/datasaya")
        document = next(c for c in sent if c.method == "sendDocument")
        data = json.loads(document.upload("document"))
        assert data["business"]["name"] == "Keripik Tempe Bu Tini"
