"""The curator assist end to end through the runtime (recording channel, real database):
numbers asked and hinted in the product form, the card's block and its one-tap
suggestions, copied photos across businesses, HS heading and target markets, triage in
/antrian, and erasure."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image
from sqlalchemy import func, select

from bot.runtime import Kurasi
from bot.sender import MessageSender
from db.exports import columns, rows
from db.media_store import MediaStore
from db.models import PhotoHash, Product, Review
from db.requirements import product_export_facts
from handlers.features.review.card import Act, ReviewPayload
from handlers.kit.events import ButtonPress
from handlers.kit.payload import Payload
from tests.handlers.test_product import GOOD, GOOD_2, GOOD_3, the_product
from tests.handlers.test_registration import register
from tests.handlers.test_review import (
    FOOD_CHAT,
    curator,
    make_curator,
    review_app,
)
from tests.support import Chat, FakeClock, RecordingChannel, make_photo

# Kota Malang (35.73), as tests' producer registers; valid until 2028.
PIRT = "P-IRT No. 2063573010158-28"
HALAL = "ID35110000123450322"


@pytest.fixture
def app(sessionmaker, clock: FakeClock, media_store: MediaStore) -> Kurasi:
    return review_app(sessionmaker, clock, media_store)


@pytest.fixture
def poster(app: Kurasi) -> MessageSender:
    return MessageSender(app)


async def to_numbers(chat: Chat, name: str = "Keripik Tempe Original") -> None:
    """From /produk_baru to the first document-number question (PIRT and Halal held)."""
    await chat.send("/produk_baru")
    await chat.send(name)
    await chat.press("⭐")
    await chat.send("Keripik tempe tipis dan renyah dari kedelai lokal Malang, digoreng kering.")
    await chat.press("Lewati")
    await chat.send("Rp 25.000")
    await chat.press("pack")
    await chat.send("10")
    await chat.send("500 pack")
    await chat.send("tempe, minyak kelapa, garam")
    await chat.send("6 bulan")
    await chat.press("Selesai")  # the business's documents: PIRT and Halal
    assert "nomor P-IRT" in chat.text


async def submit_with(chat: Chat, pirt: str, photos: tuple[bytes, ...] = (GOOD, GOOD_2)) -> None:
    await to_numbers(chat)
    await chat.send(pirt)
    await chat.send(HALAL)
    for photo in photos:
        await chat.send_photo(photo)
    await chat.press("Selesai")
    await chat.press("Ajukan")
    if "Ajukan saja" in " ".join(chat.labels()):
        await chat.press("Ajukan saja")
    assert "diajukan" in chat.text


async def test_a_number_that_cannot_be_right_gets_a_hint_and_the_form_goes_on(
    app: Kurasi, chat: Chat, sessionmaker
) -> None:
    await register(chat)
    await to_numbers(chat)
    await chat.send("P-IRT 2063515010158-28")  # Sidoarjo's regency code
    assert "Kabupaten Sidoarjo" in chat.text and "Kota Malang" in chat.text
    assert "nomor sertifikat Halal" in chat.text  # the next question, straight away
    await chat.send("🍪🍪 halal ada")
    assert "diawali ID" in chat.text and "foto" in chat.text.lower()
    product = await the_product(sessionmaker)
    assert product.legal_numbers == {"pirt": "P-IRT 2063515010158-28", "halal": "🍪🍪 halal ada"}


@pytest.mark.parametrize(
    ("typed", "hint"),
    [
        ("1" * 40, "jauh lebih panjang"),
        ("🙂🙂🙂", "hanya berisi angka"),
        ("20635730l0158-28", "hanya berisi angka"),
        ("123456789012", "P-IRT lama 12 angka"),
        ("<script>alert(1)</script>", "hanya berisi angka"),
    ],
)
async def test_bad_pirt_input_is_kept_with_a_clear_hint(
    app: Kurasi, chat: Chat, sessionmaker, typed: str, hint: str
) -> None:
    await register(chat)
    await to_numbers(chat)
    await chat.send(typed)
    assert hint in chat.text
    assert "nomor sertifikat Halal" in chat.text  # the flow goes on
    assert (await the_product(sessionmaker)).legal_numbers["pirt"] == typed


async def test_english_producer_hears_the_hint_in_english(
    app: Kurasi, chat: Chat, sessionmaker
) -> None:
    await register(chat)
    await chat.send("/bahasa")
    if "English" in " ".join(chat.labels()):
        await chat.press("English")
    else:
        pytest.skip("no language switch command")
    await chat.send("/produk_baru")
    await chat.send("Tempe chips")
    await chat.press("⭐")
    await chat.send("Thin crispy tempe chips from local soybeans, fried dry.")
    await chat.press("Skip")
    await chat.send("25000")
    await chat.press("pack")
    for answer in ("10", "500", "tempe, coconut oil", "6 months"):
        await chat.send(answer)
    await chat.press("Done")
    await chat.send("2063573010158-24")
    assert "ended in 2024" in chat.text


async def test_card_block_and_one_tap_legality_score(
    app: Kurasi, channel: RecordingChannel, chat: Chat, poster: MessageSender, sessionmaker, clock
) -> None:
    await register(chat)
    await submit_with(chat, PIRT)
    await poster.run_until_idle()
    card = [r for c, r in channel.sent if c == FOOD_CHAT][-1].text
    assert "🤖 Diperiksa sebelum Anda membaca:" in card
    assert "✅ P-IRT format benar · Kota Malang · s.d. 2028" in card
    assert "✅ Halal format benar" in card and "✅ NIB format benar" in card
    assert "Saran skor Legalitas: 3" in card
    assert "Usaha Anda" not in card  # worded for the curator
    await make_curator(sessionmaker, clock, "c1")
    sari = curator(app, channel, "c1", "Sari")
    await sari.press("Ambil")
    assert "✨ Legal 3 (saran)" in " ".join(
        b.label for r in sari.last for row in r.buttons for b in row
    )
    await sari.press("✨ Legal 3 (saran)")
    async with sessionmaker() as session:
        review = await session.scalar(select(Review))
    assert review.scores == {"legal": 3}


async def test_wrong_regency_shows_on_the_card_and_flags_the_submission(
    app: Kurasi, channel: RecordingChannel, chat: Chat, poster: MessageSender, sessionmaker, clock
) -> None:
    await register(chat)
    await submit_with(chat, "2063507010158-28")  # Kabupaten Malang; the business is in the city
    await poster.run_until_idle()
    card = [r for c, r in channel.sent if c == FOOD_CHAT][-1].text
    assert "⚠ P-IRT menyebut Kabupaten Malang, usaha berada di Kota Malang" in card
    assert "Saran skor Legalitas: 2" in card
    assert (await the_product(sessionmaker)).flags == ["legal:pirt:pirt_region"]


async def test_copied_photo_across_businesses_is_flagged_for_curators_only(
    app: Kurasi, channel: RecordingChannel, chat: Chat, poster: MessageSender, sessionmaker, clock
) -> None:
    await register(chat)
    await submit_with(chat, PIRT)
    first = await the_product(sessionmaker)
    # Another business sends the first one's photo, resized and recompressed.
    img = Image.open(io.BytesIO(GOOD))
    out = io.BytesIO()
    img.resize((img.width * 3 // 4, img.height * 3 // 4)).save(out, "JPEG", quality=55)
    copier = Chat(app, channel, user_id="1002", name="Budi")
    await register(copier)
    await submit_with(copier, PIRT, photos=(out.getvalue(), GOOD_3))
    await poster.run_until_idle()
    second = await the_product(sessionmaker)
    assert second.id != first.id and "photo_copy" in second.flags
    card = [r for c, r in channel.sent if c == FOOD_CHAT][-1].text
    assert f"Foto 1 nyaris sama dengan foto #{first.id}" in card
    told = " ".join(r.text for c, r in channel.sent if c == copier.user_id)
    assert "nyaris" not in told and f"#{first.id}" not in told  # never the producer
    await make_curator(sessionmaker, clock, "c1")
    sari = curator(app, channel, "c1", "Sari")
    await sari.press("Ambil")  # the newest card: the copier's
    await sari.press(f"🔍 #{first.id}")
    assert f"#{first.id} Keripik Tempe Original" in sari.text
    # A forged button naming a product these photos do not match shows nothing.
    async with sessionmaker() as session:
        review = await session.scalar(select(Review).where(Review.product_id == second.id))
    card_id = review.card_message_id
    forged = ReviewPayload(Act.peek, review.id, reason=str(second.id)).pack()
    await sari.send_event(ButtonPress(forged, message_id=card_id))
    assert sari.alerts == ["Produk itu sudah tidak ada."] and "Keripik" not in sari.text
    assert ReviewPayload.unpack(Payload.unpack("rv|peek|1.x")) is None  # type: ignore[arg-type]
    assert ReviewPayload.unpack(Payload.unpack("rv|hs|1.123")) is None  # type: ignore[arg-type]


async def test_hs_heading_and_target_markets_from_the_card(
    app: Kurasi, chat: Chat, sessionmaker
) -> None:
    await register(chat)
    await to_numbers(chat)
    await chat.send(PIRT)
    await chat.press("Tidak ada di tangan")
    await chat.send_photo(GOOD)
    await chat.press("Selesai")
    await chat.press("🌏 Kode HS & pasar")
    assert any(label.startswith("2005 ") for label in chat.labels())
    await chat.press("2005")
    await chat.press("Jepang")
    await chat.press("Malaysia")
    await chat.press("Selesai")
    text = chat.text
    assert "🇯🇵 Jepang" in text and "🇲🇾 Malaysia" in text
    assert "✅ Izin pangan (P-IRT atau BPOM)" in text
    assert "⬜ Sertifikat halal" in text  # Halal held but its number not given
    assert "✅ Kode HS" in text
    # Back on the producer's card, with what was given.
    assert "Kode HS: 2005" in text and "Pasar tujuan: Jepang, Malaysia" in text
    assert f"Nomor dokumen: P-IRT {PIRT} · Halal —" in text
    product = await the_product(sessionmaker)
    assert (product.hs_code, product.hs_source) == ("2005", "producer")
    assert product.target_markets == ["JP", "MY"]
    async with sessionmaker() as session:  # the exports and the catalogue carry it
        batches = [batch async for batch in rows(session, what="products")]
        facts = await product_export_facts(session, product_id=product.id)
    header = columns("products")
    assert batches[0][0][header.index("hs_code")] == "2005"
    assert facts is not None and facts.hs_code == "2005"
    assert set(facts.readiness) == {"JP", "MY"}
    met, known = facts.readiness["MY"]
    assert 0 < met < known


async def test_queue_shows_flags_complete_unflagged_first(
    app: Kurasi, channel: RecordingChannel, chat: Chat, poster: MessageSender, sessionmaker, clock
) -> None:
    await register(chat)
    await submit_with(chat, "2063573010158-20")  # expired: flagged, and older
    other = Chat(app, channel, user_id="1002", name="Budi")
    await register(other)
    await to_numbers(other, name="Keripik Bayam")
    await other.send(PIRT)
    await other.send(HALAL)
    await other.send_photo(make_photo("good", seed=4))
    await other.send_photo(make_photo("good", seed=5))
    await other.press("Selesai")
    await other.press("Ajukan")
    await poster.run_until_idle()
    await make_curator(sessionmaker, clock, "c1")
    sari = curator(app, channel, "c1", "Sari")
    await sari.send("/antrian")
    text = sari.text
    assert text.index("Keripik Bayam") < text.index("Keripik Tempe Original")
    assert "✓ lengkap, tanpa tanda" in text and "⚑ nomor legalitas" in text


async def test_erasure_removes_hashes_and_numbers(app: Kurasi, chat: Chat, sessionmaker) -> None:
    await register(chat)
    await to_numbers(chat)
    await chat.send(PIRT)
    await chat.send(HALAL)
    await chat.send_photo(GOOD)
    await chat.press("Selesai")
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(PhotoHash)) == 1
    await chat.send("/datasaya")
    attachment = chat.last[0].attachment
    assert attachment is not None
    exported = json.loads(attachment.data)["products"][0]
    assert exported["legal_document_numbers"] == {"pirt": PIRT, "halal": HALAL}
    await chat.send("/hapusdata")
    await chat.press("Ya, hapus")
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(PhotoHash)) == 0
        assert await session.scalar(select(func.count()).select_from(Product)) == 0


def test_card_words_the_pre_check_for_the_curator(clock: FakeClock) -> None:
    from bot.i18n import translator
    from db.models import Business
    from handlers.features.review.card import card_text
    from handlers.rules.precheck import BY_CODE

    t = translator("id")
    business = Business(name="Usaha Uji", region_code="35.73", has_nib=False, legal_docs=[])
    product = Product(
        name="Keripik", sector="food", status="submitted", precheck=["no_nib", "halal"]
    )
    review = Review(round=1, scores={}, snapshot={})
    text = card_text(t, (product, business), review, clock.now)
    assert "Usaha belum punya NIB." in text and "Tidak ada sertifikat Halal" in text
    assert t(BY_CODE["no_nib"].message) not in text  # the producer's wording stays theirs


async def test_digest_counts_unflagged_and_lists_flagged(
    sessionmaker, clock: FakeClock, media_store: MediaStore
) -> None:
    from bot.i18n import translator
    from handlers.features.reminders import _review_digest
    from tests.factories import submitted_product

    clean = await submitted_product(sessionmaker, now=clock.now, store=media_store, name="Bersih")
    flagged = await submitted_product(sessionmaker, now=clock.now, store=media_store, name="Ragu")
    async with sessionmaker() as session, session.begin():
        row = await session.get(Product, flagged.id)
        row.flags = ["legal:pirt:expired", "photo_copy"]
    async with sessionmaker() as session:
        reply = await _review_digest(
            session, translator("id"), FOOD_CHAT, clock.now, ((FOOD_CHAT, ("food",)),)
        )
    assert reply is not None
    assert "✓ 1 lengkap, tanpa tanda" in reply.text
    assert f"#{flagged.id} Ragu — ⚑ nomor legalitas, foto salinan" in reply.text
    assert f"#{clean.id} Bersih" not in reply.text
