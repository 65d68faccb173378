"""The admins' web dashboard on the HTTP app: /dasbor (overview), /dasbor/klaster,
/dasbor/kurator, /dasbor/ekspor, in Indonesian and English, for a laptop and a phone.

Access: the bot's /dasbor (handlers/features/dashboard.py) gives an admin a single-use link
valid for minutes. Opening it shows a sign-in button (a link preview that fetches the address uses
nothing); pressing it redeems the link once and sets a session cookie (HttpOnly,
SameSite=Lax, Secure behind TLS, path /dasbor). Anyone else — no cookie, a forged, expired or
used link, a person no longer admin — gets the same bare 403 page.

Figures and charts are computed once per scheduler tick per filter and language (a small
in-memory cache), charts server-rendered by bot/charts.py in a worker thread: the page
fetches nothing from outside.
"""

from __future__ import annotations

import asyncio
import csv
import io
import tempfile
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from aiohttp import web
from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import charts
from bot.dashboard.text import TEXT
from bot.i18n import translator
from db.audit import audit_personal_export
from db.base import utcnow
from db.businesses import SECTORS
from db.dashboard import close_session, open_session, redeem_link, session_user
from db.exports import (
    MIME,
    WHATS,
    Format,
    Style,
    What,
    filename,
    write_export,
)
from db.models import DashboardToken, ProductStatus, User
from db.regions import all_regions, get_region
from db.stats import (
    AGE_BUCKETS,
    Scope,
    backlog_by_age,
    curator_activity,
    decision_times,
    funnel,
    matrix,
)
from handlers.features.export.labels import FilterError, parse_filters, presenter
from handlers.features.stats import day_month, duration
from handlers.kit.context import LANGUAGES, FlowSettings, Translate
from handlers.kit.labels import SECTOR_LABELS, STATUS_LABELS

log = structlog.get_logger(__name__)

COOKIE = "kurasi_dasbor"
LANG_COOKIE = "kurasi_lang"
PAGES = ("overview", "clusters", "curators", "exports")
PATHS = {
    "overview": "/dasbor",
    "clusters": "/dasbor/klaster",
    "curators": "/dasbor/kurator",
    "exports": "/dasbor/ekspor",
}
CHART_NAMES = ("tiles", "sectors", "matrix", "funnel", "ages", "times")
EXPORT_FILES: dict[str, tuple[Format, str]] = {
    "xlsx": ("xlsx", ","),
    "csv": ("csv", ";"),
    "csv-comma": ("csv", ","),
}
FORBIDDEN = (
    "<!doctype html><html><head><meta charset='utf-8'><title>403</title></head>"
    "<body><h1>403 Forbidden</h1></body></html>"
)
_CACHE_SIZE = 128
_SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    # Nothing from elsewhere: styles inline, images from this server.
    "Content-Security-Policy": (
        "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
}


def forbidden() -> web.Response:
    return web.Response(
        status=403, text=FORBIDDEN, content_type="text/html", headers=_SECURITY_HEADERS
    )


