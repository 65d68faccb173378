"""Curation in review chats, on the recording channel with a real database."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.notify import Notifier
from bot.runtime import FloodGuard, Kurasi
from bot.scheduler import release_stale_claims
from bot.sender import MessageSender
from db.media_store import MediaStore
from db.models import AuditEvent, Product, Review
from db.reviews import add_curator
from handlers.kit.context import FlowSettings
from handlers.rules.schedule import ReminderSchedule
from tests.factories import submitted_product
from tests.handlers.test_product import GOOD, GOOD_2, fill_details
from tests.handlers.test_registration import register
from tests.support import Chat, FakeClock, RecordingChannel

FOOD_CHAT = "-1001"
CRAFT_CHAT = "-1002"
ADMIN = "9000"


def review_app(
    sessionmaker, clock: FakeClock, media_store: MediaStore, *, review_language: str = "id"
) -> Kurasi:
    return Kurasi(
        sessionmaker=sessionmaker,
        clock=clock,
        media_store=media_store,
        debounce_seconds=60,
        flood=FloodGuard(limit=10_000),
        flow_settings=FlowSettings(
            review_chats=((FOOD_CHAT, ("food",)), (CRAFT_CHAT, ())),
            review_channel="test",
            review_language=review_language,
            admin_ids=frozenset({ADMIN}),
        ),
    )


@pytest.fixture
def app(sessionmaker, clock: FakeClock, media_store: MediaStore) -> Kurasi:
    return review_app(sessionmaker, clock, media_store)


@pytest.fixture
def poster(app: Kurasi) -> MessageSender:
    return MessageSender(app)


def curator(
    app: Kurasi, channel: RecordingChannel, user_id: str, name: str, chat=FOOD_CHAT
) -> Chat:
    return Chat(app, channel, user_id=user_id, name=name, chat_id=chat)


async def make_curator(sessionmaker, clock: FakeClock, user_id: str, chat: str | None = None):
    async with sessionmaker() as session, session.begin():
        await add_curator(
            session,
            external_id=user_id,
            chat_id=chat,
            added_by=ADMIN,
            now=clock.now,
            channel="test",
        )


async def after_undo_window(app: Kurasi, clock: FakeClock) -> int:
    """Let the 30-second undo window close and send what is due (the producer's notice)."""
    clock.advance(seconds=31)
    notifier = Notifier(app, schedule=ReminderSchedule(), timezone="Asia/Jakarta")
    return await notifier.send_due()


async def score_all(sari: Chat, channel: RecordingChannel, column: int = 2) -> None:
    """Every criterion scored `column` (1-3) on the newest card, as a curator taps them."""
    rows = [r for c, r in channel.sent if c == sari.chat_id and r.buttons][-1].buttons
    for criterion in range(7):
        await sari.press_payload_in_chat(rows[criterion][column].payload)


async def product_status(sessionmaker, product_id: int) -> str:
    async with sessionmaker() as session:
        return (await session.get(Product, product_id)).status


async def submit_via_chat(chat: Chat) -> None:
    await register(chat)
    await fill_details(chat, food_docs=())
    await chat.send_photo(GOOD)
    await chat.send_photo(GOOD_2)
    await chat.press("Selesai")
    await chat.press("Ajukan")
    assert "diajukan" in chat.text


async def test_submit_claim_score_approve_and_the_producer_is_told(
    app: Kurasi, channel: RecordingChannel, chat: Chat, poster: MessageSender, sessionmaker, clock
) -> None:
    await submit_via_chat(chat)
    assert await poster.run_until_idle() == 1
    in_food_chat = [r for c, r in channel.sent if c == FOOD_CHAT]
    assert len(in_food_chat[0].media) == 2  # the album
    card = in_food_chat[1]
    assert "Keripik Tempe Original" in card.text and "ronde 1" in card.text.lower()
    assert "Keripik Tempe Bu Tini" in card.text and "Kota Malang" in card.text
    await make_curator(sessionmaker, clock, "c1")
    sari = curator(app, channel, "c1", "Sari")
    await sari.press("Ambil")
    assert any("Sari" in r.text for r in sari.last)
    producer_msgs = [r.text for c, r in channel.sent if c == chat.user_id]
    assert "sedang direview" in producer_msgs[-1].lower() or "meninjau" in producer_msgs[-1].lower()
    for criterion in range(7):
        rows = [r for c, r in channel.sent if c == FOOD_CHAT][-1].buttons
        await sari.press_payload_in_chat(rows[criterion][3].payload)
    assert "A" in sari.last[-1].text  # the grade shows as scores come in
    await sari.press("Setujui")
    product_id = (await the_only_product(sessionmaker)).id
    assert await product_status(sessionmaker, product_id) == "approved"
    assert "Urungkan" in " ".join(b.label for row in sari.last[-1].buttons for b in row)
    assert await after_undo_window(app, clock) == 1
    told = [r.text for c, r in channel.sent if c == chat.user_id][-1]
    assert "disetujui" in told and "A" in told
    async with sessionmaker() as session:
        review = await session.scalar(select(Review))
        actions = list(await session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
    assert review.decision == "approved" and review.grade == "A" and len(review.scores) == 7
    assert actions == ["submit", "claim", "approve"]


async def the_only_product(sessionmaker) -> Product:
    async with sessionmaker() as session:
        return await session.scalar(select(Product))


async def test_products_go_to_the_chat_of_their_sector(
    app, channel, poster, sessionmaker, clock, media_store
) -> None:
    await submitted_product(
        sessionmaker, now=clock.now, store=media_store, sector="food", chat_id=FOOD_CHAT
    )
    await submitted_product(
        sessionmaker, now=clock.now, store=media_store, sector="handicraft", chat_id=CRAFT_CHAT
    )
    await poster.run_until_idle()
    food = [r.text for c, r in channel.sent if c == FOOD_CHAT and r.text]
    craft = [r.text for c, r in channel.sent if c == CRAFT_CHAT and r.text]
    assert len(food) == 1 and len(craft) == 1
    assert "Makanan" in food[0] and "Kerajinan" in craft[0]


async def test_revise_then_resubmit_shows_what_changed(
    app: Kurasi, channel: RecordingChannel, chat: Chat, poster: MessageSender, sessionmaker, clock
) -> None:
    await submit_via_chat(chat)
    await poster.run_until_idle()
    await make_curator(sessionmaker, clock, "c1")
    sari = curator(app, channel, "c1", "Sari")
    await sari.press("Ambil")
    await sari.press("Revisi")
    await sari.press("Foto kurang jelas")
    await sari.press("Tulis alasan")
    assert sari.last[-1].force_reply
    await sari.send("terlalu pendek")
    # Shown back before it goes: nothing is sent yet.
    assert "terlalu pendek" in sari.text and "Kirim permintaan revisi" in sari.text
    assert (await the_only_product(sessionmaker)).status == "in_review"
    await sari.press("Kirim permintaan revisi")
    product = await the_only_product(sessionmaker)
    assert product.status == "revision_requested"
    told = [r for c, r in channel.sent if c == chat.user_id][-1]
    assert "Foto kurang jelas" in told.text and "terlalu pendek" in told.text
    # The producer follows the button, fixes the price, and submits again.
    await chat.press_payload(told.buttons[0][0].payload)
    await chat.press("Ubah data")
    await chat.press("Harga")
    await chat.send("22.500")
    await chat.press("Ajukan")
    if any("Tetap ajukan" in label for label in chat.labels()):
        await chat.press("Tetap ajukan")
    product = await the_only_product(sessionmaker)
    assert (product.status, product.round) == ("submitted", 2)
    await poster.run_until_idle()
    card = [r for c, r in channel.sent if c == FOOD_CHAT and r.buttons][-1]
    assert "ronde 2" in card.text.lower()
    assert "harga" in card.text.lower() and "terlalu pendek" in card.text
    await sari.press("Ambil")
    rows = [r for c, r in channel.sent if c == FOOD_CHAT][-1].buttons
    for criterion in range(7):
        await sari.press_payload_in_chat(rows[criterion][2].payload)  # all 2s: grade C
    await sari.press("Setujui")
    assert sari.last[-1].force_reply  # grade C needs a reason to pass
    await sari.send("Pasar lokal sangat kuat, kemasan sudah diperbaiki.")
    product = await the_only_product(sessionmaker)
    assert product.status == "approved"
    async with sessionmaker() as session:
        second = await session.scalar(select(Review).where(Review.round == 2))
    assert second.override and second.grade == "C"


async def test_fifty_curators_press_approve_at_once(
    app: Kurasi, channel: RecordingChannel, poster: MessageSender, sessionmaker, clock, media_store
) -> None:
    product = await submitted_product(
        sessionmaker, now=clock.now, store=media_store, chat_id=FOOD_CHAT
    )
    await poster.run_until_idle()
    for i in range(50):
        await make_curator(sessionmaker, clock, f"c{i}")
    holder = curator(app, channel, "c0", "Curator 0")
    await holder.press("Ambil")
    rows = [r for c, r in channel.sent if c == FOOD_CHAT][-1].buttons
    for criterion in range(7):
        await holder.press_payload_in_chat(rows[criterion][3].payload)
    message_id, approve = holder.find_in_chat("Setujui")
    from handlers.kit.events import ButtonPress

    crowd = [curator(app, channel, f"c{i}", f"Curator {i}") for i in range(50)]
    # The holder double-taps while 49 colleagues press too.
    presses = [c.replies_to(ButtonPress(approve, message_id=message_id)) for c in crowd]
    presses.append(holder.replies_to(ButtonPress(approve, message_id=message_id)))
    results = await asyncio.gather(*presses)
    alerts = [r.alert for replies in results for r in replies if r.alert]
    decided = [a for a in alerts if "produsen" in a.lower()]  # "sent to the producer"
    assert len(decided) == 1
    assert len(alerts) == 51
    assert all("Curator 0" in a for a in alerts if a not in decided)
    assert await product_status(sessionmaker, product.id) == "approved"
    async with sessionmaker() as session:
        approvals = await session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "approve")
        )
    assert approvals == 1


