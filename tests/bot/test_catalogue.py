"""The export catalogue: JSON valid against its schema, public page with filters, and nothing
of a draft, rejected or waiting product (or a private field) reachable."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import jsonschema
from aiohttp.test_utils import TestClient, TestServer
from PIL import Image
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.catalogue import Catalogue, schema, write_catalogue
from bot.http import make_http_app
from db.media_store import MediaStore
from db.models import Business, Photo, Product
from tests.world import NOW, World, build_world

PRIVATE = ("+6281234567890", "1234567890123", "Pemilik", "Kopi Draf", "Batik Tulis", "Anyaman")


async def _world(sessionmaker: async_sessionmaker[AsyncSession], store: MediaStore) -> World:
    world = await build_world(sessionmaker, store)
    async with sessionmaker() as session, session.begin():
        p1 = await session.get(Product, world.products["P1"])
        assert p1 is not None
        p1.description_en = "Crispy tempeh chips from Malang"
        b1 = await session.get(Business, world.businesses["P1"])
        assert b1 is not None
        b1.contact_consent = True  # P2's producer was never asked: no link
    return world


class Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.articles: list[str] = []
        self.links: list[str] = []
        self.images: list[dict[str, str | None]] = []
        self.selects: dict[str, list[tuple[str, bool]]] = {}
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("data-product"):
            self.articles.append(a.get("data-product") or "")
        elif tag == "a" and a.get("class") == "wa":
            self.links.append(a.get("href") or "")
        elif tag == "img":
            self.images.append(a)
        elif tag == "select":
            self._select = a.get("name")
            self.selects[self._select or ""] = []
        elif tag == "option" and self._select:
            self.selects[self._select].append((a.get("value") or "", "selected" in a))


def _parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    return page


async def test_exported_catalogue_validates_and_holds_only_approved_products(
    sessionmaker: async_sessionmaker[AsyncSession], media_store: MediaStore, tmp_path: Path
) -> None:
    world = await _world(sessionmaker, media_store)
    out = tmp_path / "cat"
    async with sessionmaker() as session:
        assert await write_catalogue(session, media_store, out, now=NOW) == 2
    doc = json.loads((out / "catalogue.json").read_text())
    jsonschema.validate(doc, json.loads((out / "catalogue.schema.json").read_text()))
    ids = {p["id"] for p in doc["products"]}
    assert ids == {world.products["P1"], world.products["P2"]}
    p1 = next(p for p in doc["products"] if p["id"] == world.products["P1"])
    assert p1["description"]["en"] == "Crispy tempeh chips from Malang"
    assert p1["grade"] == "A" and p1["business"]["regency"] == "Kabupaten Malang"
    assert p1["contact"] == {"whatsapp": "https://wa.me/6281234567890"}
    p2 = next(p for p in doc["products"] if p["id"] == world.products["P2"])
    assert p2["contact"] is None and p2["grade"] == "B"
    for name in p1["photos"]:
        with Image.open(out / name) as img:
            assert max(img.size) <= 1600
    text = (out / "catalogue.json").read_text()
    for secret in ("1234567890123", "Pemilik", "Kopi Draf", "Batik Tulis", "Anyaman"):
        assert secret not in text


async def _client(
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    store: MediaStore,
    tmp_path: Path,
) -> TestClient:
    catalogue = Catalogue(sessionmaker, store, thumbs=tmp_path / "thumbs")
    client = TestClient(TestServer(make_http_app(engine, catalogue=catalogue)))
    await client.start_server()
    return client


async def test_page_and_json_show_approved_products_with_filters(
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    media_store: MediaStore,
    tmp_path: Path,
) -> None:
    world = await _world(sessionmaker, media_store)
    client = await _client(engine, sessionmaker, media_store, tmp_path)
    try:
        resp = await client.get("/katalog")
        assert resp.status == 200
        html = await resp.text()
        page = _parse(html)
        assert sorted(page.articles) == sorted(
            [str(world.products["P1"]), str(world.products["P2"])]
        )
        assert page.links == []  # the WhatsApp button is on the detail page
        assert all(img.get("loading") == "lazy" for img in page.images) and page.images
        detail = await client.get(f"/katalog/produk/{world.products['P1']}-keripik-tempe")
        assert _parse(await detail.text()).links == ["https://wa.me/6281234567890"]
        for secret in PRIVATE:
            assert secret not in html

        page = _parse(await (await client.get("/katalog?sektor=food&wilayah=35.73")).text())
        assert page.articles == [str(world.products["P2"])]
        assert ("food", True) in page.selects["sektor"]
        assert ("35.73", True) in page.selects["wilayah"]

        # Search by name, in Indonesian and in the English description.
        page = _parse(await (await client.get("/katalog?q=keripik")).text())
        assert page.articles == [str(world.products["P1"])]
        page = _parse(await (await client.get("/katalog?q=tempeh&lang=en")).text())
        assert page.articles == [str(world.products["P1"])]
        page = _parse(await (await client.get("/katalog?q=batik")).text())
        assert page.articles == []  # rejected

        resp = await client.get("/katalog.json?sector=food")
        doc = await resp.json()
        jsonschema.validate(doc, schema())
        assert {p["id"] for p in doc["products"]} == {world.products["P1"], world.products["P2"]}
        assert all(secret not in json.dumps(doc) for secret in PRIVATE)

        # Photos: an approved product's thumbnail is made once; any other photo is 404.
        thumb_url = _parse(await (await client.get("/katalog")).text()).images[0]
        url = "/" + str(thumb_url["src"])  # relative to /katalog
        first = await client.get(url)
        assert first.status == 200 and first.headers["Content-Type"] == "image/jpeg"
        made = list((tmp_path / "thumbs").iterdir())
        assert len(made) == 1
        mtime = made[0].stat().st_mtime_ns
        assert (await client.get(url)).status == 200
        assert made[0].stat().st_mtime_ns == mtime
        hidden = [world.products[k] for k in ("P3", "P4", "P5", "P6")]
        async with sessionmaker() as session, session.begin():
            photo_ids = list(
                await session.scalars(select(Photo.id).where(Photo.product_id.in_(hidden)))
            )
        assert len(photo_ids) == 4
        for photo_id in photo_ids:
            for size in ("thumb", "full"):
                resp = await client.get(f"/katalog/foto/{photo_id}-{size}.jpg")
                assert resp.status == 404, (photo_id, size)
        assert (await client.get("/katalog/foto/999999-full.jpg")).status == 404
    finally:
        await client.close()


async def test_catalogue_is_off_by_default(engine: AsyncEngine) -> None:
    client = TestClient(TestServer(make_http_app(engine)))
    await client.start_server()
    try:
        assert (await client.get("/katalog")).status == 404
        assert (await client.get("/katalog.json")).status == 404
    finally:
        await client.close()
