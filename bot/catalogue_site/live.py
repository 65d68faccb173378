"""The live catalogue on Kurasi's HTTP app: /katalog, /katalog.json, /katalog/produk/ID-slug,
/katalog/foto/ID-SIZE.jpg and the inquiry form's POST /katalog/permintaan.

Requests are answered from memory: the order of all approved products (ids and the fields
the listing sorts and filters by, no text) is held in an index, reloaded when the database's
fingerprint (count and latest change, read at most once a second) moves — an approval, an
edit or an erasure; rendered pages are cached per fingerprint, gzipped once, with an ETag.
Only a page's products are read from the database, by their ids.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import structlog
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.catalogue_site.i18n import LANGUAGES, negotiate
from bot.catalogue_site.photos import SIZES, make, sized
from bot.catalogue_site.render import Listing, Pages, Rates, entry_json, product_path
from db.base import utcnow
from db.catalogue import (
    CatalogueEntry,
    CataloguePhoto,
    IndexRow,
    catalogue_photo,
    entries_by_id,
    entry,
    index_rows,
    search_ids,
    stamp,
    tokens,
)
from db.media_store import MediaStore
from handlers.kit.labels import SECTOR_LABELS

log = structlog.get_logger(__name__)

CSP = (
    "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; "
    "form-action 'self'{extra}; base-uri 'none'; frame-ancestors 'none'"
)
STAMP_EVERY = 1.0  # seconds between looks at the database's fingerprint
CACHE_PAGES = 2000
SEARCH_CACHE = 500
MAX_PAGE = 100_000


@dataclass(frozen=True)
class Cached:
    body: bytes
    gzipped: bytes
    etag: str
    content_type: str


class LiveLinks:
    """Relative links from /katalog (prefix "") or /katalog/produk/X (prefix "../../")."""

    def __init__(self, prefix: str, params: dict[str, str]) -> None:
        self.prefix = prefix
        self.params = params

    def listing(self, lang: str, **params: Any) -> str:
        query = {"lang": lang, **{k: str(v) for k, v in params.items() if v not in (None, "")}}
        return f"{self.prefix}katalog?{urlencode(query)}"

    def detail(self, entry: CatalogueEntry, lang: str) -> str:
        return f"{self.prefix}katalog/produk/{product_path(entry)}?lang={lang}"

    def photo(self, photo: CataloguePhoto, size: str) -> str:
        return f"{self.prefix}katalog/foto/{photo.id}-{size}.jpg"

    def inquiry(self) -> str | None:
        return f"{self.prefix}katalog/permintaan"

    def search(self) -> str | None:
        return f"{self.prefix}katalog"


class Index:
    """All approved products' ordering fields, oldest approval first, and the orders and
    groups a listing reads (newest, best grade; per sector, per regency)."""

    def __init__(self, rows: list[IndexRow], fingerprint: tuple[int, str], at: datetime) -> None:
        self.rows = rows
        self.fingerprint = fingerprint
        self.at = at
        self.key = hashlib.sha256(repr(fingerprint).encode()).hexdigest()[:12]
        self.by_id = {r.id: r for r in rows}
        order = {"A": 0, "B": 1, "C": 2, "D": 3}
        newest = rows[::-1]
        by_grade = sorted(newest, key=lambda r: order.get(r.grade or "", 9))  # stable
        self.orders: dict[tuple[str, str, str], list[IndexRow]] = {}
        for sort, ordered in (("baru", newest), ("mutu", by_grade)):
            self.orders[(sort, "", "")] = ordered
            for r in ordered:
                self.orders.setdefault((sort, r.sector, ""), []).append(r)
                if r.region_code:
                    self.orders.setdefault((sort, "", r.region_code), []).append(r)

    def select(self, sort: str, sector: str, region: str) -> list[IndexRow]:
        if sector and region:
            rows = self.orders.get((sort, "", region), [])
            return [r for r in rows if r.sector == sector]
        return self.orders.get((sort, sector, region), [])


InquiryHandler = Callable[[web.Request], Awaitable[web.Response]]


class Catalogue:
    """Routes /katalog, /katalog.json, detail pages and photos on the HTTP app."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        store: MediaStore,
        thumbs: Path,
        *,
        per_page: int = 24,
        rates: Rates | None = None,
        public_url: str = "",
        inquiries: InquiryHandler | None = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.store = store
        self.thumbs = thumbs
        self.per_page = per_page
        self.public_url = public_url
        self.pages = Pages(rates)
        self.rates = self.pages.rates
        self.inquiries = inquiries
        self._index: Index | None = None
        self._checked = 0.0
        self._reload = asyncio.Lock()
        self._cache: OrderedDict[tuple[Any, ...], Cached] = OrderedDict()
        self._searches: OrderedDict[tuple[str, str], set[int]] = OrderedDict()
        self._locks: dict[str, asyncio.Lock] = {}
        self.csp = CSP.format(extra="")

    def register(self, app: web.Application) -> None:
        app.router.add_get("/katalog", self.page)
        app.router.add_get("/katalog/", self.page)
        app.router.add_get("/katalog.json", self.json)
        app.router.add_get(r"/katalog/produk/{product_id:\d{1,12}}{rest:(-[^/]*)?}", self.detail)
        app.router.add_get(r"/katalog/foto/{photo_id:\d{1,12}}-{size:thumb|full}.jpg", self.photo)
        if self.inquiries is not None:
            app.router.add_post("/katalog/permintaan", self.inquiries)

    # --- the index and the cache ------------------------------------------------------

    async def index(self) -> Index:
        now = time.monotonic()
        current = self._index
        if current is not None and now - self._checked < STAMP_EVERY:
            return current
        async with self._reload:
            if self._index is not None and time.monotonic() - self._checked < STAMP_EVERY:
                return self._index
            async with self.sessionmaker() as session:
                fingerprint = await stamp(session)
                if self._index is None or self._index.fingerprint != fingerprint:
                    rows: list[IndexRow] = []
                    async for part in index_rows(session):
                        rows.extend(part)
                    # Cached pages are keyed by what they show (the index's key, or a product's
                    # own stamp): those of the old index are never hit again and age out.
                    self._index = Index(rows, fingerprint, utcnow())
            self._checked = time.monotonic()
            return self._index

    async def _search(self, index: Index, query: str) -> set[int]:
        key = (index.key, " ".join(tokens(query)))
        found = self._searches.get(key)
        if found is None:
            async with self.sessionmaker() as session:
                found = await search_ids(session, query=query)
            self._searches[key] = found
            while len(self._searches) > SEARCH_CACHE:
                self._searches.popitem(last=False)
        return found

    def _remember(self, key: tuple[Any, ...], body: bytes, content_type: str) -> Cached:
        etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
        cached = Cached(body, gzip.compress(body, 6), etag, content_type)
        self._cache[key] = cached
        while len(self._cache) > CACHE_PAGES:
            self._cache.popitem(last=False)
        return cached

    def _respond(self, request: web.Request, cached: Cached, index: Index) -> web.Response:
        headers = {
            "ETag": cached.etag,
            "Last-Modified": format_datetime(index.at.astimezone(UTC), usegmt=True),
            "Cache-Control": "public, max-age=60",
            "Vary": "Accept-Language, Accept-Encoding",
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "strict-origin-when-cross-origin",
        }
        if cached.content_type == "text/html":
            headers["Content-Security-Policy"] = self.csp
        if cached.etag in request.headers.get("If-None-Match", ""):
            return web.Response(status=304, headers=headers)
        body = cached.body
        if "gzip" in request.headers.get("Accept-Encoding", ""):
            body = cached.gzipped
            headers["Content-Encoding"] = "gzip"
        return web.Response(
            body=body, headers=headers, content_type=cached.content_type, charset="utf-8"
        )

    # --- listing ------------------------------------------------------------------------

    @staticmethod
    def _filters(request: web.Request) -> dict[str, str]:
        q = request.query
        sector = q.get("sektor", q.get("sector", "")).strip()[:16]
        region = q.get("wilayah", q.get("region", "")).strip()[:8]
        sort = q.get("urut", q.get("sort", "baru"))
        return {
            "sector": sector if sector in SECTOR_LABELS else "",
            "region": region if region.replace(".", "").isdigit() else "",
            "q": " ".join(q.get("q", "").split())[:100],
            "sort": "mutu" if sort in ("mutu", "grade") else "baru",
        }

    @staticmethod
    def _lang(request: web.Request) -> str:
        asked = request.query.get("lang", "")
        if asked in LANGUAGES:
            return asked
        return negotiate(request.headers.get("Accept-Language"))

    @staticmethod
    def _page_number(request: web.Request) -> int:
        raw = request.query.get("hal", request.query.get("page", "1"))
        return min(max(int(raw), 1), MAX_PAGE) if raw.isdigit() and len(raw) < 7 else 1

    async def _select(
        self, index: Index, filters: dict[str, str], page: int, per_page: int
    ) -> tuple[list[CatalogueEntry], int, int, int]:
        rows = index.select(filters["sort"], filters["sector"], filters["region"])
        if filters["q"]:
            found = await self._search(index, filters["q"])
            rows = [r for r in rows if r.id in found]
        total = len(rows)
        pages = max(1, -(-total // per_page))
        page = min(page, pages)
        ids = [r.id for r in rows[(page - 1) * per_page : page * per_page]]
        async with self.sessionmaker() as session:
            entries = await entries_by_id(session, ids=ids)
        return entries, total, page, pages

    async def page(self, request: web.Request) -> web.Response:
        index = await self.index()
        lang, filters, page = (
            self._lang(request),
            self._filters(request),
            self._page_number(request),
        )
        key = ("page", index.key, lang, tuple(sorted(filters.items())), page)
        cached = self._cache.get(key)
        if cached is None:
            entries, total, page, pages = await self._select(index, filters, page, self.per_page)
            params = {
                "q": filters["q"],
                "sektor": filters["sector"],
                "wilayah": filters["region"],
                "urut": "" if filters["sort"] == "baru" else filters["sort"],
            }
            links = LiveLinks("", params)
            view = Listing(
                entries=entries,
                total=total,
                page=page,
                pages=pages,
                prev_href=links.listing(lang, **params, hal=page - 1) if page > 1 else None,
                next_href=links.listing(lang, **params, hal=page + 1) if page < pages else None,
                page_links=[
                    (links.listing(lang, **params, hal=n), str(n), n == page)
                    for n in _window(page, pages)
                ],
                filters=filters,
            )
            switch = {code: links.listing(code, **params, hal=page) for code in LANGUAGES}
            html = self.pages.listing(
                lang, view, links, hreflang=self._hreflang(switch), switch=switch
            )
            cached = self._remember(key, html.encode(), "text/html")
        return self._respond(request, cached, index)

    def _hreflang(self, switch: dict[str, str]) -> dict[str, str]:
        if not self.public_url:
            return switch  # relative: still names each language's version
        base = self.public_url + "/"
        return {code: base + href.removeprefix("../../") for code, href in switch.items()}

    async def json(self, request: web.Request) -> web.Response:
        index = await self.index()
        filters, page = self._filters(request), self._page_number(request)
        raw = request.query.get("per_page", "")
        per_page = min(int(raw), 100) if raw.isdigit() and int(raw[:4]) > 0 else 100
        key = ("json", index.key, tuple(sorted(filters.items())), page, per_page)
        cached = self._cache.get(key)
        if cached is None:
            entries, total, page, pages = await self._select(index, filters, page, per_page)
            base = self.public_url
            doc = {
                "version": 1,
                "generated_at": index.at.isoformat(),
                "currency": "IDR",
                "total": total,
                "page": page,
                "pages": pages,
                "per_page": per_page,
                "products": [
                    entry_json(
                        e,
                        [f"{base}/katalog/foto/{p.id}-full.jpg" for p in e.photos],
                        rates=self.rates,
                        url=f"{base}/katalog/produk/{product_path(e)}",
                    )
                    for e in entries
                ],
            }
            body = json.dumps(doc, ensure_ascii=False).encode()
            cached = self._remember(key, body, "application/json")
        return self._respond(request, cached, index)

    # --- detail -------------------------------------------------------------------------

    async def detail(self, request: web.Request) -> web.Response:
        index = await self.index()
        product_id = int(request.match_info["product_id"])
        lang = self._lang(request)
        row = index.by_id.get(product_id)
        if row is None:
            raise web.HTTPNotFound(text="not in the catalogue")
        # Keyed by the product's own stamp: other products' approvals do not redraw it.
        key = ("detail", row.stamp, lang, product_id)
        cached = self._cache.get(key)
        if cached is None:
            async with self.sessionmaker() as session:
                found = await entry(session, product_id=product_id)
            if found is None:
                raise web.HTTPNotFound(text="not in the catalogue")
            wanted = "-" + product_path(found).partition("-")[2]
            if request.match_info["rest"] != wanted:
                raise web.HTTPMovedPermanently(f"{product_path(found)}?lang={lang}")
            links = LiveLinks("../../", {})
            switch = {code: links.detail(found, code) for code in LANGUAGES}
            canonical = (
                f"{self.public_url}/katalog/produk/{product_path(found)}?lang={lang}"
                if self.public_url
                else None
            )
            html = self.pages.detail(
                lang,
                found,
                links,
                hreflang=self._hreflang(switch),
                switch=switch,
                canonical=canonical,
                og_image=(
                    f"{self.public_url}/katalog/foto/{found.photos[0].id}-full.jpg"
                    if self.public_url and found.photos
                    else None
                ),
            )
            cached = self._remember(key, html.encode(), "text/html")
        return self._respond(request, cached, index)

    # --- photos -------------------------------------------------------------------------

    async def photo(self, request: web.Request) -> web.StreamResponse:
        photo_id = int(request.match_info["photo_id"])
        size = request.match_info["size"]
        async with self.sessionmaker() as session:
            photo = await catalogue_photo(session, photo_id=photo_id)
        if photo is None:
            raise web.HTTPNotFound()
        path = sized(self.thumbs, photo.sha256, size)
        if not path.is_file():
            lock = self._locks.setdefault(path.name, asyncio.Lock())
            async with lock:  # made once, even when many phones ask at the same moment
                if not path.is_file():
                    try:
                        await asyncio.to_thread(
                            make, self.store, photo.store_key, path, SIZES[size]
                        )
                    except FileNotFoundError:
                        raise web.HTTPNotFound() from None
            self._locks.pop(path.name, None)
        return web.FileResponse(
            path,
            headers={
                "Cache-Control": "public, max-age=86400",
                "Content-Type": "image/jpeg",
                "X-Content-Type-Options": "nosniff",
            },
        )


def _window(page: int, pages: int, width: int = 2) -> list[int]:
    """Page numbers around the current one, with the first and the last."""
    shown = {1, pages, *range(max(1, page - width), min(pages, page + width) + 1)}
    return sorted(shown)
