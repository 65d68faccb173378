"""The static catalogue: a folder that works from any static host, object storage, CDN or disk.

    DIR/index.html                  the language choice
    DIR/<lang>/index.html           newest products, with the total
    DIR/<lang>/page-K.html          older pages (K counts from the oldest: stable files)
    DIR/<lang>/s-<sector>[-K].html  the same per sector
    DIR/<lang>/p/<id>-<slug>.html   one page per product
    DIR/photos/<sha>-<size>.jpg     every photo in two sizes, made once
    DIR/sitemap.xml, sitemap-N.xml, robots.txt, catalogue.json, catalogue.schema.json

Every link is relative. A build reads the approved products' order (ids and change stamps),
compares it with the manifest the last build left (`.kurasi-site.json`), and rewrites only
what changed: an approval redraws its own pages and the newest listing page of its sectors;
an erasure or a withdrawal deletes its pages and its photos. Pages are numbered from the
oldest so an approval does not move every other product to another file.
"""

from __future__ import annotations

import asyncio
import fcntl
import gc
import hashlib
import json
import os
import shutil
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from bot.catalogue_site.i18n import LANGUAGES, NAMES, labels
from bot.catalogue_site.photos import SIZES, make, sized, write_atomic
from bot.catalogue_site.render import TEXT, Listing, Pages, entry_json, product_path
from db.catalogue import (
    MAX_IDS,
    CatalogueEntry,
    CataloguePhoto,
    IndexRow,
    entries_by_id,
    index_rows,
    stamp,
    stream_entries,
)
from db.media_store import MediaStore
from handlers.kit.labels import SECTOR_LABELS

log = structlog.get_logger(__name__)

MANIFEST = ".kurasi-site.json"  # version 2: one string per product
LOCK = ".kurasi-site.lock"
SCHEMA_FILE = "catalogue.schema.json"
SITEMAP_BUCKET = 10_000  # product ids per sitemap file (4 languages: 40,000 URLs < 50,000)
# catalogue.json is one file of every product: the tick rewrites it at most hourly (after a
# change), the command every time.
JSON_EVERY = 3600.0
STATIC_CSP = (
    "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; "
    "form-action {action}; base-uri 'none'"
)


def schema() -> dict[str, Any]:
    text = resources.files("bot").joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def photo_name(photo: CataloguePhoto, size: str) -> str:
    return f"photos/{photo.sha256[:24]}-{SIZES[size]}.jpg"


class StaticLinks:
    def __init__(self, depth: int, public_url: str) -> None:
        self.up = "../" * depth
        self.public_url = public_url

    def listing(self, lang: str, **params: Any) -> str:
        return f"{self.up}{lang}/{listing_file(params.get('sector'), params.get('chunk'))}"

    def detail(self, entry: CatalogueEntry, lang: str) -> str:
        return f"{self.up}{lang}/p/{product_path(entry)}.html"

    def photo(self, photo: CataloguePhoto, size: str) -> str:
        return self.up + photo_name(photo, size)

    def inquiry(self) -> str | None:
        return f"{self.public_url}/katalog/permintaan" if self.public_url else None

    def search(self) -> str | None:
        return f"{self.public_url}/katalog" if self.public_url else None


def listing_file(sector: str | None, chunk: int | None) -> str:
    stem = f"s-{sector}" if sector else "index"
    if chunk is None:
        return f"{stem}.html"
    return f"s-{sector}-{chunk + 1}.html" if sector else f"page-{chunk + 1}.html"


@dataclass
class BuildResult:
    products: int = 0
    written: int = 0
    removed: int = 0
    seconds: float = 0.0
    full: bool = False
    removed_files: list[str] = field(default_factory=list)
    skipped: bool = False  # another process was building


