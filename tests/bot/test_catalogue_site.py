"""The export catalogue as buyers use it: live pages (pages, count, sort, token search,
languages, headers, cache), detail pages (JSON-LD, Open Graph, masked contacts), the static
site (every page kind, relative links that resolve, incremental rebuilds that remove what is
gone) and the labels' catalogs in four languages."""

from __future__ import annotations

import gzip
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlparse

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.catalogue_site import live
from bot.catalogue_site.i18n import LANGUAGES, messages, negotiate
from bot.catalogue_site.live import Catalogue
from bot.catalogue_site.render import Pages, Rates, mask
from bot.catalogue_site.static import MANIFEST, Site
from bot.http import make_http_app
from db.media_store import MediaStore
from db.models import Business, Product, User
from tests.catalogue_data import approved_products, jpeg
from tests.world import NOW


class Parsed(HTMLParser):
    """What a buyer's browser would read off a page: products, links, images, metadata."""

    def __init__(self) -> None:
        super().__init__()
        self.products: list[str] = []
        self.links: list[dict[str, str]] = []
        self.images: list[str] = []
        self.meta: dict[str, str] = {}
        self.alternates: dict[str, str] = {}
        self.jsonld: list[Any] = []
        self.forms: list[dict[str, str]] = []
        self.text: list[str] = []
        self.html_lang = ""
        self._script: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "html":
            self.html_lang = a.get("lang", "")
        if "data-product" in a and tag in ("li", "main"):
            self.products.append(a["data-product"])
        if tag == "a":
            self.links.append(a)
        if tag == "img":
            self.images.append(a["src"])
        if tag == "meta":
            key = a.get("property") or a.get("name") or a.get("http-equiv")
            if key:
                self.meta[key] = a.get("content", "")
        if tag == "link" and a.get("rel") == "alternate":
            self.alternates[a["hreflang"]] = a["href"]
        if tag == "script":
            self._script = a.get("type", "")
        if tag == "form":
            self.forms.append(a)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._script = None

    def handle_data(self, data: str) -> None:
        if self._script == "application/ld+json":
            self.jsonld.append(json.loads(data))
        elif self._script is None:
            self.text.append(data)

    @property
    def all_text(self) -> str:
        return " ".join(" ".join(self.text).split())


def parse(html: str) -> Parsed:
    page = Parsed()
    page.feed(html)
    return page


@pytest.fixture
def thumbs(tmp_path: Path) -> Path:
    return tmp_path / "thumbs"


async def _client(
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    store: MediaStore,
    thumbs: Path,
    **kw: Any,
) -> TestClient:
    catalogue = Catalogue(sessionmaker, store, thumbs, per_page=24, **kw)
    client = TestClient(TestServer(make_http_app(engine, catalogue=catalogue)))
    await client.start_server()
    return client


async def _html(client: TestClient, url: str, **headers: str) -> Parsed:
    resp = await client.get(url, headers=headers)
    assert resp.status == 200, (url, resp.status)
    return parse(await resp.text())


async def test_listing_pages_count_sort_and_keep_filters_across_languages(
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    media_store: MediaStore,
    thumbs: Path,
) -> None:
    async with sessionmaker() as session, session.begin():
        ids = await approved_products(session, media_store, 60)
    client = await _client(engine, sessionmaker, media_store, thumbs)
    try:
        first = await _html(client, "/katalog?lang=en")
        assert "60 products" in first.all_text and "Page 1 of 3" in first.all_text
        # Newest approval first; page 2 and 3 hold the rest, each product once.
        assert first.products == [str(i) for i in reversed(ids)][:24]
        seen = list(first.products)
        for n in (2, 3):
            page = await _html(client, f"/katalog?lang=en&hal={n}")
            seen += page.products
        assert sorted(seen, key=int) == [str(i) for i in ids]
        # A page past the end shows the last page, not the first again.
        assert (await _html(client, "/katalog?hal=99")).products == seen[48:]
        # Grade: the As (even positions) before the Bs.
        graded = await _html(client, "/katalog?urut=mutu")
        assert all(int(p) in ids[0::2] for p in graded.products)
        # A sector filter, kept by the language switch and the pager.
        food = await _html(client, "/katalog?sektor=food&lang=en")
        assert "15 products" in food.all_text
        switch = {a["hreflang"]: a["href"] for a in food.links if a.get("hreflang") in LANGUAGES}
        assert set(switch) == {"id", "ja", "zh-Hans"}
        for code, href in switch.items():
            query = parse_qs(urlparse(href).query)
            assert query["sektor"] == ["food"] and query["lang"] == [code]
            page = await _html(client, "/" + href)
            assert page.html_lang == code and page.products == food.products
        ja = await _html(client, "/" + switch["ja"])
        assert "15 件の商品" in ja.all_text and "価格" in ja.all_text
        # Forged parameters are ignored, never an error.
        for url in (
            "/katalog?hal=-1",
            "/katalog?hal=abc",
            "/katalog?sektor=<script>",
            "/katalog?q=" + "x" * 5000,
        ):
            assert (await client.get(url)).status == 200
    finally:
        await client.close()


