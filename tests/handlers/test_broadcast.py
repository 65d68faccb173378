"""/siaran and admin roles in chat, segment filters on a fixture, pause/resume/cancel,
scheduled start and quiet hours; delivered through the recording channel."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.broadcast import BroadcastSender
from bot.runtime import FloodGuard, Kurasi
from db import broadcasts as data
from db.media_store import MediaStore
from db.models import AuditEvent, Broadcast, Business, Curator, Product, User
from handlers.kit.context import FlowSettings
from handlers.rules.schedule import ReminderSchedule
from tests.support import Chat, FakeClock, RecordingChannel

ADMIN = "9000"


@pytest.fixture
def app(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FakeClock, media_store: MediaStore
) -> Kurasi:
    return Kurasi(
        sessionmaker=sessionmaker,
        clock=clock,
        media_store=media_store,
        flow_settings=FlowSettings(admin_ids=frozenset({ADMIN}), review_channel="test"),
        debounce_seconds=60,
        flood=FloodGuard(limit=10_000),
    )


@pytest.fixture
def admin(app: Kurasi, channel: RecordingChannel) -> Chat:
    return Chat(app, channel, user_id=ADMIN, name="Dinas Koperasi")


def sender(app: Kurasi, **options: object) -> BroadcastSender:
    defaults: dict[str, object] = {"telegram_rate": 1000.0, "other_rate": 1000.0}
    return BroadcastSender(app, **{**defaults, **options})  # type: ignore[arg-type]


async def person(
    app: Kurasi,
    external_id: str,
    *,
    sector: str | None = "food",
    region: str = "35.07",
    statuses: tuple[str, ...] = (),
    language: str = "id",
    channel: str = "test",
    registered: bool = True,
    consented: bool = True,
    optouts: tuple[str, ...] = (),
    blocked: bool = False,
) -> int:
    now = app.clock()
    async with app.sessionmaker() as session, session.begin():
        user = User(
            channel=channel,
            external_id=external_id,
            language=language,
            consented_at=now if consented else None,
            reminder_optouts=list(optouts),
            blocked_at=now if blocked else None,
        )
        session.add(user)
        await session.flush()
        if sector is not None:
            business = Business(
                owner_id=user.id,
                sector=sector,
                region_code=region,
                registered_at=now if registered else None,
            )
            session.add(business)
            await session.flush()
            for status in statuses:
                session.add(Product(business_id=business.id, status=status, sector=sector))
        return user.id


async def test_segment_filters_match_hand_computed_recipients(app: Kurasi) -> None:
    ids = {
        "a": await person(app, "a", sector="food", region="35.07", statuses=("approved",)),
        "b": await person(app, "b", sector="food", region="35.73", statuses=("submitted",)),
        "c": await person(app, "c", sector="fashion", region="35.07", statuses=("draft",)),
        "d": await person(app, "d", sector="handicraft", region="35.78", language="en"),
        "e": await person(app, "e", sector="food", statuses=("in_review", "draft")),
        "f": await person(app, "f", sector=None, channel="whatsapp"),
        "g": await person(app, "g", sector="food", registered=False),
        # never reached: opted out, blocked, no consent
        "x": await person(app, "x", statuses=("approved",), optouts=("fairs", "announcements")),
        "y": await person(app, "y", statuses=("approved",), blocked=True),
        "z": await person(app, "z", statuses=("approved",), consented=False),
        # another switch off does not matter
        "h": await person(app, "h", sector="spa", optouts=("fairs",)),
    }

    async def who(**filters: tuple[str, ...]) -> set[str]:
        async with app.sessionmaker() as session:
            audience = data.Audience(**filters)
            found = await data.audience_users(session, audience=audience)
            assert await data.count_audience(session, audience=audience) == len(found)
        return {k for k, v in ids.items() if v in found}

    assert await who() == {"a", "b", "c", "d", "e", "f", "g", "h"}
    assert await who(sectors=("food",)) == {"a", "b", "e", "g"}
    assert await who(sectors=("food", "fashion")) == {"a", "b", "c", "e", "g"}
    assert await who(regions=("35.07",)) == {"a", "c", "e", "g", "h"}
    assert await who(sectors=("food",), regions=("35.07",)) == {"a", "e", "g"}
    assert await who(statuses=("approved",)) == {"a"}
    assert await who(statuses=("in_review",)) == {"b", "e"}
    assert await who(statuses=("draft",)) == {"c", "e"}
    assert await who(statuses=("no_product",)) == {"d", "h"}
    assert await who(statuses=("approved", "no_product")) == {"a", "d", "h"}
    assert await who(languages=("en",)) == {"d"}
    assert await who(channels=("whatsapp",)) == {"f"}
    assert await who(channels=("test",), statuses=("draft",), regions=("35.07",)) == {"c", "e"}


async def compose(admin: Chat, text: str = "Pelatihan ekspor Jumat 09.00 di Surabaya") -> None:
    await admin.send("/siaran")
    await admin.send(text)
    await admin.press("Lewati")


async def test_admin_composes_previews_and_sends_to_a_segment(
    app: Kurasi, admin: Chat, channel: RecordingChannel
) -> None:
    await person(app, "p1", sector="food", region="35.07")
    await person(app, "p2", sector="food", region="35.73")
    await person(app, "p3", sector="fashion", region="35.07")
    await compose(admin)
    assert "Penerima: 3" in admin.text  # everyone; the admin gave no consent
    await admin.press("Sektor")
    await admin.press("Makanan")
    assert "Penerima: 2" in admin.text
    await admin.press("Selesai")
    await admin.press("Kabupaten")
    await admin.send("Kab. Malang")
    assert "Penerima: 1" in admin.text
    await admin.press("Selesai")
    await admin.press("Pratinjau")
    preview, summary = admin.last[0], admin.last[-1]
    assert preview.text == "Pelatihan ekspor Jumat 09.00 di Surabaya"
    assert "Penerima: 1" in summary.text and "kurang dari satu menit" in summary.text
    await admin.press("Kirim")
    assert "#1" in admin.text

    channel.sent.clear()
    await sender(app).run_until_idle()
    delivered = [(chat, r.text) for chat, r in channel.sent if chat == "p1"]
    assert delivered == [("p1", "Pelatihan ekspor Jumat 09.00 di Surabaya")]
    assert not [c for c, _ in channel.sent if c in ("p2", "p3")]
    report = [r.text for chat, r in channel.sent if chat == ADMIN][-1]
    assert "Terkirim 1" in report and "Selesai" in report
    async with app.sessionmaker() as session:
        actions = list(await session.scalars(select(AuditEvent.action)))
    assert actions == ["broadcast_sent"]

    await admin.send("/siaran_daftar")
    assert "#1" in admin.text and "selesai" in admin.text
    await admin.send("/siaran 1")
    assert "Terkirim 1" in admin.text


async def test_pause_resume_and_stop_from_chat(
    app: Kurasi, admin: Chat, channel: RecordingChannel
) -> None:
    for i in range(5):
        await person(app, f"p{i}")
    await compose(admin)
    await admin.press("Pratinjau")
    await admin.press("Kirim")
    async with app.sessionmaker() as session, session.begin():
        await data.start_due(session, now=app.clock())
    await admin.send("/siaran 1")
    await admin.press("Jeda")
    assert "dijeda" in admin.text
    await sender(app).run_until_idle()
    assert not [c for c, _ in channel.sent if c.startswith("p")]  # paused: nothing sent
    await admin.press("Lanjut")
    assert "mengirim" in admin.text
    await sender(app).run_until_idle()
    assert len([c for c, _ in channel.sent if c.startswith("p")]) == 5
    await admin.send("/siaran 1")
    assert "Hentikan" not in " ".join(admin.labels())  # finished: nothing to steer

    await compose(admin, "Kedua")
    await admin.press("Pratinjau")
    await admin.press("Kirim")
    await admin.send("/siaran 2")
    await admin.press("Hentikan")
    assert "dihentikan" in admin.text
    channel.sent.clear()
    await sender(app).run_until_idle()
    assert not [c for c, _ in channel.sent if c.startswith("p")]
    async with app.sessionmaker() as session:
        actions = list(await session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
    assert actions == [
        "broadcast_sent",
        "broadcast_pause",
        "broadcast_resume",
        "broadcast_sent",
        "broadcast_cancel",
    ]


async def test_scheduled_broadcast_starts_at_its_time(
    app: Kurasi, admin: Chat, clock: FakeClock, channel: RecordingChannel
) -> None:
    await person(app, "p1")
    await compose(admin)
    await admin.press("Pratinjau")
    await admin.press("Jadwalkan")
    await admin.send("kemarin")
    assert "tidak bisa membaca" in admin.text
    await admin.send("25/11/2026 08:00")  # 10:00 now in Jakarta
    assert "sudah lewat" in admin.text
    await admin.send("25/11 14:30")
    assert "25 Nov 2026 14:30 WIB" in admin.text
    worker = sender(app)
    await worker.tick()
    assert not [c for c, _ in channel.sent if c == "p1"]
    clock.advance(hours=4, minutes=29)
    await worker.tick()
    assert not [c for c, _ in channel.sent if c == "p1"]
    clock.advance(minutes=1)
    await worker.tick()
    assert [c for c, _ in channel.sent if c == "p1"] == ["p1"]


async def test_a_day_already_past_this_year_is_refused_with_the_reason(
    app: Kurasi, admin: Chat, clock: FakeClock
) -> None:
    """On 6 December the prompt's own example "1/12 09:00" was scheduled for 1 December
    2027 without a word."""
    clock.now = datetime(2026, 12, 6, 3, 0, tzinfo=UTC)  # 10:00 in Jakarta
    await person(app, "p1")
    await compose(admin)
    await admin.press("Pratinjau")
    await admin.press("Jadwalkan")
    await admin.send("1/12 09:00")
    assert "sudah lewat tahun ini" in admin.text and "1/12/2027 09:00" in admin.text
    await admin.send("1/12/2027 09:00")
    assert "1 Des 2027 09:00 WIB" in admin.text
    await compose(admin, "Kedua")
    await admin.press("Pratinjau")
    await admin.press("Jadwalkan")
    assert "7/12 09:00" in admin.text  # the prompt's example is a time still ahead
    await admin.send("24/12 09:00")  # still ahead this year: taken as typed
    assert "24 Des 2026 09:00 WIB" in admin.text
    async with app.sessionmaker() as session:
        stored = list(await session.scalars(select(Broadcast.scheduled_at).order_by(Broadcast.id)))
    assert stored == [
        datetime(2027, 12, 1, 2, 0, tzinfo=UTC),
        datetime(2026, 12, 24, 2, 0, tzinfo=UTC),
    ]


async def test_sending_or_scheduling_to_nobody_asks_first(app: Kurasi, admin: Chat) -> None:
    await compose(admin)
    await admin.press("Pratinjau")
    assert "Penerima: 0" in admin.text
    await admin.press("Kirim")
    assert "0 penerima" in admin.text and "#1" not in admin.text  # asked, not sent
    await admin.press("Kembali ke pratinjau")
    assert "Penerima: 0" in admin.text
    await admin.press("Jadwalkan")
    assert "0 penerima" in admin.text  # asked before the time, too
    await admin.press("Tetap jadwalkan")
    await admin.send("25/11 14:30")
    assert "25 Nov 2026 14:30 WIB" in admin.text
    await compose(admin, "Kedua")
    await admin.press("Pratinjau")
    await admin.press("Kirim")
    await admin.press("Tetap kirim")
    assert "#2" in admin.text
    async with app.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Broadcast)) == 2


async def test_quiet_hours_hold_unless_urgent(
    app: Kurasi, admin: Chat, clock: FakeClock, channel: RecordingChannel
) -> None:
    await person(app, "p1")
    clock.advance(hours=12)  # 22:00 in Jakarta
    schedule = ReminderSchedule()
    await compose(admin)
    await admin.press("Pratinjau")
    await admin.press("Kirim")
    await compose(admin, "Darurat: banjir, pameran ditunda")
    await admin.press("Pratinjau")
    await admin.press("Mendesak")
    await admin.press("Kirim")
    worker = sender(app, schedule=schedule)
    await worker.tick()
    got = [r.text for c, r in channel.sent if c == "p1"]
    assert got == ["Darurat: banjir, pameran ditunda"]
    clock.advance(hours=9)  # 07:00
    await worker.tick()
    got = [r.text for c, r in channel.sent if c == "p1"]
    assert got[-1] == "Pelatihan ekspor Jumat 09.00 di Surabaya" and len(got) == 2


async def test_producer_switches_announcements_off(
    app: Kurasi, admin: Chat, channel: RecordingChannel
) -> None:
    await person(app, "p1")
    producer = Chat(app, channel, user_id="p1")
    await producer.send("/pengingat")
    await producer.press("Pengumuman")
    assert "🔕 Pengumuman" in " ".join(producer.labels())
    await compose(admin)
    await admin.press("Pratinjau")
    assert "Penerima: 0" in admin.text


async def test_non_admins_are_refused_and_nothing_changes(
    app: Kurasi, chat: Chat, channel: RecordingChannel
) -> None:
    for command in ("/siaran", "/broadcast", "/siaran_daftar", "/admin_tambah 5", "/admin"):
        await chat.send(command)
        assert "hanya untuk admin" in chat.text, command
    await chat.press_payload("bcast|aud|send")
    await chat.press_payload("bctl|cancel|1")
    async with app.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Broadcast)) == 0
        assert await session.scalar(select(func.count()).where(User.is_admin.is_(True))) == 0
        assert await session.scalar(select(func.count()).select_from(AuditEvent)) == 0


async def test_admin_roles(app: Kurasi, admin: Chat, channel: RecordingChannel) -> None:
    newcomer = Chat(app, channel, user_id="777", username="sari_kadin")
    await newcomer.send("/start")
    await admin.send("/admin_tambah")
    assert "Siapa" in admin.text
    await admin.send("/admin_tambah @sari_kadin")
    assert "sekarang admin" in admin.text
    await admin.send("/admin_tambah 777")
    assert "sudah admin" in admin.text
    await newcomer.send("/siaran")
    assert "hanya untuk admin" not in newcomer.text
    await newcomer.send("/batal")
    await admin.send("/admin")
    assert ADMIN in admin.text and "777" in admin.text
    await newcomer.send(f"/admin_hapus {ADMIN}")
    assert "konfigurasi" in newcomer.text  # config admins are permanent
    await admin.send("/admin_hapus 777")
    assert "bukan admin lagi" in admin.text
    await newcomer.send("/siaran")
    assert "hanya untuk admin" in newcomer.text
    async with app.sessionmaker() as session:
        rows = list(await session.execute(select(AuditEvent.action, AuditEvent.reason_text)))
    assert rows == [("admin_added", "test:777"), ("admin_removed", "test:777")]


async def test_admin_and_curator_commands_take_a_username_exactly(
    app: Kurasi, admin: Chat, channel: RecordingChannel
) -> None:
    """@a_b names the person called a_b, never axb ("_" is no wildcard), on every command
    that names a person."""
    await Chat(app, channel, user_id="778", username="axb").send("/start")
    for command in ("/admin_tambah @a_b", "/kurator_tambah @a_b"):
        await admin.send(command)
        assert "belum mengenal @a_b" in admin.text, command
    await Chat(app, channel, user_id="779", username="A_B").send("/start")
    await admin.send("/admin_tambah @a_b")
    assert "@a_b sekarang admin" in admin.text
    await admin.send("/kurator_tambah @a_b")
    assert "@a_b sekarang menjadi kurator" in admin.text
    async with app.sessionmaker() as session:
        admins = set(await session.scalars(select(User.external_id).where(User.is_admin)))
        curators = set(await session.scalars(select(Curator.external_id)))
    assert admins == {"779"} and curators == {"779"}


async def test_bad_input_while_composing_is_refused_and_kept(app: Kurasi, admin: Chat) -> None:
    await admin.send("/siaran")
    await admin.send_unsupported("sticker")
    assert "teks" in admin.text
    await admin.send("Halo semua")
    await admin.send_unsupported("voice")
    assert "Lewati" in " ".join(admin.labels())
    await admin.press("Lewati")
    await admin.press("Kabupaten")
    await admin.send("Atlantis")
    assert "Tidak ada" in admin.text
    await admin.press("Selesai")
    await admin.press("Pratinjau")
    assert admin.last[0].text == "Halo semua"
    await admin.press("Batal")
    assert "tidak ada yang dikirim" in admin.text


def test_estimate() -> None:
    from handlers.features.broadcast import estimate

    def t(message: str, /, **v: object) -> str:
        return message.format(**v)

    assert estimate(t, 10, 25) == "under a minute"
    assert estimate(t, 5000, 25) == "about 4 min"
    assert estimate(t, 200_000, 25) == "about 2 h 13 min"


class WhatsAppDouble:
    """A channel that can announce: records each message, template or not."""

    name = "whatsapp"

    def __init__(self) -> None:
        self.sent: list[tuple[str, str | None]] = []

    async def announce(self, chat_id: str, message):  # type: ignore[no-untyped-def]
        from bot.channels.base import Announced

        self.sent.append((chat_id, message.template))
        return Announced(str(len(self.sent)))


async def test_whatsapp_window_template_or_needs_a_template(app: Kurasi, clock: FakeClock) -> None:
    from sqlalchemy import update

    inside = await person(app, "62811", channel="whatsapp")
    await person(app, "62822", channel="whatsapp")  # never wrote: outside the window
    async with app.sessionmaker() as session, session.begin():
        await session.execute(
            update(User).where(User.id == inside).values(last_inbound_at=clock.now)
        )

    async def broadcast_once(template: str | None) -> data.Report:
        async with app.sessionmaker() as session, session.begin():
            b = await data.create_broadcast(
                session,
                text="Info",
                html=False,
                audience=data.Audience(channels=("whatsapp",)),
                created_by=None,
                now=clock.now,
                urgent=True,
            )
        await sender(app, announcers={"whatsapp": double}, whatsapp_template=template).tick()
        async with app.sessionmaker() as session:
            found = await data.get_broadcast(session, broadcast_id=b.id)
            assert found is not None
            return await data.report(session, broadcast=found)

    double = WhatsAppDouble()
    report = await broadcast_once(None)
    assert double.sent == [("62811", None)]
    assert report.counts == {"sent": 1, "needs_template": 1}
    assert report.errors == {"needs a template": 1}

    double.sent.clear()
    report = await broadcast_once("kurasi_pengumuman")
    assert sorted(double.sent) == [("62811", None), ("62822", "kurasi_pengumuman")]
    assert report.counts == {"sent": 2}


async def test_a_message_telegram_would_refuse_is_refused_with_the_reason_before_anything_is_queued(
    app: Kurasi, admin: Chat
) -> None:
    from handlers.kit.events import Text

    await person(app, "p1")
    await admin.send("/siaran")
    long = "Pameran " * 600  # 4,800 characters: more than a message holds
    refused, *_ = await admin.send_event(Text(long, html=f"<b>{long}</b>"))
    assert "tidak bisa dikirim" in refused.text and "4096" in refused.text
    # Formatting as Telegram would read it: the reason, in the admin's language.
    refused, *_ = await admin.send_event(Text("a < b", html="a < b <b>tebal"))
    assert "&lt;" in refused.text
    asked, *_ = await admin.send_event(Text("Pameran", html="<b>Pameran</b> baru"))
    assert "foto" in asked.text.lower() or "PDF" in asked.text
    async with app.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Broadcast)) == 0
