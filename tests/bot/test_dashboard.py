"""The admins' dashboard (issue 24) over HTTP, in process, read with an HTML parser:
login by the bot's one-time link, the cookie's attributes, every page in both languages,
numbers against tests/world.py by hand, filters, charts and downloads; and every way in
that is not an admin's fresh link refused with the same bare 403."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.dashboard import FORBIDDEN, Dashboard
from bot.runtime import FloodGuard, Kurasi
from db.dashboard import issue_link
from db.media_store import MediaStore
from db.models import AuditEvent, User
from handlers.kit.context import FlowSettings
from tests.support import Chat, FakeClock, RecordingChannel
from tests.world import NOW, build_world

ADMIN = "9001"
SETTINGS = FlowSettings(
    review_channel="test",
    admin_ids=frozenset({ADMIN}),
    dashboard_url="https://kurasi.example.id",
)


class Page(HTMLParser):
    """What the tests look at: the lang, ids, every src/href, table cells by table id."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.lang = ""
        self.ids: dict[str, str] = {}
        self.links: list[str] = []
        self.tables: dict[str, list[list[str]]] = {}
        self._table: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._id: str | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "html":
            self.lang = a.get("lang") or ""
        for key in ("src", "href", "action"):
            if a.get(key):
                self.links.append(str(a[key]))
        if tag == "table" and a.get("id"):
            self._table = str(a["id"])
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        if a.get("id"):
            self._id = str(a["id"])
            self.ids.setdefault(self._id, "")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table:
            self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        if self._id is not None:
            self.ids[self._id] += data.strip()
            self._id = None


@pytest.fixture
async def world(sessionmaker: async_sessionmaker[AsyncSession], media_store: MediaStore) -> Any:
    return await build_world(sessionmaker, media_store)


@pytest.fixture
async def client(
    sessionmaker: async_sessionmaker[AsyncSession], world: Any
) -> AsyncIterator[tuple[TestClient[Any, Any], FakeClock]]:
    clock = FakeClock(NOW)
    dashboard = Dashboard(sessionmaker, SETTINGS, tick_seconds=60, clock=clock)
    app = web.Application()
    dashboard.register(app)
    async with TestClient(TestServer(app)) as test_client:
        yield test_client, clock


async def link_from_the_bot(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FakeClock, *, user: str = ADMIN
) -> str:
    kurasi = Kurasi(
        sessionmaker=sessionmaker,
        clock=clock,
        flow_settings=SETTINGS,
        debounce_seconds=60,
        flood=FloodGuard(limit=10_000),
    )
    admin = Chat(kurasi, RecordingChannel(kurasi), user_id=user, language="en")
    [reply] = await admin.send("/dasbor")
    found = re.search(r"https://kurasi\.example\.id(/dasbor/masuk\?t=\S+)", reply.text)
    assert found, reply.text
    return found.group(1)


async def signed_in(client: TestClient[Any, Any], link: str) -> None:
    page = await client.get(link)
    assert page.status == 200  # the sign-in button: fetching the link uses nothing
    secret = link.split("t=", 1)[1]
    response = await client.post("/dasbor/masuk", data={"t": secret}, allow_redirects=False)
    assert response.status == 303
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/dasbor" in cookie
    assert "Secure" not in cookie  # plain http here; behind TLS see below


