"""Exports a spreadsheet user trusts (issue 24): read back with openpyxl and csv, the
filters against hand-computed sets of tests/world.py, and /ekspor off the update path."""

from __future__ import annotations

import asyncio
import csv
import io
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.export_jobs import ExportJobs, package
from bot.i18n import translator
from bot.runtime import FloodGuard, Kurasi
from db.exports import Filters, FormatError, Style, format_for, write_export
from db.media_store import MediaStore
from db.models import Business, Review
from handlers.features.export.labels import FilterError, parse_filters, presenter
from handlers.kit.context import FlowSettings
from handlers.kit.events import Command
from tests.support import Chat, FakeClock, RecordingChannel
from tests.world import NOW, build_world

ADMIN = "9001"


async def export(
    sessionmaker: async_sessionmaker[AsyncSession],
    what: str,
    fmt: str,
    *,
    lang: str = "id",
    delimiter: str = ",",
    personal: bool = False,
    filters: Filters | None = None,
) -> bytes:
    out = io.BytesIO()
    async with sessionmaker() as session:
        await write_export(
            session,
            what=what,  # type: ignore[arg-type]
            fmt=fmt,  # type: ignore[arg-type]
            out=out,
            phones=personal,
            filters=filters,
            style=Style(presenter=presenter(translator(lang)), delimiter=delimiter),
        )
    return out.getvalue()


async def leading_zeros(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    async with sessionmaker() as session, session.begin():
        await session.execute(update(Business).values(phone="081234567890", nib="0123456789012"))


async def test_xlsx_has_typed_cells_labels_frozen_header_filter_and_widths(
    sessionmaker: async_sessionmaker[AsyncSession], media_store: MediaStore
) -> None:
    world = await build_world(sessionmaker, media_store)
    await leading_zeros(sessionmaker)
    data = await export(sessionmaker, "products", "xlsx")
    book = load_workbook(io.BytesIO(data))  # not read-only: views and filters are read too
    sheet = book.active
    header = [c.value for c in sheet[1]]
    assert header[:7] == [
        "ID produk",
        "ID usaha",
        "Usaha",
        "Kode kab/kota",
        "Kabupaten / kota",
        "Sektor",
        "Nama",
    ]
    assert all(c.font.b for c in sheet[1])
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:S{1 + 6}"  # the HS code last
    assert sheet.column_dimensions["C"].width == 28
    rows = {r[0].value: r for r in sheet.iter_rows(min_row=2)}
    p1 = rows[world.products["P1"]]
    by = dict(zip(header, p1, strict=True))
    # Real date cells, in WIB: submitted 9 Nov 03:00 UTC is 10:00 in Jakarta.
    assert by["Diajukan (WIB)"].is_date
    assert by["Diajukan (WIB)"].value == datetime(2026, 11, 9, 10, 0)
    assert by["Diputuskan (WIB)"].value == datetime(2026, 11, 9, 15, 0)
    assert by["Diajukan (WIB)"].number_format == "dd/mm/yyyy hh:mm"
    assert by["Harga (Rp)"].data_type == "n" and by["Harga (Rp)"].value == 25000
    # Labels, not codes; Kabupaten and Kota told apart; the regency code stays text.
    assert by["Sektor"].value == "Makanan & minuman"
    assert by["Status"].value == "disetujui"
    assert by["Kabupaten / kota"].value == "Kabupaten Malang"
    assert by["Kode kab/kota"].data_type == "s" and by["Kode kab/kota"].value == "35.07"
    assert by["Grade"].value == "A" and by["Skor"].value is None  # the world scored nothing

    data = await export(sessionmaker, "businesses", "xlsx", personal=True, lang="en")
    sheet = load_workbook(io.BytesIO(data)).active
    header = [c.value for c in sheet[1]]
    first = dict(zip(header, next(sheet.iter_rows(min_row=2)), strict=True))
    assert first["Phone"].data_type == "s" and first["Phone"].value == "081234567890"
    assert first["NIB"].data_type == "s" and first["NIB"].value == "0123456789012"
    assert first["Sector"].value == "Food & beverage"
    assert first["Registered (WIB)"].is_date


async def test_semicolon_csv_keeps_leading_zeros_and_dates_day_first(
    sessionmaker: async_sessionmaker[AsyncSession], media_store: MediaStore
) -> None:
    await build_world(sessionmaker, media_store)
    await leading_zeros(sessionmaker)
    data = await export(sessionmaker, "businesses", "csv", delimiter=";", personal=True)
    text = data.decode("utf-8-sig")
    table = list(csv.DictReader(io.StringIO(text), delimiter=";"))
    first = table[0]
    # ="…" is how a spreadsheet is told "text": 0812… and the NIB keep their zero.
    assert first["No. HP"] == '="081234567890"'
    assert first["NIB"] == '="0123456789012"'
    assert first["Sektor"] == "Makanan & minuman"
    assert first["Terdaftar (WIB)"] == "09/11/2026 10:00"
    # The comma CSV (for programs) has the digits as they are.
    plain = await export(sessionmaker, "businesses", "csv", personal=True)
    first = next(csv.DictReader(io.StringIO(plain.decode("utf-8-sig"))))
    assert first["No. HP"] == "081234567890"
    assert first["Terdaftar (WIB)"] == "2026-11-09 10:00"


async def test_owner_names_only_with_personal_data(
    sessionmaker: async_sessionmaker[AsyncSession], media_store: MediaStore
) -> None:
    await build_world(sessionmaker, media_store)
    text = (await export(sessionmaker, "businesses", "csv", lang="en")).decode("utf-8-sig")
    assert "Owner" not in text.splitlines()[0] and "Pemilik" not in text
    text = (await export(sessionmaker, "businesses", "csv", lang="en", personal=True)).decode(
        "utf-8-sig"
    )
    assert "Owner" in text.splitlines()[0] and "Pemilik" in text


async def test_reviews_export_has_the_written_reasons(
    sessionmaker: async_sessionmaker[AsyncSession], media_store: MediaStore
) -> None:
    world = await build_world(sessionmaker, media_store)
    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(Review)
            .where(Review.product_id == world.products["P3"])
            .values(
                reasons=["photos"], reason_text='Motif terlalu mirip produk lain; =HYPERLINK("x")'
            )
        )
    table = list(
        csv.DictReader(
            io.StringIO(
                (await export(sessionmaker, "reviews", "csv", lang="en")).decode("utf-8-sig")
            )
        )
    )
    p3 = next(r for r in table if r["Product ID"] == str(world.products["P3"]))
    assert p3["Written reason"].startswith("Motif terlalu mirip")
    assert p3["Reasons"] == "Photos unclear"
    assert p3["Decision"] == "rejected"


