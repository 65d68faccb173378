"""The export catalogue: `catalogue.json` for the 20-country platform, and the public page.

Shape (version 1) is described by `catalogue.schema.json` beside this file. Only approved
products appear, with public fields only (db.exports.CatalogueEntry); the WhatsApp link only
when the producer agreed to be contacted. Thumbnails are made once and kept on disk.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import shutil
import tempfile
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

import structlog
from aiohttp import web
from jinja2 import Environment, PackageLoader, select_autoescape
from PIL import Image, ImageOps
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.i18n import translator
from db.base import utcnow
from db.exports import CatalogueEntry, catalogue_entries, catalogue_photo
from db.media_store import MediaStore
from db.regions import all_regions
from handlers.i18n import N_
from handlers.kit.labels import LEGAL_LABELS, SECTOR_LABELS

log = structlog.get_logger(__name__)

VERSION = 1
SCHEMA_FILE = "catalogue.schema.json"
MAX_SIDE = 1600  # exported photos
SIZES = {"thumb": 480, "full": 1600}
_PAGE_LIMIT = 200  # products on one page

PAGE_TEXT = {
    "title": N_("Curated products of East Java"),
    "intro": N_("Products of East Java's small businesses, approved by Kurasi's curators."),
    "search": N_("Search by name"),
    "all_sectors": N_("All sectors"),
    "all_regions": N_("All regencies"),
    "filter": N_("Show"),
    "none": N_("No approved products match."),
    "price": N_("Price"),
    "moq": N_("Minimum order"),
    "capacity": N_("Monthly capacity"),
    "grade": N_("Grade"),
    "contact": N_("Contact via WhatsApp"),
}


def schema() -> dict[str, Any]:
    text = resources.files("bot").joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def entry_json(entry: CatalogueEntry, photos: list[str]) -> dict[str, Any]:
    return {
        "id": entry.id,
        "name": entry.name,
        "sector": entry.sector,
        "description": {"id": entry.description_id, "en": entry.description_en},
        "price_idr": entry.price_idr,
        "unit": entry.unit,
        "min_order": entry.min_order,
        "monthly_capacity": entry.monthly_capacity,
        "certifications": entry.certifications,
        "grade": entry.grade,
        "approved_at": entry.approved_at.isoformat() if entry.approved_at else None,
        "business": {
            "name": entry.business_name,
            "regency_code": entry.regency_code,
            "regency": entry.regency,
        },
        "contact": {"whatsapp": entry.whatsapp} if entry.whatsapp else None,
        "photos": photos,
    }


def document(
    entries: list[CatalogueEntry], photos: dict[int, list[str]], now: datetime
) -> dict[str, Any]:
    return {
        "version": VERSION,
        "generated_at": now.isoformat(),
        "currency": "IDR",
        "products": [entry_json(e, photos.get(e.id, [])) for e in entries],
    }


def resize(data: bytes, max_side: int) -> bytes:
    """A JPEG no larger than `max_side` on its longer side, turned upright."""
    with Image.open(io.BytesIO(data)) as original:
        original.draft("RGB", (max_side, max_side))  # JPEG: decode at a reduced scale
        img = ImageOps.exif_transpose(original).convert("RGB")
        img.thumbnail((max_side, max_side))
        out = io.BytesIO()
        img.save(out, "JPEG", quality=85, optimize=True, progressive=True)
        return out.getvalue()


async def write_catalogue(
    session: AsyncSession, store: MediaStore, out: Path, *, now: datetime
) -> int:
    """catalogue.json, its schema and photos/ in `out`; returns the number of products."""
    entries = await catalogue_entries(session)
    photo_dir = out / "photos"
    photo_dir.mkdir(parents=True, exist_ok=True)
    names: dict[int, list[str]] = {}
    for entry in entries:
        names[entry.id] = []
        for photo in entry.photos:
            name = f"{entry.id}-{photo.position}.jpg"
            try:
                data = await asyncio.to_thread(store.read, photo.store_key)
            except FileNotFoundError:
                log.warning("catalogue photo missing", photo=photo.id)
                continue
            small = await asyncio.to_thread(resize, data, MAX_SIDE)
            await asyncio.to_thread((photo_dir / name).write_bytes, small)
            names[entry.id].append(f"photos/{name}")
    doc = document(entries, names, now)
    (out / "catalogue.json").write_text(
        json.dumps(doc, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    (out / SCHEMA_FILE).write_text(json.dumps(schema(), indent=2), encoding="utf-8")
    return len(entries)


# --- the public page --------------------------------------------------------------------


class Catalogue:
    """Routes /katalog, /katalog.json and /katalog/foto/{id}-{size}.jpg on the HTTP app."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        store: MediaStore,
        thumbs: Path,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.store = store
        self.thumbs = thumbs
        self.env = Environment(
            loader=PackageLoader("bot", "templates"),
            autoescape=select_autoescape(["html"]),
            enable_async=False,
        )
        self._locks: dict[str, asyncio.Lock] = {}

    def register(self, app: web.Application) -> None:
        app.router.add_get("/katalog", self.page)
        app.router.add_get("/katalog.json", self.json)
        app.router.add_get(r"/katalog/foto/{photo_id:\d{1,12}}-{size:thumb|full}.jpg", self.photo)

    async def _entries(self, request: web.Request) -> tuple[list[CatalogueEntry], dict[str, str]]:
        q = request.query
        filters = {
            "sector": q.get("sektor", q.get("sector", "")).strip()[:16],
            "region": q.get("wilayah", q.get("region", "")).strip()[:8],
            "q": q.get("q", "").strip()[:100],
        }
        async with self.sessionmaker() as session:
            entries = await catalogue_entries(
                session,
                sector=filters["sector"] or None,
                region_code=filters["region"] or None,
                query=filters["q"] or None,
                limit=_PAGE_LIMIT,
            )
        return entries, filters

    @staticmethod
    def _photo_urls(entry: CatalogueEntry, size: str) -> list[str]:
        return [f"/katalog/foto/{p.id}-{size}.jpg" for p in entry.photos]

    async def json(self, request: web.Request) -> web.Response:
        entries, _filters = await self._entries(request)
        doc = document(entries, {e.id: self._photo_urls(e, "full") for e in entries}, utcnow())
        return web.json_response(doc, headers={"Cache-Control": "public, max-age=300"})

    async def page(self, request: web.Request) -> web.Response:
        entries, filters = await self._entries(request)
        lang = "en" if request.query.get("lang") == "en" else "id"
        t = translator(lang)
        html = self.env.get_template("katalog.html").render(
            entries=entries,
            filters=filters,
            lang=lang,
            text={k: t(v) for k, v in PAGE_TEXT.items()},
            sector_label=lambda code: t(SECTOR_LABELS.get(code, SECTOR_LABELS["other"])),
            sectors=[(code, t(label)) for code, label in SECTOR_LABELS.items()],
            regions=[(r.code, r.label) for r in all_regions()],
            legal=lambda code: t(LEGAL_LABELS.get(code) or str(code)),
            thumb=lambda e: self._photo_urls(e, "thumb"),
            full=lambda e: self._photo_urls(e, "full"),
            rupiah=lambda n: f"Rp {n:,}".replace(",", ".") if n is not None else "—",
        )
        return web.Response(
            text=html,
            content_type="text/html",
            charset="utf-8",
            headers={"Cache-Control": "public, max-age=300"},
        )

    async def photo(self, request: web.Request) -> web.StreamResponse:
        photo_id = int(request.match_info["photo_id"])
        size = request.match_info["size"]
        async with self.sessionmaker() as session:
            photo = await catalogue_photo(session, photo_id=photo_id)
        if photo is None:
            raise web.HTTPNotFound()
        path = self.thumbs / f"{photo.sha256}-{SIZES[size]}.jpg"
        if not path.is_file():
            lock = self._locks.setdefault(path.name, asyncio.Lock())
            async with lock:  # made once, even when many phones ask at the same moment
                if not path.is_file():
                    try:
                        await asyncio.to_thread(self._make, photo.store_key, path, SIZES[size])
                    except FileNotFoundError:
                        raise web.HTTPNotFound() from None
            self._locks.pop(path.name, None)
        return web.FileResponse(
            path, headers={"Cache-Control": "public, max-age=86400", "Content-Type": "image/jpeg"}
        )

    def _make(self, store_key: str, path: Path, side: int) -> None:
        data = resize(self.store.read(store_key), side)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".part")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        shutil.move(tmp, path)  # atomic on one filesystem: a reader never sees half a file