async def test_fifty_curators_claim_at_once(
    app: Kurasi, channel: RecordingChannel, poster: MessageSender, sessionmaker, clock, media_store
) -> None:
    product = await submitted_product(
        sessionmaker, now=clock.now, store=media_store, chat_id=FOOD_CHAT
    )
    await poster.run_until_idle()
    for i in range(50):
        await make_curator(sessionmaker, clock, f"c{i}")
    crowd = [curator(app, channel, f"c{i}", f"Curator {i}") for i in range(50)]
    message_id, claim = crowd[0].find_in_chat("Ambil")
    from handlers.kit.events import ButtonPress

    results = await asyncio.gather(
        *(c.replies_to(ButtonPress(claim, message_id=message_id)) for c in crowd)
    )
    winners = [i for i, replies in enumerate(results) if any(r.text for r in replies)]
    assert len(winners) == 1
    holder = f"Curator {winners[0]}"
    losers = [r.alert for i, replies in enumerate(results) if i != winners[0] for r in replies]
    assert len(losers) == 49 and all(holder in (a or "") for a in losers)
    assert await product_status(sessionmaker, product.id) == "in_review"


async def test_outsiders_and_the_producer_are_refused(
    app: Kurasi, channel: RecordingChannel, poster: MessageSender, sessionmaker, clock, media_store
) -> None:
    product = await submitted_product(
        sessionmaker, now=clock.now, store=media_store, chat_id=FOOD_CHAT, owner="owner-1"
    )
    await poster.run_until_idle()
    stranger = curator(app, channel, "s1", "Stranger")
    await stranger.press("Ambil")
    assert stranger.alerts and "kurator" in stranger.alerts[0].lower()
    await make_curator(sessionmaker, clock, "owner-1")  # the producer is also a curator
    owner = curator(app, channel, "owner-1", "Owner")
    await owner.press("Ambil")
    assert owner.alerts and "sendiri" in owner.alerts[0].lower()
    # A curator of another chat only.
    await make_curator(sessionmaker, clock, "c-craft", CRAFT_CHAT)
    other = curator(app, channel, "c-craft", "Craft only")
    await other.press("Ambil")
    assert other.alerts
    assert await product_status(sessionmaker, product.id) == "submitted"