async def ids(sessionmaker, what: str, filters: Filters) -> set[int]:
    text = (await export(sessionmaker, what, "csv", lang="en", filters=filters)).decode("utf-8-sig")
    return {int(r[0]) for r in list(csv.reader(io.StringIO(text)))[1:]}


async def test_filters_select_the_hand_computed_rows(
    sessionmaker: async_sessionmaker[AsyncSession], media_store: MediaStore
) -> None:
    w = await build_world(sessionmaker, media_store)
    p = w.products
    typed = parse_filters(["sektor:fashion"], "products")
    assert await ids(sessionmaker, "products", typed.filters("Asia/Jakarta")) == {p["P3"], p["P5"]}
    typed = parse_filters(["wilayah:35.73", "status:disetujui"], "products")
    assert await ids(sessionmaker, "products", typed.filters("Asia/Jakarta")) == {p["P2"]}
    # Kota Malang by name is one regency (35.73), Kabupaten Malang another.
    typed = parse_filters(["wilayah:kota_malang"], "products")
    assert typed.regions == ("35.73",)
    # Last submitted 15 to 23 Nov (WIB days): P3 (15 Nov), P2 (round 2 on 17 Nov), P6
    # (20 Nov, withdrawn since), P5 (23 Nov); not P1 (9 Nov) nor P4 (24 Nov).
    typed = parse_filters(["dari:15/11/2026", "sampai:23/11/2026"], "products")
    assert await ids(sessionmaker, "products", typed.filters("Asia/Jakarta")) == {
        p["P2"],
        p["P3"],
        p["P5"],
        p["P6"],
    }
    # Reviews still waiting for a decision: P4's and P5's rounds (P6's was withdrawn).
    typed = parse_filters(["status:pending"], "reviews")
    text = (
        await export(
            sessionmaker, "reviews", "csv", lang="en", filters=typed.filters("Asia/Jakarta")
        )
    ).decode("utf-8-sig")
    assert {int(r["Product ID"]) for r in csv.DictReader(io.StringIO(text))} == {p["P4"], p["P5"]}
    typed = parse_filters(["status:revision_requested", "sektor:food"], "reviews")
    text = (
        await export(
            sessionmaker, "reviews", "csv", lang="en", filters=typed.filters("Asia/Jakarta")
        )
    ).decode("utf-8-sig")
    assert [int(r["Product ID"]) for r in csv.DictReader(io.StringIO(text))] == [p["P2"]]
    # Businesses with an approved product: P1's and P2's.
    typed = parse_filters(["status:approved"], "businesses")
    got = await ids(sessionmaker, "businesses", typed.filters("Asia/Jakarta"))
    assert got == {w.businesses["P1"], w.businesses["P2"]}
    # Businesses of Kabupaten Malang (35.07): P1's, P3's, P6's and the half-registered one.
    typed = parse_filters(["wilayah:35.07"], "businesses")
    got = await ids(sessionmaker, "businesses", typed.filters("Asia/Jakarta"))
    assert got == {w.businesses[k] for k in ("P1", "P3", "P6", "half")}