async def test_login_by_link_then_every_page_in_both_languages(
    client: tuple[TestClient[Any, Any], FakeClock], sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    http, clock = client
    link = await link_from_the_bot(sessionmaker, clock)
    await signed_in(http, link)
    for lang, word in (("id", "Ringkasan"), ("en", "Overview")):
        for path in ("/dasbor", "/dasbor/klaster", "/dasbor/kurator", "/dasbor/ekspor"):
            response = await http.get(f"{path}?lang={lang}")
            assert response.status == 200, path
            assert response.headers["Cache-Control"] == "no-store"
            assert "default-src 'none'" in response.headers["Content-Security-Policy"]
            page = Page(await response.text())
            assert page.lang == lang
            assert page.ids["nav-overview"] == word
            # Nothing fetched from elsewhere: every address is this server's.
            assert all(u.startswith(("/", "?")) for u in page.links), page.links

    page = Page(await (await http.get("/dasbor?lang=en")).text())
    assert (page.ids["t-producers"], page.ids["t-products"]) == ("7", "5")
    assert (page.ids["t-waiting"], page.ids["t-approved"]) == ("2", "2")
    funnel = {row[0]: row[1:] for row in page.tables["funnel"][1:]}
    assert funnel["Food & beverage"] == ["3", "3", "2"]
    assert funnel["Fashion"] == ["2", "2", "0"]
    ages = {row[0]: row[1] for row in page.tables["ages"]}
    assert ages["1–3 days"] == "2"

    # A filter changes the numbers: fashion only.
    page = Page(await (await http.get("/dasbor?lang=en&sektor=fashion")).text())
    assert (page.ids["t-producers"], page.ids["t-waiting"]) == ("2", "1")

    page = Page(await (await http.get("/dasbor/klaster?lang=id")).text())
    rows = page.tables["matrix"]
    assert len(rows) == 1 + 38  # every regency and city, zeros too
    header = rows[0]
    by = {r[0]: dict(zip(header, r, strict=True)) for r in rows[1:]}
    assert by["Kab. Malang"]["Makanan & minuman"] == "2"
    assert by["Kota Malang"]["Makanan & minuman"] == "1"
    assert by["Kota Surabaya"]["Agribisnis"] == "1"
    assert by["Kab. Pacitan"]["Jumlah"] == "0"
    page = Page(await (await http.get("/dasbor/klaster?lang=id&ukuran=waiting")).text())
    by = {r[0]: r for r in page.tables["matrix"][1:]}
    assert by["Kota Malang"][-1] == "1" and by["Kab. Sidoarjo"][-1] == "1"

    page = Page(await (await http.get("/dasbor/kurator?lang=en")).text())
    people = {r[0]: r for r in page.tables["curators"][1:]}
    assert people["Bayu"][1:4] == ["3", "2", "1"]  # claims, decisions, open claims
    times = {r[0]: r for r in page.tables["times-sector"][1:]}
    assert times["Food & beverage"][1:] == ["5 h", "6 h", "3"]

    csv_table = await http.get("/dasbor/klaster.csv?lang=en")
    assert csv_table.status == 200
    lines = (await csv_table.read()).decode("utf-8-sig").splitlines()
    assert len(lines) == 1 + 38 and lines[0].startswith("Regency / city;Food & beverage")


async def test_charts_are_pngs_drawn_once_per_tick(
    client: tuple[TestClient[Any, Any], FakeClock], sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    http, clock = client
    await signed_in(http, await link_from_the_bot(sessionmaker, clock))
    for name in ("tiles", "sectors", "matrix", "funnel", "ages", "times"):
        response = await http.get(f"/dasbor/grafik/{name}.png?lang=id")
        assert response.status == 200, name
        assert (await response.read())[:8] == b"\x89PNG\r\n\x1a\n"
    first = await (await http.get("/dasbor/grafik/tiles.png?lang=en")).read()
    again = await (await http.get("/dasbor/grafik/tiles.png?lang=en")).read()
    assert first == again
    assert (await http.get("/dasbor/grafik/nothing.png")).status == 404


async def test_an_export_downloads_with_the_filters_and_personal_data_is_audited(
    client: tuple[TestClient[Any, Any], FakeClock], sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    http, clock = client
    await signed_in(http, await link_from_the_bot(sessionmaker, clock))
    response = await http.get("/dasbor/ekspor/unduh?apa=products&format=xlsx&sektor=fashion")
    assert response.status == 200
    assert "attachment" in response.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(await response.read()), read_only=True).active
    assert len(list(sheet.iter_rows(values_only=True))) == 1 + 2  # P3, P5
    response = await http.get("/dasbor/ekspor/unduh?apa=businesses&format=csv&pribadi=1&lang=en")
    assert response.status == 200
    assert "Pemilik" in (await response.read()).decode("utf-8-sig")
    async with sessionmaker() as session:
        reasons = list(
            await session.scalars(
                select(AuditEvent.reason_text).where(AuditEvent.action == "export_phones")
            )
        )
    assert reasons == [f"dashboard test admin {ADMIN}; businesses"]
    bad = await http.get("/dasbor/ekspor/unduh?apa=products&sektor=kayu&lang=en")
    assert bad.status == 400 and "kayu" in await bad.text()


async def test_forged_expired_reused_and_non_admin_links_are_refused(
    client: tuple[TestClient[Any, Any], FakeClock], sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    http, clock = client
    for path in ("/dasbor", "/dasbor/klaster", "/dasbor/grafik/tiles.png", "/dasbor/ekspor/unduh"):
        response = await http.get(path)  # no session
        assert response.status == 403 and await response.text() == FORBIDDEN
    assert (await http.get("/dasbor/masuk?t=forged")).status == 403
    response = await http.post("/dasbor/masuk", data={"t": "forged"}, allow_redirects=False)
    assert response.status == 403 and await response.text() == FORBIDDEN

    link = await link_from_the_bot(sessionmaker, clock)
    await signed_in(http, link)
    secret = link.split("t=", 1)[1]
    http.session.cookie_jar.clear()
    again = await http.post("/dasbor/masuk", data={"t": secret}, allow_redirects=False)
    assert again.status == 403 and await again.text() == FORBIDDEN  # used once already
    assert (await http.get(link)).status == 403
    assert (await http.get("/dasbor")).status == 403

    late = await link_from_the_bot(sessionmaker, clock)
    clock.advance(minutes=11)
    response = await http.post(
        "/dasbor/masuk", data={"t": late.split("t=", 1)[1]}, allow_redirects=False
    )
    assert response.status == 403  # expired after 10 minutes

    async with sessionmaker() as session, session.begin():
        someone = User(channel="test", external_id="1234", reminder_optouts=[])
        session.add(someone)
        await session.flush()
        secret = await issue_link(
            session, user_id=someone.id, now=clock.now, ttl=timedelta(minutes=10)
        )
    response = await http.post("/dasbor/masuk", data={"t": secret}, allow_redirects=False)
    assert response.status == 403  # a link is no way around being an admin


async def test_secure_cookie_behind_tls_and_sign_out(
    client: tuple[TestClient[Any, Any], FakeClock], sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    http, clock = client
    link = await link_from_the_bot(sessionmaker, clock)
    response = await http.post(
        "/dasbor/masuk",
        data={"t": link.split("t=", 1)[1]},
        headers={"X-Forwarded-Proto": "https"},
        allow_redirects=False,
    )
    assert response.status == 303 and "Secure" in response.headers["Set-Cookie"]
    # The test client keeps a Secure cookie only for https: send it by hand.
    cookie = response.cookies["kurasi_dasbor"].value
    assert (await http.get("/dasbor", cookies={"kurasi_dasbor": cookie})).status == 200
    out = await http.post(
        "/dasbor/keluar", cookies={"kurasi_dasbor": cookie}, allow_redirects=False
    )
    assert out.status == 303
    assert (await http.get("/dasbor", cookies={"kurasi_dasbor": cookie})).status == 403


async def test_dasbor_in_the_chat_is_for_admins_and_only_when_switched_on(
    sessionmaker: async_sessionmaker[AsyncSession], world: Any
) -> None:
    clock = FakeClock(NOW)
    for settings, user, expected in (
        (SETTINGS, "1234", "for admins only"),
        (
            FlowSettings(review_channel="test", admin_ids=frozenset({ADMIN})),
            ADMIN,
            "not switched on",
        ),
    ):
        kurasi = Kurasi(
            sessionmaker=sessionmaker, clock=clock, flow_settings=settings, debounce_seconds=60
        )
        [reply] = await Chat(kurasi, RecordingChannel(kurasi), user_id=user, language="en").send(
            "/dasbor"
        )
        assert expected in reply.text and "masuk" not in reply.text


async def test_the_admins_help_names_dasbor_when_it_is_on(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    kurasi = Kurasi(
        sessionmaker=sessionmaker, clock=FakeClock(NOW), flow_settings=SETTINGS, debounce_seconds=60
    )
    [reply] = await Chat(kurasi, RecordingChannel(kurasi), user_id=ADMIN, language="id").send(
        "/bantuan"
    )
    assert "/dasbor – dasbor web" in reply.text
