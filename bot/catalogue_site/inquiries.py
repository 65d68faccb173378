"""POST /katalog/permintaan: a buyer's inquiry from a detail page (live or static).

Checked and size-capped field by field, tags and control characters removed (no HTML is
kept), a honeypot field that people never see, at most `catalogue.inquiries_per_hour` from
one address (kept as a hash, cleared after a day). A stored inquiry is planned, in the same
transaction, as notifications: to the buyers' desk chat (or every admin) and, when the
producer consented to contact, to the producer on their own channel — the scheduler's
sender delivers them (WhatsApp: the `inquiry` template outside 24 hours).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import structlog
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.catalogue_site.i18n import C_, LANGUAGES, labels, negotiate
from bot.catalogue_site.render import Pages
from db.base import utcnow
from db.inquiries import add_inquiry, product_for_inquiry, sent_since
from db.notifications import admins, plan, to_user
from handlers.features.inquiries import ADMIN_KIND, PRODUCER_KIND

if TYPE_CHECKING:
    from bot.config import CatalogueSettings
    from handlers.kit.context import FlowSettings

log = structlog.get_logger(__name__)

MAX_BODY = 16 * 1024
LIMITS = {"name": 100, "company": 150, "country": 60, "email": 254, "quantity": 60, "message": 2000}
REQUIRED = ("name", "country", "email", "message")
_TAG = re.compile(r"<[^>]*>?")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_EMAIL = re.compile(r"[^@\s<>\"']{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")


MESSAGES = {
    "ok": C_("Thank you. Your inquiry was sent; the export desk answers by e-mail."),
    "missing": C_("Please fill in: {fields}."),
    "long": C_("Too long: {fields}. Please shorten it."),
    "email": C_("Please give a valid e-mail address."),
    "product": C_("This product is not in the catalogue (any more)."),
    "limit": C_("Too many inquiries from your address. Please try again in an hour."),
    "size": C_("The inquiry is too large."),
}
FIELD_LABELS = {
    "name": C_("Your name"),
    "company": C_("Company"),
    "country": C_("Country"),
    "email": C_("E-mail"),
    "quantity": C_("Quantity"),
    "message": C_("Message"),
}


def clean(value: str) -> str:
    """Plain text: tags and control characters out, whitespace runs kept short."""
    text = _CONTROL.sub("", _TAG.sub("", value)).replace("\r\n", "\n").strip()
    return re.sub(r"[ \t]{2,}", " ", text)


@dataclass(frozen=True)
class Checked:
    fields: dict[str, str]
    problem: str | None  # a MESSAGES key
    which: tuple[str, ...] = ()


def check(form: dict[str, str]) -> Checked:
    fields = {k: clean(form.get(k, "")) for k in LIMITS}
    missing = tuple(k for k in REQUIRED if not fields[k])
    if missing:
        return Checked(fields, "missing", missing)
    long = tuple(k for k, n in LIMITS.items() if len(fields[k]) > n)
    if long:
        return Checked(fields, "long", long)
    if not _EMAIL.fullmatch(fields["email"]):
        return Checked(fields, "email")
    return Checked(fields, None)


def source_of(request: web.Request) -> str:
    """The sender's address, hashed. Behind the shipped nginx (a loopback peer) it is the
    X-Real-IP nginx sets; a direct client cannot forge it."""
    peer = request.remote or ""
    if peer in ("127.0.0.1", "::1") and request.headers.get("X-Real-IP"):
        peer = request.headers["X-Real-IP"].strip()[:64]
    return hashlib.sha256(f"kurasi-inquiry|{peer}".encode()).hexdigest()[:40]


class InquiryForm:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        catalogue: CatalogueSettings,
        flow: FlowSettings,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.clock = clock
        self.per_hour = catalogue.inquiries_per_hour
        self.desk_chat = catalogue.inquiry_chat_id.strip()
        self.admin_ids = sorted(flow.admin_ids)
        self.admin_channel = flow.review_channel or "telegram"
        self.pages = Pages()

    def _page(
        self, lang: str, status: int, key: str, back: str | None, **values: str
    ) -> web.Response:
        lbl = labels(lang)
        html = self.pages.thanks(
            lang, ok=status == 200, message=lbl(MESSAGES[key], **values), back=back or ""
        )
        return web.Response(
            text=html,
            status=status,
            content_type="text/html",
            charset="utf-8",
            headers={
                "Cache-Control": "no-store",
                "X-Content-Type-Options": "nosniff",
                "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
            },
        )

    async def handle(self, request: web.Request) -> web.Response:
        lang = negotiate(request.headers.get("Accept-Language"))
        referer = request.headers.get("Referer", "")
        back = referer if re.match(r"https?://", referer) and len(referer) < 500 else None
        if (request.content_length or 0) > MAX_BODY:
            return self._page(lang, 413, "size", back)
        try:
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return self._page(lang, 413, "size", back)
        if len(raw) > MAX_BODY:
            return self._page(lang, 413, "size", back)
        posted = await request.post()
        form = {k: v for k, v in posted.items() if isinstance(v, str)}
        if form.get("lang") in LANGUAGES:
            lang = form["lang"]
        lbl = labels(lang)
        if form.get("website"):  # the honeypot: a bot filled it; say thanks, keep nothing
            log.info("inquiry honeypot")
            return self._page(lang, 200, "ok", back)
        product = form.get("product", "")
        if not product.isdigit() or len(product) > 12:
            return self._page(lang, 404, "product", back)
        checked = check(form)
        if checked.problem:
            names = ", ".join(lbl(FIELD_LABELS[k]) for k in checked.which)
            return self._page(lang, 400, checked.problem, back, fields=names)
        source = source_of(request)
        now = self.clock()
        async with self.sessionmaker() as session, session.begin():
            if (
                await sent_since(session, source=source, since=now - timedelta(hours=1))
                >= self.per_hour
            ):
                return self._page(lang, 429, "limit", back)
            recipient = await product_for_inquiry(session, product_id=int(product))
            if recipient is None:
                return self._page(lang, 404, "product", back)
            f = checked.fields
            inquiry = await add_inquiry(
                session,
                product_id=int(product),
                business_id=recipient.business_id,
                product_name=recipient.product_name,
                buyer_name=f["name"],
                company=f["company"] or None,
                country=f["country"],
                email=f["email"],
                quantity=f["quantity"] or None,
                message=f["message"],
                language=lang,
                source=source,
                now=now,
            )
            payload = {"inquiry_id": inquiry.id}
            if self.desk_chat:
                await plan(
                    session,
                    kind=ADMIN_KIND,
                    dedupe_key=f"inquiry:{inquiry.id}:desk",
                    channel=self.admin_channel,
                    chat_id=self.desk_chat,
                    due_at=now,
                    now=now,
                    subject_id=int(product),
                    payload=payload,
                )
            else:
                known = {
                    u.external_id: u
                    for u in await admins(
                        session, channel=self.admin_channel, external_ids=self.admin_ids
                    )
                }
                for admin_id in self.admin_ids:
                    user = known.get(admin_id)
                    await plan(
                        session,
                        kind=ADMIN_KIND,
                        dedupe_key=f"inquiry:{inquiry.id}:admin:{admin_id}",
                        channel=self.admin_channel,
                        chat_id=admin_id,
                        user_id=user.id if user else None,
                        due_at=now,
                        now=now,
                        subject_id=int(product),
                        payload=payload,
                    )
            if recipient.user is not None:
                await plan(
                    session,
                    kind=PRODUCER_KIND,
                    dedupe_key=f"inquiry:{inquiry.id}:producer",
                    due_at=now,
                    now=now,
                    subject_id=int(product),
                    payload=payload,
                    **to_user(recipient.user),
                )
        log.info("inquiry stored", inquiry=inquiry.id)
        return self._page(lang, 200, "ok", back)