@pytest.mark.parametrize(
    "words",
    [
        ["sektor:kayu"],
        ["wilayah:atlantis"],
        ["status:hilang"],
        ["dari:32/13/2026"],
        ["x"],
        ["dari:10/11/2026", "sampai:01/11/2026"],
    ],
)
def test_bad_filters_are_named(words: list[str]) -> None:
    with pytest.raises(FilterError):
        parse_filters(words, "products")


def test_format_comes_from_the_name_and_a_mismatch_is_refused() -> None:
    assert format_for("products.xlsx", None) == "xlsx"
    assert format_for("products.CSV", None) == "csv"
    assert format_for("products.xlsx", "xlsx") == "xlsx"
    assert format_for("out.dat", "csv") == "csv"
    with pytest.raises(FormatError):
        format_for("products.xlsx", "csv")
    with pytest.raises(FormatError):
        format_for("products", None)


def test_package_zips_then_splits_beyond_the_limit(tmp_path: Path) -> None:
    small = tmp_path / "a.csv"
    small.write_bytes(b"x" * 100)
    assert package(small, limit=1000) == [small]
    big = tmp_path / "b.csv"
    big.write_bytes(b"0123456789;abc\n" * 1000)  # compresses well
    [zipped] = package(big, limit=1000)
    assert zipped.name == "b.csv.zip" and not big.exists()
    assert zipfile.ZipFile(zipped).read("b.csv") == b"0123456789;abc\n" * 1000
    noisy = tmp_path / "c.csv"
    import random

    original = random.Random(1).randbytes(5000)  # does not compress
    noisy.write_bytes(original)
    parts = package(noisy, limit=2000)
    assert [p.name for p in parts] == ["c.csv.zip.001", "c.csv.zip.002", "c.csv.zip.003"]
    joined = b"".join(p.read_bytes() for p in parts)
    assert zipfile.ZipFile(io.BytesIO(joined)).read("c.csv") == original


@pytest.fixture
def background_app(
    sessionmaker: async_sessionmaker[AsyncSession], media_store: MediaStore
) -> tuple[Kurasi, ExportJobs]:
    app = Kurasi(
        sessionmaker=sessionmaker,
        clock=FakeClock(NOW),
        media_store=media_store,
        flow_settings=FlowSettings(review_channel="test", admin_ids=frozenset({ADMIN})),
        debounce_seconds=60,
        flood=FloodGuard(limit=10_000),
    )
    jobs = ExportJobs(app, progress_every=0.0)
    from dataclasses import replace

    app.flow_settings = replace(app.flow_settings, exports=jobs)
    return app, jobs


