"""/statistik and /ekspor: admins get text, charts and files; anyone else is refused."""

from __future__ import annotations

import csv
import io
import struct
from datetime import datetime, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import handlers.features.stats
from bot.charts import render
from bot.runtime import FloodGuard, Kurasi
from db.media_store import MediaStore
from db.models import AuditEvent
from db.stats import Stats, collect
from db.stats_snapshots import claim, store
from handlers.kit.context import FlowSettings
from tests.support import Chat, FakeClock, RecordingChannel
from tests.world import NOW, build_world

ADMIN = "9001"


@pytest.fixture
def admin_app(sessionmaker: async_sessionmaker[AsyncSession], media_store: MediaStore) -> Kurasi:
    return Kurasi(
        sessionmaker=sessionmaker,
        clock=FakeClock(NOW),
        media_store=media_store,
        flow_settings=FlowSettings(
            review_channel="test", admin_ids=frozenset({ADMIN}), charts=render
        ),
        debounce_seconds=60,
        flood=FloodGuard(limit=10_000),
    )


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


async def test_statistik_sends_numbers_and_charts_to_an_admin(
    admin_app: Kurasi, sessionmaker: async_sessionmaker[AsyncSession], media_store: MediaStore
) -> None:
    await build_world(sessionmaker, media_store)
    channel = RecordingChannel(admin_app)
    admin = Chat(admin_app, channel, user_id=ADMIN, language="en")
    [reply] = await admin.send("/statistik")
    assert "7 producers registered; 5 products submitted." in reply.text
    assert "Food & beverage · Kabupaten Malang: 2 producers, 1 products" in reply.text
    assert "Submission to first claim: median 2 h, 90% within 10 h (5 rounds)" in reply.text
    assert "Submission to decision: median 5 h, 90% within 30 h (4 rounds)" in reply.text
    assert "review-b: 1 waiting (0 unclaimed), oldest 2 days" in reply.text
    assert "Ani: 2 (1 / 1 / 0)" in reply.text
    assert [m.path for m in reply.media] == ["tiles.png", "clusters.png", "decisions.png"]
    for item in reply.media:
        assert item.data is not None
        width, height = _png_size(item.data)
        assert (600, 400) <= (width, height) <= (1600, 1200)
        assert 10_000 < len(item.data) < 500_000


async def test_statistik_in_indonesian(
    admin_app: Kurasi, sessionmaker: async_sessionmaker[AsyncSession], media_store: MediaStore
) -> None:
    await build_world(sessionmaker, media_store)
    admin = Chat(admin_app, RecordingChannel(admin_app), user_id=ADMIN, language="id")
    [reply] = await admin.send("/statistik")
    assert "7 produsen terdaftar" in reply.text
    assert "tanpa grade 1" in reply.text  # was English: marked inside an f-string