async def test_claim_timeout_returns_the_product(
    app: Kurasi, channel: RecordingChannel, poster: MessageSender, sessionmaker, clock, media_store
) -> None:
    product = await submitted_product(
        sessionmaker, now=clock.now, store=media_store, chat_id=FOOD_CHAT
    )
    await poster.run_until_idle()
    await make_curator(sessionmaker, clock, "c1")
    await curator(app, channel, "c1", "Sari").press("Ambil")
    clock.advance(hours=47)
    assert await release_stale_claims(app, claim_timeout=timedelta(hours=48), language="id") == 0
    clock.advance(hours=2)
    assert await release_stale_claims(app, claim_timeout=timedelta(hours=48), language="id") == 1
    assert await product_status(sessionmaker, product.id) == "submitted"
    await poster.run_until_idle()  # the review chat hears through the outbox
    note = [r.text for c, r in channel.sent if c == FOOD_CHAT][-1]
    assert "antrian" in note.lower() and "Sari" in note
    edited = [r for c, r in channel.sent if c == FOOD_CHAT and r.edit_message_id]
    assert edited and any("Ambil" in b.label for row in edited[-1].buttons for b in row)


async def test_queue_and_stats_commands(
    app: Kurasi, channel: RecordingChannel, poster: MessageSender, sessionmaker, clock, media_store
) -> None:
    await submitted_product(
        sessionmaker, now=clock.now, store=media_store, name="Lama", chat_id=FOOD_CHAT
    )
    clock.advance(days=2)
    await submitted_product(
        sessionmaker, now=clock.now, store=media_store, name="Baru", chat_id=FOOD_CHAT
    )
    await poster.run_until_idle()
    await make_curator(sessionmaker, clock, "c1")
    sari = curator(app, channel, "c1", "Sari")
    await sari.send("/antrian")
    text = sari.text
    assert text.index("Lama") < text.index("Baru") and "2 hr" in text
    await sari.send("/statistik_saya")
    assert "0" in sari.text