async def test_ekspor_answers_at_once_and_the_job_sends_the_files(
    background_app: tuple[Kurasi, ExportJobs],
    sessionmaker: async_sessionmaker[AsyncSession],
    media_store: MediaStore,
) -> None:
    app, jobs = background_app
    await build_world(sessionmaker, media_store)
    channel = RecordingChannel(app)
    admin = Chat(app, channel, user_id=ADMIN, language="en")
    # The answer comes first; the job may already have posted its progress message by the
    # time the update's replies are counted (it runs right after the commit).
    answer, *_job = await admin.send("/ekspor produk sektor:food")
    assert answer.attachment is None
    assert "Preparing the" in answer.text and "Food & beverage" in answer.text
    await jobs.drain()
    posted = [r for chat, r in channel.sent if chat == admin.chat_id]
    files = [r.attachment for r in posted if r.attachment]
    assert [f.filename.rsplit(".", 1)[1] for f in files] == ["xlsx", "csv"]
    sheet = load_workbook(io.BytesIO(files[0].data), read_only=True).active
    assert len(list(sheet.iter_rows(values_only=True))) == 1 + 3  # P1, P2, P6 are food
    progress = [r for r in posted if "rows" in r.text]
    assert progress[0].text.startswith("⏳") and "0 of 3 rows" in progress[0].text
    assert progress[-1].text.startswith("✅") and "3 rows" in progress[-1].text
    # Every later progress message edits the first one (the recording channel's ids are
    # positions in its list).
    first_id = str(next(i for i, (_c, r) in enumerate(channel.sent, 1) if r is progress[0]))
    assert progress[1:] and all(r.edit_message_id == first_id for r in progress[1:])