async def test_statistik_shows_the_ticks_stored_figures_and_when_they_were_taken(
    admin_app: Kurasi,
    sessionmaker: async_sessionmaker[AsyncSession],
    media_store: MediaStore,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await build_world(sessionmaker, media_store)
    at = NOW - timedelta(seconds=50)  # 09:59:10 WIB, the last tick
    async with sessionmaker() as session, session.begin():
        assert await claim(session, timezone="Asia/Jakarta", now=at, every=timedelta(minutes=1))
    async with sessionmaker() as session:
        stats = await collect(session, now=at, timezone="Asia/Jakarta")
    async with sessionmaker() as session, session.begin():
        assert await store(session, stats=stats, claimed_at=at)
    computed: list[datetime] = []

    async def counted(session: AsyncSession, *, now: datetime, timezone: str) -> Stats:
        computed.append(now)
        return await collect(session, now=now, timezone=timezone)

    monkeypatch.setattr(handlers.features.stats, "collect", counted)
    admin = Chat(admin_app, RecordingChannel(admin_app), user_id=ADMIN, language="id")
    [reply] = await admin.send("/statistik")
    assert "Angka per 09:59 WIB" in reply.text.splitlines()[1]
    assert "7 produsen terdaftar" in reply.text
    assert [m.path for m in reply.media] == ["tiles.png", "clusters.png", "decisions.png"]
    assert computed == []
    # Two ticks without a new snapshot (the scheduler stopped): computed in the update.
    admin_app.clock.advance(seconds=75)  # type: ignore[attr-defined]
    [reply] = await admin.send("/statistik")
    assert "Angka per" not in reply.text and "7 produsen terdaftar" in reply.text
    assert computed == [NOW + timedelta(seconds=75)]


@pytest.mark.parametrize("command", ["/statistik", "/ekspor", "/ekspor produk"])
async def test_non_admin_is_refused(
    admin_app: Kurasi,
    sessionmaker: async_sessionmaker[AsyncSession],
    media_store: MediaStore,
    command: str,
) -> None:
    await build_world(sessionmaker, media_store)
    someone = Chat(admin_app, RecordingChannel(admin_app), user_id="1234", language="en")
    [reply] = await someone.send(command)
    assert "for admins only" in reply.text
    assert not reply.media and reply.attachment is None


async def test_forged_export_button_is_refused(admin_app: Kurasi) -> None:
    someone = Chat(admin_app, RecordingChannel(admin_app), user_id="1234", language="en")
    [reply] = await someone.press_payload("export|what|phones")
    assert "for admins only" in reply.text


async def test_ekspor_sends_xlsx_and_csv_with_the_same_rows_and_no_personal_data(
    admin_app: Kurasi, sessionmaker: async_sessionmaker[AsyncSession], media_store: MediaStore
) -> None:
    await build_world(sessionmaker, media_store)
    admin = Chat(admin_app, RecordingChannel(admin_app), user_id=ADMIN, language="en")
    await admin.send("/ekspor")
    await admin.press("Businesses")
    replies = await admin.press("All sectors")
    files = [r.attachment for r in replies if r.attachment]
    assert [f.filename.rsplit(".", 1)[1] for f in files] == ["xlsx", "csv"]
    csv_rows = list(csv.reader(io.StringIO(files[1].data.decode("utf-8-sig")), delimiter=";"))
    sheet = load_workbook(io.BytesIO(files[0].data), read_only=True).active
    xlsx_rows = list(sheet.iter_rows(values_only=True))
    assert len(csv_rows) == len(xlsx_rows) == 1 + 8  # header + every business
    assert csv_rows[0] == list(xlsx_rows[0])
    assert "Phone" not in csv_rows[0] and "Owner" not in csv_rows[0]
    assert not any("+62" in v or "Pemilik" in v for row in csv_rows for v in row)
    assert "8 rows exported." in replies[-1].text
    async with sessionmaker() as session:
        assert (
            await session.scalar(select(AuditEvent).where(AuditEvent.action == "export_phones"))
            is None
        )


async def test_personal_data_export_is_audited_with_the_admin(
    admin_app: Kurasi, sessionmaker: async_sessionmaker[AsyncSession], media_store: MediaStore
) -> None:
    await build_world(sessionmaker, media_store)
    admin = Chat(admin_app, RecordingChannel(admin_app), user_id=ADMIN, language="en")
    await admin.send("/ekspor")
    await admin.press("owner names and phones")
    replies = await admin.press("All sectors")
    data = [r.attachment for r in replies if r.attachment][1].data.decode("utf-8-sig")
    header, first = list(csv.reader(io.StringIO(data), delimiter=";"))[:2]
    assert first[header.index("Phone")] == '="+6281234567890"'
    assert first[header.index("Owner")].startswith("Pemilik ")
    assert "audit trail" in replies[-1].text
    async with sessionmaker() as session:
        event = await session.scalar(select(AuditEvent).where(AuditEvent.action == "export_phones"))
    assert event is not None and event.actor_user_id is not None
    assert event.reason_text == f"test admin {ADMIN}; businesses"


async def test_products_and_reviews_exports(
    admin_app: Kurasi, sessionmaker: async_sessionmaker[AsyncSession], media_store: MediaStore
) -> None:
    world = await build_world(sessionmaker, media_store)
    admin = Chat(admin_app, RecordingChannel(admin_app), user_id=ADMIN, language="en")
    replies = await admin.send("/ekspor produk")
    data = [r.attachment for r in replies if r.attachment][1].data.decode("utf-8-sig")
    table = list(csv.DictReader(io.StringIO(data), delimiter=";"))
    assert len(table) == 6
    p2 = next(r for r in table if r["Product ID"] == str(world.products["P2"]))
    assert (p2["Status"], p2["Round"], p2["Grade"]) == ("approved", "2", "B")
    replies = await admin.send("/ekspor review")
    data = [r.attachment for r in replies if r.attachment][1].data.decode("utf-8-sig")
    decisions = [r["Decision"] for r in csv.DictReader(io.StringIO(data), delimiter=";")]
    assert sorted(decisions) == sorted(
        ["approved", "revision requested", "approved", "rejected", "", ""]
    )