async def test_admin_manages_curators_in_chat(
    app: Kurasi, channel: RecordingChannel, sessionmaker, clock
) -> None:
    admin = curator(app, channel, ADMIN, "Admin")
    someone = Chat(app, channel, user_id="4242", name="Rina", username="rina_kurator")
    await someone.send("/start")
    await admin.send("/kurator_tambah @rina_kurator")
    assert "kurator" in admin.text.lower()
    await admin.send("/kurator")
    assert "4242" in admin.text and FOOD_CHAT in admin.text
    await admin.send("/kurator_hapus 4242")
    await admin.send("/kurator")
    assert "4242" not in admin.text
    plain = curator(app, channel, "5555", "Not admin")
    await plain.send("/kurator_tambah 1")
    assert "admin" in plain.text.lower()


async def test_other_groups_get_nothing(
    app: Kurasi, channel: RecordingChannel, sessionmaker, clock, media_store
) -> None:
    await submitted_product(sessionmaker, now=clock.now, store=media_store, chat_id=FOOD_CHAT)
    stranger_group = Chat(app, channel, user_id=ADMIN, name="Admin", chat_id="-100999")
    await stranger_group.send("/antrian")
    await stranger_group.send("/kurator_tambah 1")
    assert stranger_group.last == []


async def test_withdrawn_before_claim_updates_the_posted_card(
    app: Kurasi, channel: RecordingChannel, chat: Chat, poster: MessageSender, sessionmaker
) -> None:
    await submit_via_chat(chat)
    await poster.run_until_idle()
    await chat.send("/produk")
    await chat.press("Keripik Tempe")
    await chat.press("Tarik")
    edits = [r for c, r in channel.sent if c == FOOD_CHAT and r.edit_message_id]
    assert edits and "ditarik" in edits[-1].text.lower() and not edits[-1].buttons
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Review)) == 0


async def test_old_update_ids_are_forgotten_after_a_week(app: Kurasi, chat: Chat, clock) -> None:
    from bot.scheduler import forget_old_updates
    from handlers.kit.events import Text

    await chat.send_event(Text("halo"), update_key="u-1")
    clock.advance(days=6)
    assert await forget_old_updates(app) == 0
    clock.advance(days=2)
    assert await forget_old_updates(app) == 1


async def test_submissions_made_before_any_review_chat_get_their_card_later(
    sessionmaker, clock, media_store, channel: RecordingChannel
) -> None:
    from bot.scheduler import route_waiting_cards

    product = await submitted_product(sessionmaker, now=clock.now, store=media_store, chat_id=None)
    configured = Kurasi(
        sessionmaker=sessionmaker,
        clock=clock,
        media_store=media_store,
        flow_settings=FlowSettings(review_chats=((FOOD_CHAT, ()),), review_channel="test"),
    )
    configured.add_channel(channel)
    assert await route_waiting_cards(configured) == 1
    assert await route_waiting_cards(configured) == 0
    await MessageSender(configured).run_until_idle()
    cards = [r.text for c, r in channel.sent if c == FOOD_CHAT and r.buttons]
    assert len(cards) == 1 and f"#{product.id}" in cards[0]