async def test_bad_ekspor_words_get_a_reason_in_the_admins_language(
    background_app: tuple[Kurasi, ExportJobs],
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    app, jobs = background_app
    admin = Chat(app, RecordingChannel(app), user_id=ADMIN, language="id")
    [answer] = await admin.send("/ekspor produk sektor:kayu")
    assert "Tidak ada sektor bernama kayu." in answer.text
    [answer] = await admin.send("/ekspor <script>")
    assert "Tidak ada ekspor bernama <script>." in answer.text
    await jobs.drain()
    assert not jobs._tasks


async def test_a_file_over_the_limit_goes_zipped_or_in_parts(
    background_app: tuple[Kurasi, ExportJobs],
    sessionmaker: async_sessionmaker[AsyncSession],
    media_store: MediaStore,
) -> None:
    app, jobs = background_app
    jobs.limit = 1500  # bytes: the world's files are a few kilobytes
    await build_world(sessionmaker, media_store)
    channel = RecordingChannel(app)
    admin = Chat(app, channel, user_id=ADMIN, language="id")
    await admin.send("/ekspor review")
    await jobs.drain()
    names = [r.attachment.filename for _c, r in channel.sent if r.attachment]
    # The XLSX (zipped, ~3 KB) goes in parts; the CSV is small enough as it is.
    assert names[-1] == "kurasi-reviews-2026-11-25.csv"
    assert len(names) >= 3 and names[:-1] == [
        f"kurasi-reviews-2026-11-25.xlsx.zip.{n:03d}" for n in range(1, len(names))
    ]
    done = [r.text for _c, r in channel.sent if "✅" in r.text][-1]
    assert "gabungkan" in done
    data = b"".join(
        r.attachment.data
        for _c, r in channel.sent
        if r.attachment and "xlsx" in r.attachment.filename
    )
    assert zipfile.ZipFile(io.BytesIO(data)).namelist()[0].endswith(".xlsx")


class SlowUploads:
    """The channel's file uploads wait until `go` is set: a big upload, still going."""

    def __init__(self, channel: RecordingChannel) -> None:
        self.channel = channel
        self.original = channel.post
        self.uploading = asyncio.Event()
        self.go = asyncio.Event()
        channel.post = self._post  # type: ignore[method-assign]

    async def _post(self, chat_id: str, reply: Any) -> list[str]:
        if reply.attachment is not None:
            self.uploading.set()
            await self.go.wait()
        return await self.original(chat_id, reply)

    async def started(self) -> None:
        await asyncio.wait_for(self.uploading.wait(), 10)

    def restore(self) -> None:
        self.channel.post = self.original  # type: ignore[method-assign]


async def test_an_export_stopped_by_a_restart_starts_again_at_the_next_start(
    background_app: tuple[Kurasi, ExportJobs],
    sessionmaker: async_sessionmaker[AsyncSession],
    media_store: MediaStore,
) -> None:
    """A stopping process cancels the export and tells the admin; the request is stored
    with the update that asked, so the next process (a new ExportJobs on the same database)
    takes it up and sends the files; it is then done, once."""
    from db.models import ExportRequest

    app, jobs = background_app
    await build_world(sessionmaker, media_store)
    channel = RecordingChannel(app)
    admin = Chat(app, channel, user_id=ADMIN, language="id")
    slow = SlowUploads(channel)
    await admin.send_event(Command("ekspor", "produk sektor:food"), drain=False)
    await slow.started()
    jobs.cancel()
    await jobs.drain()
    assert not [r for _c, r in channel.sent if r.attachment]
    assert "dimulai ulang" in channel.sent[-1][1].text
    assert "dimulai lagi" in channel.sent[-1][1].text
    slow.restore()
    again = ExportJobs(app, progress_every=0.0)  # the next process
    assert await again.resume() == 1
    await again.drain()
    posted = [r for chat, r in channel.sent if chat == admin.chat_id]
    files = [r.attachment.filename for r in posted if r.attachment]
    assert [f.rsplit(".", 1)[1] for f in files] == ["xlsx", "csv"]
    assert any("Bot dimulai ulang saat ekspor" in r.text for r in posted)
    assert posted[-1].text.startswith("✅") and "3 baris" in posted[-1].text
    sheet = load_workbook(io.BytesIO(posted[-3].attachment.data), read_only=True).active
    assert len(list(sheet.iter_rows(values_only=True))) == 1 + 3  # the filter was kept
    async with sessionmaker() as session:
        [request] = await session.scalars(select(ExportRequest))
    assert request.finished_at is not None and request.runs == 2
    assert await ExportJobs(app).resume() == 0  # done: never sent twice


async def test_a_dead_workers_export_waits_for_its_lease_then_is_given_up_after_three_runs(
    background_app: tuple[Kurasi, ExportJobs],
    sessionmaker: async_sessionmaker[AsyncSession],
    media_store: MediaStore,
) -> None:
    from db.export_requests import LEASE, MAX_RUNS, claim
    from db.models import ExportRequest

    app, _jobs = background_app
    clock = app.clock
    await build_world(sessionmaker, media_store)
    channel = RecordingChannel(app)
    admin = Chat(app, channel, user_id=ADMIN, language="en")
    from dataclasses import replace

    # The worker that answered dies before its job starts.
    app.flow_settings = replace(app.flow_settings, exports=lambda job: None)
    await admin.send("/ekspor produk")
    async with sessionmaker() as session, session.begin():
        [request] = await session.scalars(select(ExportRequest))
        assert await claim(session, request_id=request.id, now=clock())  # it started...
    assert await ExportJobs(app).resume() == 0  # ...and holds its lease: nobody else runs it
    clock.advance(seconds=LEASE.total_seconds() + 1)  # type: ignore[attr-defined]
    async with sessionmaker() as session, session.begin():  # died again, twice
        for _ in range(MAX_RUNS - 1):
            assert await claim(session, request_id=request.id, now=clock())
            clock.advance(seconds=LEASE.total_seconds() + 1)  # type: ignore[attr-defined]
    later = ExportJobs(app, progress_every=0.0)
    assert await later.resume() == 1
    await later.drain()
    assert "Sorry, the export failed" in channel.sent[-1][1].text
    assert not [r for _c, r in channel.sent if r.attachment]
    async with sessionmaker() as session:
        request = await session.get(ExportRequest, request.id)
    assert request is not None and request.finished_at is not None


async def test_a_long_running_export_keeps_its_lease(
    background_app: tuple[Kurasi, ExportJobs],
    sessionmaker: async_sessionmaker[AsyncSession],
    media_store: MediaStore,
) -> None:
    """An upload longer than the lease is still the one job on the request: its heartbeat
    renews the lease, so no other worker starts the same export."""
    from db.export_requests import LEASE

    app, _jobs = background_app
    jobs = ExportJobs(app, progress_every=0.0, renew_every=0.05)
    from dataclasses import replace

    app.flow_settings = replace(app.flow_settings, exports=jobs)
    await build_world(sessionmaker, media_store)
    channel = RecordingChannel(app)
    admin = Chat(app, channel, user_id=ADMIN, language="id")
    slow = SlowUploads(channel)
    await admin.send_event(Command("ekspor", "produk"), drain=False)
    await slow.started()
    app.clock.advance(seconds=LEASE.total_seconds() * 3)  # type: ignore[attr-defined]
    await asyncio.sleep(0.3)  # a few heartbeats at the new time
    assert await ExportJobs(app).resume() == 0
    slow.go.set()
    await jobs.drain()
    assert len([r for _c, r in channel.sent if r.attachment]) == 2