async def test_token_search_every_word_any_order_case_and_accents(
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    media_store: MediaStore,
    thumbs: Path,
) -> None:
    names = [
        "Kursi Teras Jati",
        "Meja Jati",
        "Kursi Rotan",
        "Café Bubuk Kopi",
        "KURSI JATI Minimalis",
    ]
    async with sessionmaker() as session, session.begin():
        ids = await approved_products(session, media_store, len(names), names=names)
        await session.execute(
            update(Product).where(Product.id == ids[1]).values(description_en="A teak kursi table")
        )
    client = await _client(engine, sessionmaker, media_store, thumbs)
    try:

        async def found(q: str) -> set[int]:
            page = await _html(client, f"/katalog?q={q}")
            return {int(p) for p in page.products}

        assert await found("kursi jati") == {ids[0], ids[1], ids[4]}
        assert await found("JATI   kursi") == {ids[0], ids[1], ids[4]}
        assert await found("cafe") == {ids[3]}
        assert await found("CAFÉ kopi") == {ids[3]}
        assert await found("teak") == {ids[1]}
        assert await found("kursi jati rotan") == set()
        assert await found("100%25_") == set()  # LIKE wildcards are plain characters
        doc = await (await client.get("/katalog.json?q=kursi")).json()
        assert doc["total"] == 4 and {p["id"] for p in doc["products"]} == {
            ids[0],
            ids[1],
            ids[2],
            ids[4],
        }
    finally:
        await client.close()


