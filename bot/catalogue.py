"""The export catalogue: `kurasi export catalogue --out DIR` and the live pages.

The pages and the static site live in bot/catalogue_site/; this module keeps the names the
command line and the app have always used.
"""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from bot.catalogue_site.live import Catalogue
from bot.catalogue_site.photos import MAX_SIDE, SIZES, resize
from bot.catalogue_site.render import Pages, Rates
from bot.catalogue_site.static import SCHEMA_FILE, BuildResult, Site, schema
from db.media_store import MediaStore

if TYPE_CHECKING:
    from bot.config import CatalogueSettings

__all__ = [
    "MAX_SIDE",
    "SCHEMA_FILE",
    "SIZES",
    "Catalogue",
    "resize",
    "schema",
    "write_catalogue",
]


def rates(settings: CatalogueSettings) -> Rates:
    c = settings.currencies
    per_unit = {k: v for k, v in (("USD", c.USD), ("JPY", c.JPY), ("CNY", c.CNY)) if v}
    return Rates(date=c.date, per_unit=per_unit)


def site(settings: CatalogueSettings, out: Path, store: MediaStore, thumbs: Path) -> Site:
    return Site(
        out,
        store,
        thumbs,
        Pages(rates(settings)),
        per_page=settings.per_page,
        public_url=settings.public_url,
        site_url=settings.site_url,
    )


async def write_catalogue(
    session: AsyncSession,
    store: MediaStore,
    out: Path,
    *,
    now: datetime,
    settings: CatalogueSettings | None = None,
    thumbs: Path | None = None,
    full: bool = False,
) -> int:
    """The static site with catalogue.json in `out`; returns the number of products. A folder
    built before is brought up to date (pages and photos no longer listed are removed)."""
    from bot.config import CatalogueSettings

    config = settings or CatalogueSettings()
    if thumbs is not None:
        builder = site(config, out, store, thumbs)
        result = await builder.build(session, now=now, full=full, write_json=True)
        return result.products
    with tempfile.TemporaryDirectory(prefix="kurasi-sizes-") as tmp:
        result = await site(config, out, store, Path(tmp)).build(session, now=now, full=True)
    return result.products


async def build_site(
    session: AsyncSession, builder: Site, *, now: datetime, full: bool = False
) -> BuildResult:
    return await builder.build(session, now=now, full=full)
