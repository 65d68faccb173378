"""Buyers' inquiries: the detail page's form posts to the app, which checks and stores it and
plans notifications; the admins see everything, the consenting producer sees the inquiry
without the buyer's address and answers with a tap, which reaches the admins; /permintaan,
the export, erasure; and bad input of every kind stores nothing wrong."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.catalogue_site.inquiries import InquiryForm
from bot.catalogue_site.live import Catalogue
from bot.config import CatalogueSettings
from bot.http import make_http_app
from bot.notify import Notifier
from bot.runtime import FloodGuard, Kurasi
from db.inquiries import write_inquiries
from db.media_store import MediaStore
from db.models import Business, Inquiry, Notification, Product
from db.privacy import erase_user
from handlers.kit.context import FlowSettings
from handlers.rules.schedule import ReminderSchedule
from tests.catalogue_data import approved_products
from tests.support import Chat, FakeClock, RecordingChannel

ADMIN = "900"


@pytest.fixture
def app(sessionmaker, clock: FakeClock, media_store: MediaStore) -> Kurasi:
    return Kurasi(
        sessionmaker=sessionmaker,
        clock=clock,
        media_store=media_store,
        flood=FloodGuard(limit=10_000),
        flow_settings=FlowSettings(review_channel="test", admin_ids=frozenset({ADMIN})),
    )


def _notifier(app: Kurasi) -> Notifier:
    return Notifier(
        app,
        schedule=ReminderSchedule(),
        timezone="Asia/Jakarta",
        admin_ids=frozenset({ADMIN}),
        admin_channel="test",
    )


async def _client(
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    store: MediaStore,
    tmp_path: Path,
    app: Kurasi,
    **settings: Any,
) -> TestClient:
    form = InquiryForm(
        sessionmaker, CatalogueSettings(**settings), app.flow_settings, clock=app.clock
    )
    catalogue = Catalogue(sessionmaker, store, tmp_path / "thumbs", inquiries=form.handle)
    client = TestClient(TestServer(make_http_app(engine, catalogue=catalogue)))
    await client.start_server()
    return client


def _form(product: int, **fields: str) -> dict[str, str]:
    return {
        "product": str(product),
        "lang": "en",
        "name": "Aiko Tanaka",
        "company": "Osaka Trading K.K.",
        "country": "Japan",
        "email": "aiko@osaka-trading.example",
        "quantity": "2,000 packs a month",
        "message": "Could you send your export price list?",
        **fields,
    }


async def _count(sessionmaker: async_sessionmaker[AsyncSession], model: Any) -> int:
    async with sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_an_inquiry_reaches_the_admin_and_the_producer_who_answers_with_a_tap(
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    media_store: MediaStore,
    tmp_path: Path,
    app: Kurasi,
    channel: RecordingChannel,
    clock: FakeClock,
) -> None:
    async with sessionmaker() as session, session.begin():
        (pid,) = await approved_products(session, media_store, 1, consent=True)
    client = await _client(engine, sessionmaker, media_store, tmp_path, app)
    try:
        resp = await client.post("/katalog/permintaan", data=_form(pid))
        assert resp.status == 200, await resp.text()
        assert "Your inquiry was sent" in await resp.text()
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
    finally:
        await client.close()
    async with sessionmaker() as session:
        (inquiry,) = await session.scalars(select(Inquiry))
        kinds = sorted((n.kind, n.chat_id) for n in await session.scalars(select(Notification)))
    assert inquiry.state == "forwarded" and inquiry.email == "aiko@osaka-trading.example"
    assert kinds == [("inquiry", "bulk-0"), ("inquiry_admin", ADMIN)]

    notify = _notifier(app)
    assert await notify.send_due() == 2
    to_admin = [r for c, r in channel.sent if c == ADMIN]
    to_producer = [r for c, r in channel.sent if c == "bulk-0"]
    assert "aiko@osaka-trading.example" in to_admin[0].text and "Japan" in to_admin[0].text
    assert "aiko@" not in to_producer[0].text and "Osaka Trading" in to_producer[0].text
    producer = Chat(app, channel, user_id="bulk-0")
    producer.last = to_producer
    assert producer.labels() == ["👍 Tertarik", "Belum sekarang"]
    # What a producer types after WhatsApp's template: the plain word shows it again.
    await producer.send("permintaan")
    assert "Osaka Trading" in producer.text and "aiko@" not in producer.text
    assert producer.labels() == ["👍 Tertarik", "Belum sekarang"]
    await producer.press("Tertarik")
    assert "Meja ekspor akan menghubungi" in producer.text
    producer.last = to_producer
    await producer.press("Belum sekarang")
    assert "sudah dijawab" in producer.text  # once
    await producer.send("/permintaan")
    assert "Tidak ada permintaan pembeli yang menunggu" in producer.text
    assert await notify.send_due() == 1
    answer = [r for c, r in channel.sent if c == ADMIN][-1]
    assert f"#{inquiry.id}" in answer.text and "tertarik" in answer.text

    admin = Chat(app, channel, user_id=ADMIN)
    await admin.send("/permintaan")
    assert "Tidak ada permintaan" in admin.text  # answered: no longer open
    stranger = Chat(app, channel, user_id="5555")
    await stranger.send("/permintaan")
    assert "aiko@" not in stranger.text

    out = tmp_path / "inquiries.csv"
    async with sessionmaker() as session:
        with out.open("wb") as fh:
            assert await write_inquiries(session, fmt="csv", out=fh) == 1
    (row,) = list(csv.DictReader(out.open(encoding="utf-8-sig")))
    assert row["email"] == "aiko@osaka-trading.example" and row["answer"] == "interested"


async def test_without_consent_only_the_admins_hear_and_permintaan_lists_it(
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    media_store: MediaStore,
    tmp_path: Path,
    app: Kurasi,
    channel: RecordingChannel,
) -> None:
    async with sessionmaker() as session, session.begin():
        (pid,) = await approved_products(session, media_store, 1)
    client = await _client(
        engine, sessionmaker, media_store, tmp_path, app, inquiry_chat_id="-100777"
    )
    try:
        assert (await client.post("/katalog/permintaan", data=_form(pid))).status == 200
    finally:
        await client.close()
    async with sessionmaker() as session:
        notes = list(await session.scalars(select(Notification)))
    assert [(n.kind, n.chat_id) for n in notes] == [("inquiry_admin", "-100777")]
    admin = Chat(app, channel, user_id=ADMIN)
    await admin.send("/permintaan")
    assert "aiko@osaka-trading.example" in admin.text and "Permintaan terbuka: 1" in admin.text

    # The producer erases their data: the inquiry stays for the admins, unlinked.
    async with sessionmaker() as session, session.begin():
        owner = await session.scalar(
            select(Business.owner_id).join(Product).where(Product.id == pid)
        )
        assert owner is not None
        await erase_user(session, user_id=owner)
    async with sessionmaker() as session:
        (inquiry,) = await session.scalars(select(Inquiry))
    assert inquiry.product_id is None and inquiry.business_id is None
    assert inquiry.product_name == "Produk 0"


async def test_bad_input_gets_a_clear_answer_and_stores_nothing_wrong(
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    media_store: MediaStore,
    tmp_path: Path,
    app: Kurasi,
) -> None:
    async with sessionmaker() as session, session.begin():
        (pid,) = await approved_products(session, media_store, 1)
        (draft,) = await approved_products(session, media_store, 1, start=1, status="draft")
    client = await _client(engine, sessionmaker, media_store, tmp_path, app, inquiries_per_hour=5)
    post = client.post
    try:
        cases = [
            (_form(pid, name=""), 400, "Please fill in: Your name"),
            (_form(pid, message="x" * 2001), 400, "Too long: Message"),
            (_form(pid, email="not-an-address"), 400, "valid e-mail"),
            (_form(pid, email="a@b.c\nBcc: x@y.z"), 400, "valid e-mail"),
            (_form(999_999), 404, "not in the catalogue"),
            (_form(draft), 404, "not in the catalogue"),
            ({**_form(pid), "product": "1 OR 1=1"}, 404, "not in the catalogue"),
            (_form(pid, lang="ja", name=""), 400, "お名前"),
        ]
        for data, status, words in cases:
            resp = await post("/katalog/permintaan", data=data)
            assert resp.status == status, (data, await resp.text())
            assert words in await resp.text()
        big = await post("/katalog/permintaan", data=_form(pid, message="y" * 40_000))
        assert big.status == 413
        # A bot filling the hidden field is thanked and forgotten.
        trap = await post("/katalog/permintaan", data=_form(pid, website="http://spam"))
        assert trap.status == 200
        assert await _count(sessionmaker, Inquiry) == 0

        # A script in every field: stored as plain text, shown escaped.
        script = "<script>alert(1)</script>"
        evil = {k: f"{script}ok" for k in ("name", "company", "country", "quantity", "message")}
        assert (await post("/katalog/permintaan", data=_form(pid, **evil))).status == 200
        async with sessionmaker() as session:
            (stored,) = await session.scalars(select(Inquiry))
        for value in (stored.buyer_name, stored.company, stored.country, stored.message):
            assert value == "alert(1)ok"

        # 1,000 inquiries from one address: five an hour get through, the rest are refused.
        statuses = []
        for n in range(1000):
            resp = await post("/katalog/permintaan", data=_form(pid, message=f"no {n}"))
            statuses.append(resp.status)
        assert statuses.count(200) == 4 and statuses.count(429) == 996
        assert "Too many inquiries" in await resp.text()
        assert await _count(sessionmaker, Inquiry) == 5
    finally:
        await client.close()
    async with sessionmaker() as session, session.begin():
        await session.execute(delete(Inquiry))