class Site:
    """Builds DIR from the database; keep one per process to rebuild incrementally."""

    def __init__(
        self,
        out: Path,
        store: MediaStore,
        thumbs: Path,
        pages: Pages,
        *,
        per_page: int = 24,
        public_url: str = "",
        site_url: str = "",
    ) -> None:
        self.out = out
        self._removed_listings = BuildResult()
        self._manifest: dict[str, Any] | None = None
        self._manifest_file: tuple[int, int] | None = None
        self.site_url = site_url.rstrip("/")
        self.store = store
        self.thumbs = thumbs
        self.pages = pages
        self.per_page = per_page
        self.public_url = public_url.rstrip("/")
        self.csp = STATIC_CSP.format(action=f"{self.public_url}" if self.public_url else "'none'")
        self._fingerprint = hashlib.sha256(
            f"2|{pages.fingerprint()}|{self.public_url}|{self.site_url}|{per_page}".encode()
        ).hexdigest()[:16]

    # --- manifest -----------------------------------------------------------------------

    def _load(self) -> dict[str, Any]:
        """The last build's manifest: kept in memory between this process's builds, read
        again when another process wrote it since."""
        path = self.out / MANIFEST
        try:
            seen = path.stat()
        except FileNotFoundError:
            return {}
        if self._manifest is not None and self._manifest_file == (seen.st_mtime_ns, seen.st_size):
            return self._manifest
        try:
            data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return {}
        return data if data.get("fingerprint") == self._fingerprint else {}

    def _save(self, manifest: dict[str, Any]) -> None:
        manifest["fingerprint"] = self._fingerprint
        path = self.out / MANIFEST
        write_atomic(path, json.dumps(manifest, separators=(",", ":")).encode())
        seen = path.stat()
        self._manifest, self._manifest_file = manifest, (seen.st_mtime_ns, seen.st_size)

    def _write(self, rel: str, text: str | bytes, result: BuildResult) -> None:
        data = text.encode() if isinstance(text, str) else text
        write_atomic(self.out / rel, data)
        result.written += 1

    def _remove(self, rel: str, result: BuildResult) -> None:
        try:
            (self.out / rel).unlink()
        except FileNotFoundError:
            return
        result.removed += 1
        result.removed_files.append(rel)

    # --- the build ----------------------------------------------------------------------

    async def build(
        self,
        session: AsyncSession,
        *,
        now: datetime,
        full: bool = False,
        write_json: bool | None = None,
    ) -> BuildResult:
        """Bring the folder up to date. Several workers may tick at once: one builds (a lock
        file in the folder), the others skip this round."""
        self.out.mkdir(parents=True, exist_ok=True)
        with (self.out / LOCK).open("a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return BuildResult(skipped=True)
            # Builds make many short-lived objects and no cycles: without the cyclic
            # collector's passes over everything the process holds (100,000 products'
            # manifest, the bot's own state) a rebuild takes a fraction of the time.
            collecting = gc.isenabled()
            gc.disable()
            try:
                return await self._build(session, now=now, full=full, write_json=write_json)
            finally:
                if collecting:
                    gc.enable()
                fcntl.flock(lock, fcntl.LOCK_UN)

    async def _build(
        self, session: AsyncSession, *, now: datetime, full: bool, write_json: bool | None
    ) -> BuildResult:
        started = time.monotonic()
        manifest = {} if full else await asyncio.to_thread(self._load)
        result = BuildResult(full=not manifest)
        # Nothing changed since the last build (the same count and latest change as the live
        # pages look at): an idle tick costs two small queries.
        count, latest = await stamp(session)
        fingerprint = [count, latest]
        if manifest and manifest.get("stamp") == fingerprint and not write_json:
            result.products = count
            return result
        known: dict[str, str] = manifest.get("products", {})
        rows: list[IndexRow] = []
        async for part in index_rows(session):
            rows.extend(part)
        result.products = len(rows)
        current = {str(r.id): r for r in rows}

        # Products gone (erased, withdrawn, edited back into review): their pages, and their
        # photos unless another product shows the same picture.
        orphans: set[str] = set()
        for pid in [p for p in known if p not in current]:
            _stamp, path, shas = unpack(known.pop(pid))
            for lang in LANGUAGES:
                self._remove(f"{lang}/p/{path}.html", result)
            orphans.update(shas)

        changed = [r.id for r in rows if stamp_of(known.get(str(r.id))) != r.stamp]
        if result.full:
            async for batch in stream_entries(session):
                await self._products(batch, current, known, orphans, result)
        else:
            for start in range(0, len(changed), MAX_IDS):
                batch = await entries_by_id(session, ids=changed[start : start + MAX_IDS])
                await self._products(batch, current, known, orphans, result)
                session.expunge_all()

        used = {sha for entry in known.values() for sha in unpack(entry)[2]}
        for sha in orphans - used:
            for size in SIZES:
                self._remove(f"photos/{sha[:24]}-{SIZES[size]}.jpg", result)

        listings = manifest.get("listings", {})
        await self._listings(session, rows, listings, result)
        result.removed += self._removed_listings.removed
        result.removed_files += self._removed_listings.removed_files
        sitemaps = manifest.get("sitemaps", {})
        await asyncio.to_thread(self._sitemaps, known, sitemaps, result)
        await asyncio.to_thread(self._fixed, result)
        json_at = float(manifest.get("json_at", 0))
        stale = (result.written or result.removed) and time.time() - json_at > JSON_EVERY
        if write_json or (write_json is None and (result.full or stale)):
            await self._json(session, now, result)
            json_at = time.time()
        if result.full or result.written or result.removed or manifest.get("stamp") != fingerprint:
            content = {"products": known, "listings": listings, "sitemaps": sitemaps}
            await asyncio.to_thread(
                self._save, {**content, "json_at": json_at, "stamp": fingerprint}
            )
        result.seconds = time.monotonic() - started
        log.info(
            "catalogue site built",
            products=result.products,
            written=result.written,
            removed=result.removed,
            full=result.full,
            seconds=round(result.seconds, 2),
        )
        return result

    async def _products(
        self,
        batch: list[CatalogueEntry],
        current: dict[str, IndexRow],
        known: dict[str, str],
        orphans: set[str],
        result: BuildResult,
    ) -> None:
        todo: list[tuple[CatalogueEntry, str, list[str]]] = []
        for e in batch:
            row = current.get(str(e.id))
            if row is None:
                continue
            packed = known.get(str(e.id))
            previous = unpack(packed) if packed is not None else None
            path = product_path(e)
            if previous is not None and previous[0] == row.stamp and not result.full:
                continue
            if previous is not None:
                orphans.update(previous[2])
                if previous[1] != path:
                    for lang in LANGUAGES:
                        self._remove(f"{lang}/p/{previous[1]}.html", result)
            shas = []
            for photo in e.photos:
                if await self._photo(photo, result):
                    shas.append(photo.sha256)
            todo.append((e, path, shas))
            known[str(e.id)] = pack(row.stamp, path, shas)
        # Drawing and writing in a thread: the bot's event loop keeps answering meanwhile.
        await asyncio.to_thread(self._draw_products, todo, result)

    def _draw_products(
        self, todo: list[tuple[CatalogueEntry, str, list[str]]], result: BuildResult
    ) -> None:
        links = StaticLinks(2, self.public_url)
        for e, path, shas in todo:
            shown = CatalogueEntry(
                **{**_fields(e), "photos": [p for p in e.photos if p.sha256 in shas]}
            )
            switch = {code: links.detail(shown, code) for code in LANGUAGES}
            absolute = self._absolute(switch, 2)
            for lang in LANGUAGES:
                html = self.pages.detail(
                    lang,
                    shown,
                    links,
                    hreflang=absolute,
                    switch=switch,
                    csp=self.csp,
                    canonical=absolute[lang] if self.site_url else None,
                    og_image=(
                        f"{self.site_url}/{photo_name(shown.photos[0], 'full')}"
                        if self.site_url and shown.photos
                        else None
                    ),
                )
                self._write(f"{lang}/p/{path}.html", html, result)

    def _absolute(self, switch: dict[str, str], depth: int) -> dict[str, str]:
        if not self.site_url:
            return switch
        return {code: f"{self.site_url}/{href[3 * depth :]}" for code, href in switch.items()}

    async def _photo(self, photo: CataloguePhoto, result: BuildResult) -> bool:
        """Both sizes of a photo in DIR/photos (from the thumbnail cache, made once)."""
        for size in SIZES:
            target = self.out / photo_name(photo, size)
            if target.is_file():
                continue
            cached = sized(self.thumbs, photo.sha256, size)
            if not cached.is_file():
                try:
                    await asyncio.to_thread(make, self.store, photo.store_key, cached, SIZES[size])
                except FileNotFoundError:
                    log.warning("catalogue photo missing", photo=photo.id)
                    return False
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(cached, target)
            except OSError:
                shutil.copyfile(cached, target)
            result.written += 1
        return True

    async def _listings(
        self,
        session: AsyncSession,
        rows: list[IndexRow],
        listings: dict[str, str],
        result: BuildResult,
    ) -> None:
        plan = await asyncio.to_thread(self._listing_plan, rows, listings)
        for name, sector, ids, k, last, total, signature in plan:
            entries = await entries_by_id(session, ids=ids)
            session.expunge_all()
            await asyncio.to_thread(
                self._draw_listing, name, sector, entries, k, last, total, result
            )
            listings[name] = signature

    def _listing_plan(
        self, rows: list[IndexRow], listings: dict[str, str]
    ) -> list[tuple[str, str | None, list[int], int, int, int, str]]:
        """The listing pages whose content changed (and removes those no longer needed)."""
        groups: list[tuple[str | None, list[IndexRow]]] = [(None, rows)]
        by_sector: dict[str, list[IndexRow]] = {code: [] for code in SECTOR_LABELS}
        for r in rows:
            by_sector.setdefault(r.sector, []).append(r)
        groups += [(code, by_sector[code]) for code in SECTOR_LABELS]
        wanted: set[str] = set()
        plan = []
        for sector, members in groups:
            chunks = [members[i : i + self.per_page] for i in range(0, len(members), self.per_page)]
            chunks = chunks or [[]]
            last = len(chunks) - 1
            for k, chunk in enumerate(chunks):
                name = listing_file(sector, None if k == last else k)
                wanted.add(name)
                h = hashlib.sha256(f"{k}|{k == last}|{last if k >= last - 1 else ''}".encode())
                if k == last:
                    h.update(f"|{len(members)}".encode())
                for r in chunk:
                    h.update(f"|{r.id}|{r.stamp}".encode())
                signature = h.hexdigest()[:16]
                if listings.get(name) == signature and (self.out / "id" / name).is_file():
                    continue
                ids = [r.id for r in reversed(chunk)]
                plan.append((name, sector, ids, k, last, len(members), signature))
        gone = BuildResult()
        for name in [n for n in listings if n not in wanted]:
            for lang in LANGUAGES:
                self._remove(f"{lang}/{name}", gone)
            del listings[name]
        self._removed_listings = gone
        return plan

    def _draw_listing(
        self,
        name: str,
        sector: str | None,
        entries: list[CatalogueEntry],
        k: int,
        last: int,
        total: int,
        result: BuildResult,
    ) -> None:
        for lang in LANGUAGES:
            html = self._listing_page(lang, sector, entries, k, last, total)
            self._write(f"{lang}/{name}", html, result)

    def _listing_page(
        self,
        lang: str,
        sector: str | None,
        entries: list[CatalogueEntry],
        k: int,
        last: int,
        total: int,
    ) -> str:
        links = StaticLinks(1, self.public_url)

        def chunk_href(n: int) -> str:
            return links.listing(lang, sector=sector, chunk=None if n == last else n)

        is_index = k == last
        lbl = labels(lang)
        view = Listing(
            entries=entries,
            # The total only on the newest page: older pages keep their file (and content)
            # while approvals arrive.
            total=total if is_index else None,
            page=None,
            pages=None,
            prev_href=chunk_href(k + 1) if k < last else None,
            next_href=chunk_href(k - 1) if k > 0 else None,
            prev_label="newer",
            next_label="older",
            page_links=[] if is_index else [(chunk_href(last), lbl(TEXT["newest"]), False)],
            filters={"sector": sector or ""},
            sector_links=[
                (links.listing(lang), lbl(TEXT["all"]), sector is None),
                *(
                    (links.listing(lang, sector=code), lbl(label), code == sector)
                    for code, label in SECTOR_LABELS.items()
                ),
            ],
            live=False,
        )
        switch = {
            code: links.listing(code, sector=sector, chunk=None if is_index else k)
            for code in LANGUAGES
        }
        return self.pages.listing(
            lang, view, links, hreflang=self._absolute(switch, 1), switch=switch, csp=self.csp
        )

    def _sitemaps(
        self, known: dict[str, str], sitemaps: dict[str, str], result: BuildResult
    ) -> None:
        buckets: dict[int, list[tuple[int, str]]] = {}
        for pid, entry in known.items():
            path = unpack(entry)[1]
            buckets.setdefault(int(pid) // SITEMAP_BUCKET, []).append((int(pid), path))
        base = (self.site_url + "/") if self.site_url else ""
        names = []
        for n, members in sorted(buckets.items()):
            name = f"sitemap-{n}.xml"
            names.append(name)
            members.sort()
            signature = hashlib.sha256(repr(members).encode()).hexdigest()[:16]
            if sitemaps.get(name) == signature and (self.out / name).is_file():
                continue
            lines = [
                '<?xml version="1.0" encoding="UTF-8"?>',
                '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
                'xmlns:xhtml="http://www.w3.org/1999/xhtml">',
            ]
            for _pid, path in members:
                alternates = "".join(
                    f'<xhtml:link rel="alternate" hreflang="{code}" '
                    f'href="{escape(base + code + "/p/" + path + ".html")}"/>'
                    for code in LANGUAGES
                )
                for code in LANGUAGES:
                    lines.append(
                        f"<url><loc>{escape(base + code + '/p/' + path + '.html')}</loc>"
                        f"{alternates}</url>"
                    )
            lines.append("</urlset>")
            self._write(name, "\n".join(lines) + "\n", result)
            sitemaps[name] = signature
        for name in [n for n in sitemaps if n not in names]:
            self._remove(name, result)
            del sitemaps[name]
        index = [
            '<?xml version="1.0" encoding="UTF-8"?>',
            '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">',
            *(f"<sitemap><loc>{escape(base + name)}</loc></sitemap>" for name in names),
            "</sitemapindex>",
        ]
        self._write_if_changed("sitemap.xml", "\n".join(index) + "\n", result)

    def _write_if_changed(self, rel: str, text: str, result: BuildResult) -> None:
        path = self.out / rel
        try:
            if path.read_text(encoding="utf-8") == text:
                return
        except FileNotFoundError:
            pass
        self._write(rel, text, result)

    def _fixed(self, result: BuildResult) -> None:
        sitemap = (self.site_url + "/sitemap.xml") if self.site_url else None
        robots = "User-agent: *\nAllow: /\n" + (f"Sitemap: {sitemap}\n" if sitemap else "")
        self._write_if_changed("robots.txt", robots, result)
        choices = "\n".join(
            f'<li><a href="{code}/index.html" hreflang="{code}" lang="{code}">'
            f"{NAMES[code]}</a></li>"
            for code in LANGUAGES
        )
        alternates = "\n".join(
            f'<link rel="alternate" hreflang="{code}" href="{code}/index.html">'
            for code in LANGUAGES
        )
        home = (
            '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f'<meta http-equiv="Content-Security-Policy" content="{self.csp}">\n'
            "<title>Kurasi · East Java</title>\n"
            f"{alternates}\n"
            "<style>body{font-family:system-ui,sans-serif;margin:2rem;background:#faf7f2}"
            "a{color:#7a3e12;font-size:1.2rem}li{margin:.6rem 0}</style>\n"
            '</head>\n<body>\n<h1>Kurasi · East Java</h1>\n<ul class="languages">\n'
            f"{choices}\n</ul>\n</body>\n</html>\n"
        )
        self._write_if_changed("index.html", home, result)
        self._write_if_changed(SCHEMA_FILE, json.dumps(schema(), indent=2), result)

    def _json_batch(self, fh: Any, batch: list[CatalogueEntry], count: int) -> int:
        links = StaticLinks(0, "")
        for e in batch:
            photos = [
                photo_name(p, "full")
                for p in e.photos
                if (self.out / photo_name(p, "full")).is_file()
            ]
            doc = entry_json(e, photos, rates=self.pages.rates, url=links.detail(e, "en"))
            fh.write((",\n" if count else "") + json.dumps(doc, ensure_ascii=False))
            count += 1
        return count

    async def _json(self, session: AsyncSession, now: datetime, result: BuildResult) -> None:
        """catalogue.json, streamed product by product (flat memory)."""
        path = self.out / "catalogue.json"
        tmp = path.with_suffix(".json.part")
        count = 0
        with tmp.open("w", encoding="utf-8") as fh:
            head = json.dumps(
                {"version": 1, "generated_at": now.isoformat(), "currency": "IDR"},
                ensure_ascii=False,
            )
            fh.write(head[:-1] + ', "products": [\n')
            async for batch in stream_entries(session):
                count = await asyncio.to_thread(self._json_batch, fh, batch, count)
            fh.write("\n]}\n")
        os.replace(tmp, path)
        result.written += 1


def pack(stamp: str, path: str, shas: list[str]) -> str:
    """A product's line in the manifest: one string each (100,000 of them stay in memory
    between builds; fewer objects for the collector to walk)."""
    return f"{stamp}\t{path}\t{','.join(shas)}"


def unpack(entry: str) -> tuple[str, str, list[str]]:
    stamp, path, shas = entry.split("\t")
    return stamp, path, shas.split(",") if shas else []


def stamp_of(entry: str | None) -> str | None:
    return entry.partition("\t")[0] if entry is not None else None


def _fields(e: CatalogueEntry) -> dict[str, Any]:
    return {name: getattr(e, name) for name in CatalogueEntry.__slots__}


def removed_paths(result: BuildResult) -> Iterable[str]:
    return result.removed_files
