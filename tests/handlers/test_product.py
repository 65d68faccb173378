"""Product registration as a producer experiences it (recording channel, real database)."""

from __future__ import annotations

import hashlib
import json

import pytest
from sqlalchemy import func, select

from bot.runtime import FloodGuard, Kurasi
from db.media_store import MediaStore
from db.models import Business, Photo, Product, User
from handlers.kit.events import Text
from tests.handlers.test_registration import register
from tests.support import Chat, FakeClock, RecordingChannel, flat_png, make_photo

GOOD = make_photo("good", seed=1)
GOOD_2 = make_photo("good", seed=2)
GOOD_3 = make_photo("good", seed=3)


async def the_product(sessionmaker, name: str | None = None) -> Product:
    async with sessionmaker() as session:
        stmt = select(Product).order_by(Product.id.desc())
        if name is not None:
            stmt = stmt.where(Product.name == name)
        product = await session.scalar(stmt.limit(1))
        assert product is not None
        return product


async def photos(sessionmaker, product_id: int) -> list[Photo]:
    async with sessionmaker() as session:
        return list(
            await session.scalars(
                select(Photo).where(Photo.product_id == product_id).order_by(Photo.position)
            )
        )


async def fill_details(chat: Chat, *, food_docs: tuple[str, ...] = ("PIRT",)) -> None:
    """From /produk_baru up to the photo question, for a food product."""
    await chat.send("/produk_baru")
    await chat.send("Keripik Tempe Original")
    assert chat.labels()[0].startswith("⭐ Makanan")  # the business's sector comes first
    await chat.press("⭐")
    await chat.send("Keripik tempe tipis dan renyah dari kedelai lokal Malang, digoreng kering.")
    await chat.press("Lewati")  # the English description is optional
    await chat.send("Rp 25.000")
    await chat.press("pack")
    await chat.send("10")
    await chat.send("500 pack")
    await chat.send("tempe, minyak kelapa, garam")
    await chat.send("6 bulan")
    # The checklist starts from the business's documents (PIRT and Halal).
    for label in food_docs:
        await chat.press(label)
    await chat.press("Selesai")
    await chat.skip_numbers()
    assert "foto" in chat.text.lower()


@pytest.fixture
async def producer(chat: Chat) -> Chat:
    await register(chat)
    return chat


async def test_full_product_registration_ends_in_submit(
    producer: Chat, sessionmaker, media_store: MediaStore, clock: FakeClock
) -> None:
    await fill_details(producer, food_docs=())
    await producer.send_photo(GOOD)
    assert "Foto 1" in producer.text
    await producer.send_photo(GOOD_2)
    await producer.press("Selesai")
    card = producer.last[-1]
    assert len(card.media) == 2 and "Keripik Tempe Original" in card.text
    assert "Rp 25.000" in card.text
    await producer.press("Ajukan")
    assert "diajukan" in producer.text.lower()
    product = await the_product(sessionmaker)
    assert product.status == "submitted" and product.round == 1
    assert product.submitted_at == clock.now
    assert (product.price, product.unit, product.min_order, product.capacity) == (
        25000,
        "pack",
        10,
        500,
    )
    assert product.sector == "food" and product.shelf_life_days == 180
    assert product.legal_docs == ["pirt", "halal"]
    stored = await photos(sessionmaker, product.id)
    assert [p.position for p in stored] == [1, 2]
    assert [p.sha256 for p in stored] == [
        hashlib.sha256(GOOD).hexdigest(),
        hashlib.sha256(GOOD_2).hexdigest(),
    ]
    assert media_store.read(stored[0].store_key) == GOOD
    assert stored[0].channel_ids == {"test": stored[0].channel_ids["test"]}


async def test_one_photo_then_done_shows_the_card(producer: Chat) -> None:
    # One photo already answers the photo question: "Selesai" under it must still count.
    await fill_details(producer, food_docs=())
    await producer.send_photo(GOOD)
    await producer.press("Selesai")
    assert "langkah sebelumnya" not in producer.text
    card = producer.last[-1]
    assert "Keripik Tempe Original" in card.text and len(card.media) == 1