class Dashboard:
    """Routes /dasbor… on the HTTP app (config dashboard.enabled)."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: FlowSettings,
        *,
        session_hours: int = 12,
        tick_seconds: float = 60.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.settings = settings
        self.session_ttl = timedelta(hours=session_hours)
        self.tick_seconds = max(1.0, tick_seconds)
        self.clock = clock
        self.zone = ZoneInfo(settings.timezone)
        self.env = Environment(
            loader=PackageLoader("bot.dashboard", "templates"),
            autoescape=select_autoescape(["html"]),
            enable_async=False,
        )
        self._cache: OrderedDict[tuple[Any, ...], tuple[int, Any]] = OrderedDict()
        self._locks: dict[tuple[Any, ...], asyncio.Lock] = {}
        self._warming: asyncio.Task[None] | None = None

    def register(self, app: web.Application) -> None:
        app.router.add_get("/dasbor/masuk", self.login_page)
        app.router.add_post("/dasbor/masuk", self.login)
        app.router.add_post("/dasbor/keluar", self.logout)
        app.router.add_get("/dasbor", self.page("overview"))
        app.router.add_get("/dasbor/klaster", self.page("clusters"))
        app.router.add_get("/dasbor/kurator", self.page("curators"))
        app.router.add_get("/dasbor/ekspor", self.page("exports"))
        app.router.add_get("/dasbor/klaster.csv", self.matrix_csv)
        app.router.add_get("/dasbor/ekspor/unduh", self.download)
        app.router.add_get(r"/dasbor/grafik/{name:[a-z]{1,12}}.png", self.chart)
        app.on_startup.append(self._start_warming)
        app.on_cleanup.append(self._stop_warming)

    async def _start_warming(self, _app: web.Application) -> None:
        self._warming = asyncio.create_task(self._warm())

    async def _stop_warming(self, _app: web.Application) -> None:
        if self._warming is not None:
            self._warming.cancel()
            await asyncio.gather(self._warming, return_exceptions=True)

    async def _warm(self) -> None:
        """The unfiltered figures, computed at each tick before anyone asks (at 100,000
        producers they take seconds); a page asked meanwhile gets the last tick's."""
        while True:
            try:
                await self._figures(Scope())
            except Exception:
                log.warning("dashboard figures failed", exc_info=True)
            await asyncio.sleep(self.tick_seconds - self.clock().timestamp() % self.tick_seconds)

    # --- access ---------------------------------------------------------------------

    def _is_admin(self, user: User) -> bool:
        return user.is_admin or (
            user.channel == self.settings.review_channel
            and user.external_id in self.settings.admin_ids
        )

    async def _viewer(self, request: web.Request) -> User | None:
        secret = request.cookies.get(COOKIE, "")
        if not secret:
            return None
        async with self.sessionmaker() as session:
            user = await session_user(session, secret=secret, now=self.clock())
        return user if user is not None and self._is_admin(user) else None

    @staticmethod
    def _secure(request: web.Request) -> bool:
        return request.secure or request.headers.get("X-Forwarded-Proto", "") == "https"

    async def _valid_link(self, secret: str) -> bool:
        from sqlalchemy import select

        from db.dashboard import LINK, _digest

        if not secret or len(secret) > 128:
            return False
        async with self.sessionmaker() as session:
            found = await session.scalar(
                select(DashboardToken.user_id).where(
                    DashboardToken.kind == LINK,
                    DashboardToken.token_sha256 == _digest(secret),
                    DashboardToken.used_at.is_(None),
                    DashboardToken.expires_at > self.clock(),
                )
            )
        return found is not None

    async def login_page(self, request: web.Request) -> web.Response:
        """The link's page: a button that signs in (a preview fetching the link uses nothing)."""
        secret = request.query.get("t", "")
        if not await self._valid_link(secret):
            return forbidden()
        lang = self._lang(request, None)
        t = translator(lang)
        html = self.env.get_template("login.html").render(
            lang=lang, text={k: t(v) for k, v in TEXT.items()}, secret=secret
        )
        return web.Response(
            text=html, content_type="text/html", charset="utf-8", headers=_SECURITY_HEADERS
        )

    async def login(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        secret = str(form.get("t", ""))[:200]
        now = self.clock()
        async with self.sessionmaker() as session, session.begin():
            user_id = await redeem_link(session, secret=secret, now=now)
            user = await session.get(User, user_id) if user_id is not None else None
            if user is None or not self._is_admin(user):
                return forbidden()
            cookie = await open_session(session, user_id=user.id, now=now, ttl=self.session_ttl)
            lang = user.language if user.language in LANGUAGES else "id"
        log.info("dashboard sign-in", user_id=user_id)
        response = web.HTTPSeeOther(f"/dasbor?lang={lang}")
        response.set_cookie(
            COOKIE,
            cookie,
            max_age=int(self.session_ttl.total_seconds()),
            path="/dasbor",
            httponly=True,
            secure=self._secure(request),
            samesite="Lax",
        )
        raise response

    async def logout(self, request: web.Request) -> web.StreamResponse:
        secret = request.cookies.get(COOKIE, "")
        if secret:
            async with self.sessionmaker() as session, session.begin():
                await close_session(session, secret=secret)
        response = web.HTTPSeeOther("/dasbor/masuk")
        response.del_cookie(COOKIE, path="/dasbor")
        raise response

    # --- filters and cache ------------------------------------------------------------

    def _lang(self, request: web.Request, user: User | None) -> str:
        asked = request.query.get("lang") or request.cookies.get(LANG_COOKIE, "")
        if asked in LANGUAGES:
            return asked
        if user is not None and user.language in LANGUAGES:
            return user.language
        return "id"

    @staticmethod
    def _scope(request: web.Request) -> tuple[Scope, str | None, str | None]:
        sector = request.query.get("sektor", "")
        region = request.query.get("wilayah", "")
        sector_ok = sector if sector in SECTORS else None
        found = get_region(region) if region else None
        region_ok = found.code if found else None
        return (
            Scope(
                sectors=(sector_ok,) if sector_ok else (),
                regions=(region_ok,) if region_ok else (),
            ),
            sector_ok,
            region_ok,
        )

    @staticmethod
    def _metric(request: web.Request) -> str:
        metric = request.query.get("ukuran", "producers")
        return metric if metric in charts.METRICS else "producers"

    def _tick(self) -> int:
        return int(self.clock().timestamp() // self.tick_seconds)

    async def _cached(self, key: tuple[Any, ...], make: Callable[[], Awaitable[Any]]) -> Any:
        """`make()`'s value, computed once per tick for `key` (concurrent askers wait)."""
        tick = self._tick()
        hit = self._cache.get(key)
        if hit is not None and hit[0] == tick:
            self._cache.move_to_end(key)
            return hit[1]
        lock = self._locks.setdefault(key, asyncio.Lock())
        if hit is not None and lock.locked():
            return hit[1]  # being refreshed: the last tick's figures meanwhile
        async with lock:
            hit = self._cache.get(key)
            if hit is not None and hit[0] == tick:
                return hit[1]
            value = await make()
            self._cache[key] = (tick, value)
            self._cache.move_to_end(key)
            while len(self._cache) > _CACHE_SIZE:
                old, _ = self._cache.popitem(last=False)
                self._locks.pop(old, None)
            return value

    async def _figures(self, scope: Scope) -> dict[str, Any]:
        async def make() -> dict[str, Any]:
            now = self.clock()
            offset = int((now.astimezone(self.zone).utcoffset() or timedelta()).total_seconds())
            offset_hours = offset // 3600
            async with self.sessionmaker() as session:
                cells = await matrix(session, now=now, scope=scope)
                return {
                    "now": now,
                    "cells": cells,
                    "funnel_sector": await funnel(session, by="sector", scope=scope),
                    "funnel_region": await funnel(session, by="region", scope=scope),
                    "ages": await backlog_by_age(session, now=now, scope=scope),
                    "times_sector": await decision_times(
                        session,
                        by="sector",
                        since=now - timedelta(days=90),
                        offset_hours=offset_hours,
                        scope=scope,
                    ),
                    "times_week": await decision_times(
                        session,
                        by="week",
                        since=now - timedelta(weeks=8),
                        offset_hours=offset_hours,
                        scope=scope,
                    ),
                    "curators": await curator_activity(
                        session,
                        since=now - timedelta(weeks=4),
                        until=now,
                        offset_hours=offset_hours,
                    ),
                }

        figures: dict[str, Any] = await self._cached(("figures", scope), make)
        return figures

    # --- pages ------------------------------------------------------------------------

    def page(self, name: str) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def handle(request: web.Request) -> web.StreamResponse:
            user = await self._viewer(request)
            if user is None:
                return forbidden()
            lang = self._lang(request, user)
            t = translator(lang)
            scope, sector, region = self._scope(request)
            metric = self._metric(request)
            figures = await self._figures(scope)
            html = self.env.get_template(f"{name}.html").render(
                **self._context(name, t, lang, figures, sector, region, metric, request)
            )
            response = web.Response(
                text=html, content_type="text/html", charset="utf-8", headers=_SECURITY_HEADERS
            )
            if request.query.get("lang") in LANGUAGES:
                response.set_cookie(
                    LANG_COOKIE,
                    lang,
                    path="/dasbor",
                    httponly=True,
                    samesite="Lax",
                    secure=self._secure(request),
                    max_age=365 * 86400,
                )
            return response

        return handle

    def _context(
        self,
        name: str,
        t: Translate,
        lang: str,
        figures: dict[str, Any],
        sector: str | None,
        region: str | None,
        metric: str,
        request: web.Request,
    ) -> dict[str, Any]:
        cells = figures["cells"]
        regions, sectors, grid = charts.matrix_table(cells, metric)
        query = {"lang": lang, "sektor": sector or "", "wilayah": region or "", "ukuran": metric}
        chart_query = "&".join(f"{k}={v}" for k, v in query.items() if v)
        other = "en" if lang == "id" else "id"
        local_now = figures["now"].astimezone(self.zone)
        totals = {
            "producers": sum(c.producers for c in cells),
            "products": sum(c.products for c in cells),
            "waiting": sum(c.waiting for c in cells),
            "approved": sum(c.approved for c in cells),
        }
        return {
            "page": name,
            "lang": lang,
            "other_lang": other,
            "text": {k: t(v) for k, v in TEXT.items()},
            "paths": PATHS,
            "pages": [(p, PATHS[p], t(TEXT[p])) for p in PAGES],
            "query": query,
            "chart_query": chart_query,
            "switch_query": chart_query.replace(f"lang={lang}", f"lang={other}"),
            "updated": local_now.strftime("%d/%m/%Y %H:%M") + " WIB",
            "totals": totals,
            "sectors": [(s, t(SECTOR_LABELS[s])) for s in SECTORS],
            "regions": [(r.code, charts.regency_label(r.code)) for r in all_regions()],
            "metrics": [(k, t(v)) for k, v in charts.METRICS.items()],
            "sector": sector,
            "region": region,
            "metric": metric,
            "matrix": [
                (
                    charts.regency_label(r.code),
                    r.code,
                    [int(v) if metric != "age" else round(v, 1) for v in row],
                    int(sum(row)) if metric != "age" else round(max(row, default=0), 1),
                )
                for r, row in zip(regions, grid, strict=True)
            ],
            "matrix_sectors": [t(SECTOR_LABELS[s]) for s in sectors],
            "funnel_sector": [
                (t(SECTOR_LABELS.get(f.key, SECTOR_LABELS["other"])), f)
                for f in figures["funnel_sector"]
            ],
            "funnel_region": [(charts.regency_label(f.key), f) for f in figures["funnel_region"]],
            "ages": [(k, figures["ages"].get(k, 0)) for k, _ in AGE_BUCKETS],
            "age_labels": {
                "<1d": t("under 1 day"),
                "1-3d": t("1–3 days"),
                "3-7d": t("3–7 days"),
                "7-14d": t("7–14 days"),
                ">14d": t("over 14 days"),
            },
            "times_sector": [
                (t(SECTOR_LABELS.get(k, SECTOR_LABELS["other"])), v)
                for k, v in figures["times_sector"].items()
            ],
            "times_week": [
                (day_month(t, datetime.fromisoformat(k).date()), v)
                for k, v in figures["times_week"].items()
            ],
            "curators": figures["curators"],
            "week_label": lambda d: day_month(t, d),
            "duration": lambda s: duration(t, s),
            "statuses": [(s.value, t(STATUS_LABELS[s])) for s in ProductStatus],
            "whats": [
                ("businesses", t(TEXT["businesses"])),
                ("products", t(TEXT["products_export"])),
                ("reviews", t(TEXT["reviews"])),
            ],
            "error": request.query.get("error", "")[:200],
        }

    # --- charts and files ---------------------------------------------------------------

    async def chart(self, request: web.Request) -> web.StreamResponse:
        user = await self._viewer(request)
        if user is None:
            return forbidden()
        name = request.match_info["name"]
        if name not in CHART_NAMES:
            raise web.HTTPNotFound()
        lang = self._lang(request, user)
        scope, sector, _region = self._scope(request)
        metric = self._metric(request)
        figures = await self._figures(scope)
        t = translator(lang)

        def draw() -> bytes:
            cells = figures["cells"]
            if name == "tiles":
                return charts.draw_tiles(cells, metric, t, sector=sector)
            if name == "sectors":
                return charts.draw_sector_tiles(cells, metric, t)
            if name == "matrix":
                return charts.draw_matrix(cells, metric, t)
            if name == "funnel":
                return charts.draw_funnel(figures["funnel_sector"], t)
            if name == "ages":
                return charts.draw_ages(figures["ages"], t)
            return charts.draw_times(figures["times_week"], t)

        async def make() -> bytes:
            return await asyncio.to_thread(draw)  # matplotlib never on the event loop

        png: bytes = await self._cached(("chart", name, lang, scope, metric, sector), make)
        return web.Response(
            body=png,
            content_type="image/png",
            headers={"Cache-Control": "private, max-age=60", "X-Content-Type-Options": "nosniff"},
        )

    async def matrix_csv(self, request: web.Request) -> web.StreamResponse:
        """The 38 × sector table as shown, for a spreadsheet (';', labels in the viewer's
        language)."""
        user = await self._viewer(request)
        if user is None:
            return forbidden()
        t = translator(self._lang(request, user))
        scope, _sector, _region = self._scope(request)
        metric = self._metric(request)
        figures = await self._figures(scope)
        regions, sectors, grid = charts.matrix_table(figures["cells"], metric)
        buf = io.StringIO()
        writer = csv.writer(buf, delimiter=";")
        writer.writerow(
            [
                t(TEXT["regency"]),
                *(t(SECTOR_LABELS[s]) for s in sectors),
                t(TEXT["total"]),
            ]
        )
        for region, row in zip(regions, grid, strict=True):
            writer.writerow(
                [charts.regency_label(region.code), *(f"{v:g}" for v in row), f"{sum(row):g}"]
            )
        return web.Response(
            body=buf.getvalue().encode("utf-8-sig"),
            content_type="text/csv",
            charset="utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="kurasi-matrix-{metric}.csv"',
                "Cache-Control": "no-store",
            },
        )

    async def download(self, request: web.Request) -> web.StreamResponse:
        """An export with the page's filters, streamed from a temporary file."""
        user = await self._viewer(request)
        if user is None:
            return forbidden()
        lang = self._lang(request, user)
        t = translator(lang)
        q = request.query
        asked = q.get("apa", "products")
        kind = q.get("format", "xlsx")
        if asked not in WHATS or kind not in EXPORT_FILES:
            raise web.HTTPBadRequest(text=t("That export does not exist."))
        what: What = asked
        personal = q.get("pribadi") == "1" and what == "businesses"
        words = [
            *([f"sector:{q['sektor']}"] if q.get("sektor") else []),
            *([f"regency:{q['wilayah']}"] if q.get("wilayah") else []),
            *([f"status:{q['status']}"] if q.get("status") else []),
            *([f"from:{q['dari']}"] if q.get("dari") else []),
            *([f"to:{q['sampai']}"] if q.get("sampai") else []),
        ]
        try:
            typed = parse_filters([w[:60] for w in words], what)
        except FilterError as exc:
            raise web.HTTPBadRequest(text=t(exc.msgid, value=exc.value)) from None
        fmt, delimiter = EXPORT_FILES[kind]
        filters = typed.filters(self.settings.timezone)
        now = self.clock()
        name = filename(what, fmt, today=now.astimezone(self.zone).date(), phones=personal)
        if personal:
            async with self.sessionmaker() as session, session.begin():
                await audit_personal_export(
                    session,
                    actor_user_id=user.id,
                    person=f"dashboard {user.channel} admin {user.external_id}",
                    what=what,
                    filters=filters,
                    now=now,
                )
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / name
            async with self.sessionmaker() as session:
                with path.open("wb") as fh:
                    await write_export(
                        session,
                        what=what,
                        fmt=fmt,
                        out=fh,
                        phones=personal,
                        filters=filters,
                        style=Style(
                            timezone=self.settings.timezone,
                            presenter=presenter(t),
                            delimiter=delimiter,
                        ),
                    )
            response = web.StreamResponse(
                headers={
                    "Content-Type": MIME[fmt],
                    "Content-Disposition": f'attachment; filename="{name}"',
                    "Content-Length": str(path.stat().st_size),
                    "Cache-Control": "no-store",
                }
            )
            await response.prepare(request)
            with path.open("rb") as fh:
                while chunk := await asyncio.to_thread(fh.read, 256 * 1024):
                    await response.write(chunk)
            await response.write_eof()
            return response