async def test_language_headers_cache_and_invalidation_by_approval(
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    media_store: MediaStore,
    thumbs: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(live, "STAMP_EVERY", 0.0)
    async with sessionmaker() as session, session.begin():
        ids = await approved_products(session, media_store, 3)
    client = await _client(engine, sessionmaker, media_store, thumbs)
    try:
        for header, lang, word in (
            ("en-US,en;q=0.9", "en", "Price"),
            ("ja-JP", "ja", "価格"),
            ("zh-CN,zh;q=0.9", "zh-Hans", "价格"),
            ("fr-FR, id;q=0.5", "id", "Harga"),
            ("", "id", "Harga"),
        ):
            page = await _html(client, "/katalog", **{"Accept-Language": header})
            assert page.html_lang == lang and word in page.all_text, header
        resp = await client.get("/katalog", headers={"Accept-Encoding": "gzip"})
        assert resp.headers["Content-Encoding"] == "gzip"
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        csp = resp.headers["Content-Security-Policy"]
        assert "default-src 'none'" in csp and "script-src" not in csp
        assert "Accept-Language" in resp.headers["Vary"]
        etag, modified = resp.headers["ETag"], resp.headers["Last-Modified"]
        assert modified.endswith("GMT")
        again = await client.get("/katalog", headers={"If-None-Match": etag})
        assert again.status == 304
        raw = await client.get(
            "/katalog", headers={"Accept-Encoding": "gzip"}, auto_decompress=False
        )
        assert gzip.decompress(await raw.read()).startswith(b"<!doctype html>")
        # An approval (here: a product leaving the catalogue) shows on the next request.
        async with sessionmaker() as session, session.begin():
            await session.execute(
                update(Product).where(Product.id == ids[0]).values(status="in_review")
            )
        page = await _html(client, "/katalog")
        assert str(ids[0]) not in page.products and len(page.products) == 2
        assert (await client.get("/katalog", headers={"If-None-Match": etag})).status == 200
    finally:
        await client.close()


async def test_detail_page_jsonld_open_graph_slug_and_not_found(
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    media_store: MediaStore,
    thumbs: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(live, "STAMP_EVERY", 0.0)
    async with sessionmaker() as session, session.begin():
        (pid,) = await approved_products(
            session, media_store, 1, names=["Kursi Jati <b>Teras</b>"], shelf_life_days=180
        )
        await session.execute(
            update(Product).where(Product.id == pid).values(name_en="Teak Patio Chair")
        )
    rates = Rates(date="2026-12-01", per_unit={"USD": 16000.0, "JPY": 107.0, "CNY": 2250.0})
    client = await _client(
        engine, sessionmaker, media_store, thumbs, rates=rates, public_url="https://k.example"
    )
    try:
        resp = await client.get(f"/katalog/produk/{pid}-anything?lang=en", allow_redirects=False)
        assert resp.status == 301 and resp.headers["Location"].startswith(f"{pid}-teak-patio-chair")
        page = await _html(client, f"/katalog/produk/{pid}-teak-patio-chair?lang=en")
        assert page.products == [str(pid)]
        (ld,) = page.jsonld
        assert ld["@type"] == "Product" and ld["name"] == "Teak Patio Chair"
        assert ld["offers"]["priceCurrency"] == "IDR" and ld["offers"]["price"] == 10_000
        assert page.meta["og:title"] == "Teak Patio Chair" and page.meta["og:type"] == "product"
        assert page.meta["og:image"].startswith("https://k.example/katalog/foto/")
        assert "USD 0.62" in page.all_text and "JPY 93" in page.all_text
        assert "indicative" in page.all_text and "2026-12-01" in page.all_text
        assert "6 months" in page.all_text
        assert set(page.alternates) == set(LANGUAGES)
        assert page.forms and page.forms[0]["method"] == "post"
        # The HS code's place: drawn only when a value is given (none yet).
        assert "HS code" not in page.all_text
        # In Japanese the English name is shown (marked), the Indonesian description marked.
        ja = await _html(client, f"/katalog/produk/{pid}-teak-patio-chair?lang=ja")
        assert "(英語)" in ja.all_text and "(インドネシア語)" in ja.all_text
        ind = await _html(client, f"/katalog/produk/{pid}-teak-patio-chair?lang=id")
        assert "Kursi Jati <b>Teras</b>" in ind.all_text  # text, not markup
        for bad in (
            "/katalog/produk/999999-x",
            "/katalog/produk/abc",
            "/katalog/produk/1" + "0" * 20,
        ):
            assert (await client.get(bad)).status == 404
        async with sessionmaker() as session, session.begin():
            await session.execute(
                update(Product).where(Product.id == pid).values(status="rejected")
            )
        gone = await client.get(f"/katalog/produk/{pid}-teak-patio-chair?lang=en")
        assert gone.status == 404  # withdrawn: gone from the live site at once
    finally:
        await client.close()


async def test_contacts_in_free_text_are_hidden_without_consent(
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    media_store: MediaStore,
    thumbs: Path,
) -> None:
    text = "Pesan di 0812-3456-7890 atau +62 812 3456 7890, www.toko.id, ana@toko.co.id"
    async with sessionmaker() as session, session.begin():
        shy = await approved_products(session, media_store, 1, description=text)
        ok = await approved_products(
            session, media_store, 1, start=1, description=text, consent=True
        )
    client = await _client(engine, sessionmaker, media_store, thumbs)
    try:
        hidden = await _html(client, f"/katalog/produk/{shy[0]}-produk-0?lang=en")
        for secret in ("3456", "toko.id", "ana@"):
            assert secret not in hidden.all_text
        assert "[contact hidden]" in hidden.all_text
        assert not [a for a in hidden.links if a["href"].startswith("https://wa.me/")]
        shown = await _html(client, f"/katalog/produk/{ok[0]}-produk-1?lang=en")
        assert "0812-3456-7890" in shown.all_text
        assert [a for a in shown.links if a["href"].startswith("https://wa.me/62812")]
        doc = await (await client.get("/katalog.json")).json()
        by_id = {p["id"]: p for p in doc["products"]}
        assert "3456" not in json.dumps(by_id[shy[0]]) and by_id[shy[0]]["contact"] is None
    finally:
        await client.close()
    assert mask("ring 081234567890", consent=False, hidden="#") == "ring #"
    assert (
        mask("2 kg, 30 x 40 cm, 1000 pcs", consent=False, hidden="#")
        == "2 kg, 30 x 40 cm, 1000 pcs"
    )


def _static_links(root: Path) -> list[tuple[Path, str]]:
    """Every href/src of every HTML file in the site, with the file it is on."""
    found = []
    for page in root.rglob("*.html"):
        parsed = parse(page.read_text(encoding="utf-8"))
        for a in parsed.links:
            found.append((page, a["href"]))
        for src in parsed.images:
            found.append((page, src))
    return found


async def test_static_site_every_page_kind_with_links_that_resolve_on_disk(
    sessionmaker: async_sessionmaker[AsyncSession], media_store: MediaStore, tmp_path: Path
) -> None:
    async with sessionmaker() as session, session.begin():
        ids = await approved_products(session, media_store, 30)
    out = tmp_path / "site"
    site = Site(
        out, media_store, tmp_path / "thumbs", Pages(), per_page=8, site_url="https://s.example"
    )
    async with sessionmaker() as session:
        result = await site.build(session, now=NOW)
    assert result.full and result.products == 30
    for lang in LANGUAGES:
        index = parse((out / lang / "index.html").read_text())
        assert index.html_lang == lang and len(index.products) == 30 - 3 * 8
        assert index.products[0] == str(ids[-1])  # newest first
        assert index.meta["Content-Security-Policy"].startswith("default-src 'none'")
        older = parse((out / lang / "page-3.html").read_text())
        assert older.products == [str(i) for i in reversed(ids[16:24])]
        sector = parse((out / lang / "s-food.html").read_text())
        assert sector.products and all((int(p) - ids[0]) % 4 == 0 for p in sector.products)
        detail = parse(next((out / lang / "p").glob(f"{ids[0]}-*.html")).read_text())
        assert detail.products == [str(ids[0])] and detail.jsonld[0]["@type"] == "Product"
        assert detail.meta["og:url"].startswith("https://s.example/")
    assert "30 件の商品" in parse((out / "ja" / "index.html").read_text()).all_text
    for page, href in _static_links(out):
        if href.startswith(("https://", "http://")):
            continue
        assert not href.startswith("/"), (page, href)
        target = (page.parent / urlparse(href).path).resolve()
        assert target.is_file(), (page, href)
    sitemap = (out / "sitemap.xml").read_text()
    assert "https://s.example/sitemap-0.xml" in sitemap
    urls = re.findall(r"<loc>([^<]+)</loc>", (out / "sitemap-0.xml").read_text())
    assert len(urls) == 30 * 4
    assert "Sitemap: https://s.example/sitemap.xml" in (out / "robots.txt").read_text()
    doc = json.loads((out / "catalogue.json").read_text())
    assert len(doc["products"]) == 30 and all(
        (out / p).is_file() for p in doc["products"][0]["photos"]
    )
    # No inquiry form and no search without a public URL for the app.
    assert not parse(next((out / "en" / "p").glob("*.html")).read_text()).forms


async def test_static_rebuild_touches_only_what_changed_and_removes_what_is_gone(
    sessionmaker: async_sessionmaker[AsyncSession], media_store: MediaStore, tmp_path: Path
) -> None:
    async with sessionmaker() as session, session.begin():
        ids = await approved_products(session, media_store, 20)
        (special,) = await approved_products(
            session, media_store, 1, start=20, photo=jpeg((10, 200, 30))
        )
    out = tmp_path / "site"
    site = Site(out, media_store, tmp_path / "thumbs", Pages(), per_page=8)
    async with sessionmaker() as session:
        await site.build(session, now=NOW)
    photos_before = set((out / "photos").iterdir())
    assert len(photos_before) == 4  # two pictures, two sizes each
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*.html")}
    async with sessionmaker() as session:
        quiet = await site.build(session, now=NOW)
    assert quiet.written == 0 and quiet.removed == 0

    # One new approval: its 4 detail pages and the newest listing pages it lands on.
    async with sessionmaker() as session, session.begin():
        (new,) = await approved_products(session, media_store, 1, start=21)
    async with sessionmaker() as session:
        one = await site.build(session, now=NOW)
    changed = {p for p in out.rglob("*.html") if before.get(p) != p.stat().st_mtime_ns}
    names = {str(p.relative_to(out)) for p in changed}
    assert {f"{lang}/p/{new}-produk-21.html" for lang in LANGUAGES} <= names
    assert not any("page-1" in n or "page-2" in n for n in names), names
    assert len(names) <= 4 * 4, names

    # The producer of `special` erases their data; another product leaves the catalogue.
    async with sessionmaker() as session, session.begin():
        owner = await session.scalar(
            Business.__table__.select()
            .with_only_columns(Business.owner_id)
            .join(Product.__table__, Product.business_id == Business.id)
            .where(Product.id == special)
        )
        await session.execute(delete(User).where(User.id == owner))
        await session.execute(
            update(Product).where(Product.id == ids[3]).values(status="in_review")
        )
    async with sessionmaker() as session:
        gone = await site.build(session, now=NOW)
    assert gone.removed >= 8 + 2
    for lang in LANGUAGES:
        assert not list((out / lang / "p").glob(f"{special}-*.html"))
        assert not list((out / lang / "p").glob(f"{ids[3]}-*.html"))
    assert len(set((out / "photos").iterdir())) == 2  # the erased producer's picture is gone
    manifest = json.loads((out / MANIFEST).read_text())
    assert str(special) not in manifest["products"] and len(manifest["products"]) == 20
    assert one.written > 0


def test_catalogue_labels_are_translated_in_every_language() -> None:
    from bot.catalogue_site import inquiries, render
    from handlers.kit.labels import LEGAL_LABELS, SECTOR_LABELS
    from handlers.rules.units import UNIT_LABELS

    source = "".join(Path(m.__file__ or "").read_text() for m in (render, inquiries))
    marked = set(re.findall(r'C_\(\s*"((?:[^"\\]|\\.)*)"\s*\)', source))
    marked |= set(SECTOR_LABELS.values()) | set(UNIT_LABELS.values()) | {LEGAL_LABELS["merek"]}
    assert len(marked) > 80
    for lang in ("id", "ja", "zh-Hans"):
        table = messages(lang)
        missing = sorted(m for m in marked if not table.get(m))
        assert not missing, (lang, missing)
        for msgid in marked:  # the same placeholders
            assert set(re.findall(r"{\w+}", msgid)) == set(re.findall(r"{\w+}", table[msgid]))


def test_accept_language_negotiation() -> None:
    assert negotiate("ja,en-US;q=0.8") == "ja"
    assert negotiate("zh-TW") == "zh-Hans"
    assert negotiate("de-DE,en;q=0.3") == "en"
    assert negotiate("en;q=0, ja;q=0.1") == "ja"
    assert negotiate("xx;q=abc") == "id"
    assert negotiate(None) == "id"
    assert urljoin("http://h/katalog", "katalog/produk/1-a") == "http://h/katalog/produk/1-a"


async def test_search_on_postgresql_is_an_index_lookup(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    from sqlalchemy import text

    from db.models import SEARCH_VECTOR

    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's text-search index (SQLite searches with LIKE)")
    async with sessionmaker() as session:
        await session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = (
            await session.execute(
                text(
                    f"EXPLAIN SELECT id FROM products WHERE {SEARCH_VECTOR} "  # noqa: S608
                    "@@ to_tsquery('simple'::regconfig, 'kursi:* & jati:*')"
                )
            )
        ).scalars()
        assert "ix_products_search" in "\n".join(plan)


async def test_erasure_removes_the_thumbnails_and_the_live_pages(
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    media_store: MediaStore,
    monkeypatch: pytest.MonkeyPatch,
    app: Any,
    channel: Any,
) -> None:
    from tests.support import Chat

    monkeypatch.setattr(live, "STAMP_EVERY", 0.0)
    async with sessionmaker() as session, session.begin():
        (pid,) = await approved_products(session, media_store, 1, photo=jpeg((1, 2, 3)))
    thumbs = media_store.root / "thumbs"
    client = await _client(engine, sessionmaker, media_store, thumbs)
    try:
        page = await _html(client, f"/katalog/produk/{pid}-produk-0")
        photos = page.images + [a["href"] for a in page.links if "/foto/" in a["href"]]
        for src in photos:
            assert (await client.get(urljoin(f"/katalog/produk/{pid}-x", src))).status == 200
        assert len(list(thumbs.iterdir())) == 2
        producer = Chat(app, channel, user_id="bulk-0")
        await producer.send("/hapusdata")
        await producer.press("🗑")
        assert list(thumbs.iterdir()) == []
        assert (await client.get(f"/katalog/produk/{pid}-produk-0")).status == 404
        assert str(pid) not in (await _html(client, "/katalog")).products
    finally:
        await client.close()


async def test_one_builder_at_a_time(
    sessionmaker: async_sessionmaker[AsyncSession], media_store: MediaStore, tmp_path: Path
) -> None:
    import fcntl

    from bot.catalogue_site.static import LOCK

    out = tmp_path / "site"
    out.mkdir()
    site = Site(out, media_store, tmp_path / "thumbs", Pages())
    with (out / LOCK).open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # another worker's tick is building
        async with sessionmaker() as session:
            assert (await site.build(session, now=NOW)).skipped
    async with sessionmaker() as session:
        assert not (await site.build(session, now=NOW)).skipped
    assert (out / "index.html").is_file()