async def test_album_gets_one_answer_and_keeps_order(producer: Chat, sessionmaker) -> None:
    await fill_details(producer)
    channel = producer.channel
    before = len(channel.sent)
    for data in (GOOD, GOOD_2, GOOD_3):
        await producer.send_photo(data, group_id="album-1", drain=False)
    await producer.app.drain()
    answers = [r for _chat, r in channel.sent[before:]]
    assert len(answers) == 1
    assert "3 foto" in answers[0].text
    product = await the_product(sessionmaker)
    stored = await photos(sessionmaker, product.id)
    assert [p.sha256 for p in stored] == [
        hashlib.sha256(d).hexdigest() for d in (GOOD, GOOD_2, GOOD_3)
    ]


async def test_what_is_refused_and_what_is_accepted(producer: Chat, sessionmaker) -> None:
    await fill_details(producer)
    await producer.send_photo(b"%PDF-1.4\n...", as_document=True, mime="application/pdf")
    assert "PDF" in producer.text
    await producer.send_photo(b"\x00" * 100, size=12 * 1024 * 1024)
    assert "10 MB" in producer.text
    await producer.send_photo(make_photo(size=(100, 100)))
    assert "100×100" in producer.text
    # 400 KB that would decode to 81 MP: the reason is the pixels, not the bytes.
    bomb = flat_png(9000, 9000, "L", level=1)
    await producer.send_photo(bomb, as_document=True, mime="image/png", file_name="a.png")
    assert "piksel" in producer.text and "9000×9000" in producer.text
    assert "10 MB" not in producer.text
    await producer.send_photo(b"\x00\x00\x00\x18ftypmp42", as_document=True, mime="video/mp4")
    assert "video" in producer.text.lower()
    await producer.send_photo(GOOD)
    await producer.send_photo(GOOD)
    assert "sudah" in producer.text.lower()  # already sent
    png = make_photo(fmt="PNG", seed=5)
    await producer.send_photo(png, as_document=True, mime="image/png", file_name="etiket.png")
    assert "Foto 2" in producer.text
    stored = await photos(sessionmaker, (await the_product(sessionmaker)).id)
    assert [p.mime for p in stored] == ["image/jpeg", "image/png"]
    assert stored[1].channel_ids == {}  # a document's id can't be re-sent as a photo


async def test_photo_hints_for_dark_and_blurred_only(producer: Chat, sessionmaker) -> None:
    await fill_details(producer)
    await producer.send_photo(GOOD)
    assert "gelap" not in producer.text.lower() and "buram" not in producer.text.lower()
    await producer.send_photo(make_photo("dark"))
    assert "gelap" in producer.text.lower()
    assert any("Hapus foto 2" in label for label in producer.labels())
    await producer.press("Hapus foto 2")
    await producer.send_photo(make_photo("blurred"))
    assert "buram" in producer.text.lower()
    await producer.press("Simpan saja")
    stored = await photos(sessionmaker, (await the_product(sessionmaker)).id)
    assert [p.hints for p in stored] == [[], ["blurred"]]


async def test_the_card_after_a_photo_is_removed_lists_the_photos_left(
    producer: Chat, sessionmaker
) -> None:
    await fill_details(producer)
    for seed in (1, 2, 3):
        await producer.send_photo(make_photo(seed=seed))
    await producer.press("Selesai")
    assert "Foto: 3" in producer.text
    await producer.press("Hapus foto")
    await producer.press("2")
    card = producer.text
    assert "Foto 2 dihapus." in card and "Foto: 2" in card, card
    assert len(producer.last[-1].media) == 2, card  # the card's album: the two photos left
    stored = await photos(sessionmaker, (await the_product(sessionmaker)).id)
    assert [p.position for p in stored] == [1, 2]


async def test_precheck_warns_before_submit_but_allows_it(producer: Chat, sessionmaker) -> None:
    await fill_details(producer, food_docs=("PIRT",))  # untick PIRT: no food permit left
    await producer.send_photo(GOOD)
    await producer.press("Selesai")
    assert "PIRT atau BPOM" in producer.text
    await producer.press("Ajukan")
    assert "PIRT atau BPOM" in producer.text  # asked to confirm
    assert "Kurator kemungkinan akan menanyakan hal ini:" in producer.text  # not English
    await producer.press("Tetap ajukan")
    product = await the_product(sessionmaker)
    assert product.status == "submitted"
    assert "food_permit" in product.precheck and "label_photo" in product.precheck


async def test_incomplete_submit_lists_what_is_missing(producer: Chat, sessionmaker) -> None:
    await producer.send("/produk_baru")
    await producer.send("Batik Tulis")
    await producer.send("/batal")
    await producer.send("/produk")
    await producer.press("Batik Tulis")
    await producer.press("Ajukan")
    text = producer.text
    assert "Harga" in text and "Foto" in text and "Kapasitas" in text
    assert (await the_product(sessionmaker)).status == "draft"


async def test_draft_is_offered_again_and_survives_restart(
    producer: Chat, sessionmaker, clock: FakeClock, media_store: MediaStore
) -> None:
    await producer.send("/produk_baru")
    await producer.send("Kopi Robusta Dampit")
    await producer.press("⭐")
    fresh = Kurasi(sessionmaker=sessionmaker, clock=clock, media_store=media_store)
    again = Chat(fresh, RecordingChannel(fresh), user_id=producer.user_id)
    await again.send("Kopi robusta petik merah dari lereng Semeru, disangrai sedang.")
    assert "bahasa inggris" in again.text.lower()  # carried on where it was
    await again.press("Lewati")
    assert "harga" in again.text.lower()
    await again.send("/batal")
    await again.send("/produk_baru")
    assert "Kopi Robusta Dampit" in again.text
    await again.press("Lanjutkan")
    assert "harga" in again.text.lower()
    await again.send("/batal")
    await again.send("/produk_baru")
    await again.press("Mulai baru")
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Product)) == 2


async def test_product_list_shows_status_and_withdraw(producer: Chat, sessionmaker) -> None:
    await fill_details(producer, food_docs=())
    await producer.send_photo(GOOD)
    await producer.send_photo(GOOD_2)
    await producer.press("Selesai")
    await producer.press("Ajukan")
    await producer.send("/produk")
    assert "menunggu kurasi" in producer.text
    await producer.press("Keripik Tempe")
    await producer.press("Tarik")
    assert (await the_product(sessionmaker)).status == "draft"
    await producer.send("/produk")
    assert "draf" in producer.text.lower()


async def test_product_limit(
    producer: Chat, sessionmaker, clock: FakeClock, media_store: MediaStore
) -> None:
    from handlers.kit.context import FlowSettings

    limited = Kurasi(
        sessionmaker=sessionmaker,
        clock=clock,
        media_store=media_store,
        flow_settings=FlowSettings(max_products=1),
    )
    chat = Chat(limited, RecordingChannel(limited), user_id=producer.user_id)
    await chat.send("/produk_baru")
    await chat.send("Produk Satu")
    await chat.send("/batal")
    await chat.send("/produk_baru")
    await chat.press("Mulai baru")
    assert "batas" in chat.text.lower()


async def test_flood_gets_one_notice_and_loses_nothing(
    producer: Chat, sessionmaker, clock: FakeClock, media_store: MediaStore
) -> None:
    guarded = Kurasi(
        sessionmaker=sessionmaker,
        clock=clock,
        media_store=media_store,
        flood=FloodGuard(limit=20),
    )
    chat = Chat(guarded, RecordingChannel(guarded), user_id=producer.user_id)
    await chat.send("/produk_baru")
    notices = 0
    answered = 0
    for i in range(30):
        await chat.send_event(Text(f"Nama produk {i}"))
        notices += sum("terlalu cepat" in r.text for r in chat.last)
        answered += bool(chat.last)
    assert notices == 1
    assert answered == 30  # every message got its answer, in order
    product = await the_product(sessionmaker)
    assert product.name == "Nama produk 0"  # the first answered the name question
    assert product.sector is None  # the rest were refused as sectors, nothing stored twice


async def test_my_data_export_and_erase(
    producer: Chat, sessionmaker, media_store: MediaStore
) -> None:
    await fill_details(producer)
    await producer.send_photo(GOOD)
    await producer.send("/datasaya")
    attachment = producer.last[0].attachment
    assert attachment is not None and attachment.filename.endswith(".json")
    data = json.loads(attachment.data)
    assert data["business"]["name"] == "Keripik Tempe Bu Tini"
    assert data["user"]["phone"] == "+6281234567890"
    assert data["products"][0]["name"] == "Keripik Tempe Original"
    assert data["products"][0]["photos"][0]["sha256"] == hashlib.sha256(GOOD).hexdigest()
    assert list(media_store.keys())

    await producer.send("/hapusdata")
    await producer.press("Batal")
    assert list(media_store.keys())
    await producer.send("/hapusdata")
    await producer.press("Ya, hapus")
    assert "dihapus" in producer.text
    assert list(media_store.keys()) == []
    async with sessionmaker() as session:
        for model in (User, Business, Product, Photo):
            assert await session.scalar(select(func.count()).select_from(model)) == 0
