"""WhatsApp Cloud API through pywa's async client: webhooks in, normalized events to the runtime,
replies rendered within WhatsApp's limits out.

WhatsApp differs from Telegram in what a message can carry (3 reply buttons, lists of 10 rows, no
edits, 1024 characters beside buttons) and in who may be written to (only within 24 hours of the
person's last message, otherwise approved templates). This module keeps those rules at the edge.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import structlog
from aiohttp import web
from aiolimiter import AsyncLimiter
from pywa.errors import (
    MessageUndeliverable,
    RateLimitHit,
    ReEngagementMessage,
    WhatsAppError,
)
from pywa_async import WhatsApp
from pywa_async.types import Button, Section, SectionList, SectionRow
from pywa_async.types.sent_update import SentMessage
from pywa_async.types.templates import TemplateLanguage

from bot.budget import SLOT_TAKEN, shared_budget
from bot.channels.base import (
    Announced,
    Announcement,
    Notice,
    RateLimited,
    Rejected,
    TemporaryFailure,
    Undeliverable,
    WindowClosed,
)
from bot.channels.whatsapp_inbox import InboxClaim, InboxWorkers
from bot.channels.whatsapp_messages import (  # noqa: F401 - this channel's message shapes
    LIST_LABEL,
    NAME,
    Malformed,
    Outgoing,
    check_webhook,
    event,
    fitted,
    inbound,
    incoming,
    parse_webhook,
    render,
    split_text,
    statuses,
    stored_incoming,
)
from bot.metrics import WHATSAPP_STATUSES
from bot.outbound import requeue
from bot.runtime import Kurasi
from db.engine import is_transient
from db.inbox import Stored, store
from db.outbox import release_held
from db.whatsapp import (
    record_sent,
    record_status,
    release_waiting,
    reopen_for_template,
    window_opened,
)
from handlers.kit import events
from handlers.kit.capabilities import WHATSAPP

log = structlog.get_logger(__name__)

GRAPH_API = "https://graph.facebook.com"
WEBHOOK_LIMIT = 1024 * 1024  # bytes of one webhook body
DOWNLOAD_LIMIT = 100 * 1024 * 1024  # Meta's largest media (documents)
WINDOW = timedelta(hours=24)  # free-form messages only this long after the person's last one
T = TypeVar("T")


class OutsideWindow(WindowClosed):
    """Meta refused a free-form message: the person has not written within 24 hours (131047)."""


# Graph error codes by what the sender does about them (bot.outbound).
THROTTLED = {130429: 1.0, 4: 60.0, 80007: 60.0, 133016: 60.0}  # the number's budget waits
PAIR_RATE = {131056: 6.0, 131048: 60.0}  # too many to this one person: only they wait
GONE = {131026, 131051, 131030, 131021, 131050, 131062}  # the recipient cannot be reached
TRANSIENT = {1, 2, 131000, 131016, 131057, 135000}


def translate(exc: WhatsAppError | httpx.HTTPError) -> Exception:
    """A Graph API failure as one of the outbound classes (bot.channels.base)."""
    if isinstance(exc, httpx.HTTPError):
        return TemporaryFailure(type(exc).__name__)
    code = int(exc.code) if isinstance(exc.code, int) else -1
    status = exc.status_code
    if code in THROTTLED or (status == 429 and code not in PAIR_RATE):
        return RateLimited(THROTTLED.get(code, 2.0))
    if code in PAIR_RATE:
        return RateLimited(PAIR_RATE[code], chat=True)
    if code == 131047:
        return OutsideWindow(str(code))
    if code in GONE:
        return Undeliverable(str(code))
    if exc.is_transient or code in TRANSIENT or (status is not None and status >= 500):
        return TemporaryFailure(f"{code}: {exc.message}"[:200])
    if status in (401, 403) or code == 190:
        return TemporaryFailure(f"{code}: not authorized")  # a token to fix, not a lost message
    return Rejected(f"{code}: {exc.message}"[:200])


@dataclass(frozen=True, slots=True)
class Template:
    """An approved template for one notification kind; `parameters` name the values that fill
    {{1}}, {{2}} ... of its body, in order."""

    name: str
    language: str = "id"
    parameters: tuple[str, ...] = ()


# --- the client -----------------------------------------------------------------------


class _Rebase(httpx.AsyncBaseTransport):
    """Sends pywa's Graph API calls to another origin (the fake server in tests)."""

    def __init__(self, base: str) -> None:
        self.base = httpx.URL(base)
        self.inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == "graph.facebook.com":
            request.url = request.url.copy_with(
                scheme=self.base.scheme, host=self.base.host, port=self.base.port
            )
            request.headers["Host"] = request.url.netloc.decode()
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def make_client(
    *, phone_number_id: str, token: str, api_version: str, graph_api_base: str = GRAPH_API
) -> tuple[WhatsApp, httpx.AsyncClient]:
    """pywa's async client and the HTTP session it uses (closed by the channel)."""
    transport = None if graph_api_base.rstrip("/") == GRAPH_API else _Rebase(graph_api_base)
    session = httpx.AsyncClient(timeout=httpx.Timeout(30.0), transport=transport)
    client = WhatsApp(
        phone_id=phone_number_id,
        token=token,
        session=session,
        api_version=api_version,
        validate_updates=False,  # the HTTP route checks the signature itself
    )
    return client, session


# --- the channel ----------------------------------------------------------------------


class WhatsAppChannel:
    name = NAME
    capabilities = WHATSAPP

    def __init__(
        self,
        app: Kurasi,
        client: WhatsApp,
        session: httpx.AsyncClient,
        *,
        app_secret: str,
        verify_token: str,
        messages_per_second: int = 80,
        templates: dict[str, Template] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        workers: int = 10,
    ) -> None:
        self.app = app
        self.client = client
        self.session = session
        self._app_secret = app_secret
        self._verify_token = verify_token
        self.templates = templates or {}
        self.sleep = sleep
        # Told after a person wrote and notifications held for them were released (the
        # notifier sends them at once).
        self.after_inbound: Callable[[], Awaitable[Any]] | None = None
        # Sends what a person's message released, before that message is answered.
        self.send_released: Callable[[str], Awaitable[Any]] | None = None
        self.broadcast_language = "id"
        # The number's ceiling, one budget for replies, notices and broadcasts alike.
        phone = str(getattr(client, "phone_id", "") or "number")
        self.budget = shared_budget(app.sessionmaker, f"whatsapp:{phone}", messages_per_second)
        self.limiter = AsyncLimiter(messages_per_second, 1)  # reads (media, marks) only
        # Told when a status webhook reopened a notification (its window closed later).
        self.after_reopen: Callable[[], Any] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        # Stored messages are handled by a bounded pool, one at a time per sender; storing
        # is held to a few at once (each a short insert) before a connection is asked for.
        self._storing = asyncio.Semaphore(max(2, workers // 2))
        self._arriving = 0  # webhooks past the signature check, not answered yet
        self.inbox = InboxWorkers(
            app.sessionmaker,
            self._handle_stored,
            workers=workers,
            pressure=lambda: self._arriving > workers,
        )
        self._newest: dict[str, str] = {}  # sender -> their newest message stored here
        app.add_channel(self)

    # --- HTTP ---------------------------------------------------------------------------

    async def verify(self, request: web.Request) -> web.Response:
        """Meta's subscription check: echo hub.challenge when the verify token matches."""
        query = request.query
        token = query.get("hub.verify_token", "")
        ok = query.get("hub.mode") == "subscribe" and bool(self._verify_token)
        if not ok or not _same(token, self._verify_token):
            log.warning("whatsapp webhook verification refused")
            return web.Response(status=403, text="Forbidden")
        return web.Response(text=query.get("hub.challenge", ""))

    async def receive(self, request: web.Request) -> web.Response:
        """A signed webhook: checked, its messages stored, then acknowledged (200).

        Meta redelivers anything not answered 200, so nothing is answered before it is in
        the database: a crash after that loses nothing, the inbox's workers handle it.
        """
        if request.content_length is not None and request.content_length > WEBHOOK_LIMIT:
            return web.Response(status=413, text="Payload Too Large")
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return web.Response(status=413, text="Payload Too Large")
        if len(body) > WEBHOOK_LIMIT:
            return web.Response(status=413, text="Payload Too Large")
        if not self._signed(body, request.headers.get("X-Hub-Signature-256", "")):
            log.warning("whatsapp webhook with a missing or wrong signature refused")
            return web.Response(status=401, text="Unauthorized")
        try:
            payload = json.loads(body)
            check_webhook(payload)
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            # Malformed is a ValueError too. Meta never sends these; a 5xx would make it
            # retry what can never be read. No body in the log: it may hold personal data.
            where = str(exc) if isinstance(exc, Malformed) else "not JSON"
            log.warning("whatsapp webhook body refused", reason=where[:200], size=len(body))
            return web.Response(status=400, text="Bad Request")
        self._arriving += 1
        try:
            await self.accept(payload)
        except Exception as exc:
            if not is_transient(exc):
                raise
            # Not stored: Meta delivers it again later.
            log.warning(
                "whatsapp webhook not stored; asking for redelivery", error=type(exc).__name__
            )
            return web.Response(status=503, text="Service Unavailable")
        finally:
            self._arriving -= 1
            if self._arriving == self.inbox.workers:
                self.inbox.wake()  # the pressure is off: back to every worker
        return web.Response(text="ok")

    def _signed(self, body: bytes, header: str) -> bool:
        """X-Hub-Signature-256 is "sha256=" and the body's HMAC-SHA256 in hex; anything
        else (empty, not ASCII, not hex, another length) is simply not a valid signature."""
        if not header.isascii() or not header.startswith("sha256="):
            return False
        given = header.removeprefix("sha256=").strip().lower().encode("ascii")
        expected = hmac.new(self._app_secret.encode(), body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(given, expected.encode("ascii"))

    async def accept(self, payload: Any) -> None:
        """Store a checked webhook's messages (one insert; ids already stored are skipped)
        and its delivery statuses, in one short transaction; then wake the workers."""
        messages = inbound(payload)
        reports = [s for s in statuses(payload) if s.message_id and s.status]
        if not messages and not reports:
            return
        known = 0
        reopened = False
        async with self._storing, self.app.sessionmaker() as session, session.begin():
            await store(session, messages=messages, now=self.app.clock())
            for report in sorted(reports, key=lambda r: r.message_id):
                found = await record_status(session, report=report)
                known += found
                # The window had closed after all (reported late): the kind's template next.
                if (
                    found
                    and report.status == "failed"
                    and (report.error or "").startswith("131047")
                ):
                    reopened |= await reopen_for_template(
                        session, message_id=report.message_id, now=self.app.clock()
                    )
        if reports:
            WHATSAPP_STATUSES.labels("stored").inc(known)
            WHATSAPP_STATUSES.labels("unknown").inc(len(reports) - known)
        if reopened:
            log.info("whatsapp window closed after sending; its template goes next")
            if self.after_reopen is not None:
                await self.after_reopen()
            if self.app.outbox_wake is not None:
                self.app.outbox_wake()
        if messages:
            if len(self._newest) > 10_000:  # senders whose messages another worker took
                self._newest.clear()
            for message_id, chat_id, _body in messages:
                self._newest[chat_id] = message_id
            self.inbox.wake()

    def start(self) -> None:
        """Handle what is stored (left by a crash or a stop) and whatever arrives."""
        self.inbox.start()

    async def idle(self) -> None:
        """Wait until every webhook received so far is handled (tests)."""
        while True:
            await self.inbox.idle()
            if not self._tasks:
                return
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _spawn(self, job: Awaitable[None]) -> None:
        async def run() -> None:
            try:
                await job
            except Exception:
                log.exception("whatsapp webhook job failed")

        task = asyncio.create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _handle_stored(self, stored: Stored, claim: InboxClaim) -> None:
        """One stored message through the runtime (which deletes it when it commits).

        What waited for them goes first, in order; a message that only answers a template
        ("Balas pesan ini untuk melihat hasilnya") is answered by it."""
        item = stored_incoming(stored.body)
        released = await self._release(item.chat_id)
        if released:
            item = replace(item, released=released)
        await self.app.process(item, self, redeliverable=True, claim=claim)
        # The read mark (which marks their earlier messages read too) once per burst: after
        # the newest message stored here. Under a flood that saves a Graph call (sharing the
        # number's throughput with the answers) for every message but a sender's last.
        if self._newest.get(item.chat_id) not in (None, item.message_id):
            return
        self._newest.pop(item.chat_id, None)
        if item.message_id:
            try:
                await self._call(
                    lambda: self.client.mark_message_as_read(item.message_id or ""), send=False
                )
            except (WhatsAppError, httpx.HTTPError, TemporaryFailure, RateLimited) as exc:
                log.info("whatsapp mark-as-read failed", error=type(exc).__name__)

    async def _release(self, chat_id: str) -> int:
        """They wrote: the window is open, so what waited for it goes out now, in order,
        before the answer to what they wrote. Returns how many messages were released."""
        now = self.app.clock()
        async with self.app.sessionmaker() as session, session.begin():
            released = await release_waiting(session, channel=NAME, chat_id=chat_id, now=now)
            held = await release_held(session, channel=NAME, chat_id=chat_id, now=now)
            if released or held:
                await window_opened(session, channel=NAME, chat_id=chat_id, now=now)
        if (released or held) and self.send_released is not None:
            await self.send_released(chat_id)
        else:
            # Notifications are outbox rows once due: a held one is released there too.
            if (released or held) and self.after_inbound is not None:
                await self.after_inbound()
            if held and self.app.outbox_wake is not None:
                self.app.outbox_wake()
        return released + held

    # --- outgoing -----------------------------------------------------------------------

    async def deliver(
        self,
        chat_id: str,
        replies: Sequence[events.Reply],
        *,
        origin: events.Incoming | None = None,
    ) -> None:
        for i, reply in enumerate(replies):
            try:
                await self.post(chat_id, reply)
            except Undeliverable as exc:
                log.info("whatsapp message not delivered", reason=type(exc).__name__)
                return
            except (RateLimited, TemporaryFailure, WindowClosed) as exc:
                # The update is committed: this reply and the rest go to the outbox, which
                # retries with backoff (or holds them for the window), in order.
                await requeue(self.app, self.name, chat_id, list(replies[i:]), error=exc)
                return
            except Rejected as exc:
                # A message Meta will never take; the others still go.
                log.error("whatsapp send refused", error=str(exc))

    async def post(
        self, chat_id: str, reply: events.Reply, *, source: str | None = None
    ) -> list[str]:
        """Send one reply; return the ids of the messages made.

        Failures raise the outbound classes (bot.channels.base): Undeliverable (131026 ...),
        OutsideWindow (131047), RateLimited, TemporaryFailure, Rejected; the caller's queue
        decides (bot.outbound). `source` names the queued message, for a late 131047.
        """
        ids: list[str] = []
        try:
            for item in render(reply, self.capabilities):
                ids.append(await self._send(chat_id, item))
        finally:
            if ids:
                # In the background: a caller may be sending from inside its own transaction.
                self._spawn(self._remember(chat_id, ids, source))
        return ids

    async def notify(
        self, chat_id: str, reply: events.Reply, notice: Notice, *, now: datetime
    ) -> str | None:
        """Deliver a notification within WhatsApp's 24-hour rule.

        Returns "sent", "template" (outside the window, as the kind's approved template: the
        message itself then waits for their reply, which releases it), or None when it must
        wait for the person to write again (no template, or its template went already).
        """
        last = notice.last_inbound_at
        if last is not None and now - last < WINDOW:
            try:
                await self.post(chat_id, reply, source=notice.source)
                return "sent"
            except OutsideWindow:
                pass  # Meta counts the window itself; believe it
        template = self.templates.get(notice.kind)
        if template is None or notice.template_sent:
            return None
        await self.send_template(chat_id, template, notice.values)
        return "template"

    async def send_template(self, chat_id: str, template: Template, values: dict[str, str]) -> str:
        body = [
            {"type": "text", "text": (values.get(name) or "-")[:1000]}
            for name in template.parameters
        ]
        params = [{"type": "body", "parameters": body}] if body else None
        sent = await self._call(
            lambda: self.client.send_template(
                to=chat_id,
                name=template.name,
                language=TemplateLanguage(template.language),
                params=params,
            )
        )
        self._spawn(self._remember(chat_id, [str(sent.id)], "template"))
        return str(sent.id)

    async def announce(self, chat_id: str, message: Announcement) -> Announced:
        """One broadcast message: its template outside the window (`message.template`),
        else the text as WhatsApp formats it; a window Meta says is closed falls back to
        `message.fallback_template` when there is one."""
        if message.template:
            return Announced(await self._announce_template(chat_id, message.template))
        reply = events.Reply(message.whatsapp_text or message.text)
        try:
            ids = await self.post(chat_id, reply)
        except OutsideWindow:
            if not message.fallback_template:
                raise
            return Announced(await self._announce_template(chat_id, message.fallback_template))
        return Announced(ids[-1] if ids else None)

    async def _announce_template(self, chat_id: str, name: str) -> str:
        language = self.broadcast_language
        return await self.send_template(chat_id, Template(name, language), {})

    async def _send(self, chat_id: str, item: Outgoing) -> str:
        """Send one message; its WhatsApp message id (wamid)."""
        client = self.client
        send: Callable[[], Awaitable[SentMessage]]
        if item.image is not None:
            image = item.image
            caption = item.text or None
            if image.cached_id is not None:  # uploaded before: sent by its media id
                try:
                    return str(
                        (
                            await self._call(
                                lambda: client.send_image(
                                    to=chat_id, image=str(image.cached_id), caption=caption
                                )
                            )
                        ).id
                    )
                except (RateLimitHit, MessageUndeliverable, ReEngagementMessage):
                    raise
                except WhatsAppError:  # an expired media id (they last 30 days): upload again
                    log.info("whatsapp media id refused; uploading again", photo=image.photo_id)
            data = await asyncio.to_thread(Path(image.path).read_bytes)
            image_id = await self._upload(data, "image/jpeg", "photo.jpg")
            if image.photo_id is not None:  # the next showing reuses it, as Telegram's file_id
                await self.app.remember_channel_ids(self.name, {image.photo_id: image_id})

            def send() -> Awaitable[SentMessage]:
                return client.send_image(to=chat_id, image=image_id, caption=caption)

        elif item.document is not None:
            doc = item.document
            doc_id = await self._upload(doc.data, doc.mime, doc.filename)

            def send() -> Awaitable[SentMessage]:
                return client.send_document(to=chat_id, document=doc_id, filename=doc.filename)

        else:
            keyboard: list[Button] | SectionList | None = None
            if item.buttons:
                keyboard = [Button(title=t, callback_data=p) for t, p in item.buttons]
            elif item.rows:
                rows = [
                    SectionRow(title=t, callback_data=p, description=d) for t, p, d in item.rows
                ]
                keyboard = SectionList(
                    button_title=item.list_button,
                    sections=[Section(title=item.list_button, rows=rows)],
                )

            def send() -> Awaitable[SentMessage]:
                return client.send_message(to=chat_id, text=item.text, buttons=keyboard)

        return str((await self._call(send)).id)

    async def _upload(self, data: bytes, mime: str, filename: str) -> str:
        media = await self._call(
            lambda: self.client.upload_media(media=data, mime_type=mime, filename=filename),
            send=False,
        )
        return str(media.id)

    async def _call(self, make: Callable[[], Awaitable[T]], *, send: bool = True) -> T:
        """One Graph API call. A message takes a slot of the number's send budget (shared
        by every worker and kind); a read (media, mark-as-read) only this process's limiter
        and two more tries on a blip. Failures raise as the outbound classes; a throughput
        limit pauses the budget for every worker first."""
        for attempt in range(3):
            if send:
                # A slot taken already (a broadcast's) is checked again just before the call.
                async with self.budget.sending(taken=SLOT_TAKEN.get()):
                    try:
                        return await make()
                    except (WhatsAppError, httpx.HTTPError) as exc:
                        failure = translate(exc)
                if isinstance(failure, RateLimited) and not failure.chat:
                    log.warning("whatsapp throughput limit hit", seconds=failure.retry_after)
                    await self.budget.pause(failure.retry_after)
                raise failure from None
            async with self.limiter:
                try:
                    return await make()
                except (WhatsAppError, httpx.HTTPError) as exc:
                    failure = translate(exc)
            if attempt == 2 or not isinstance(failure, TemporaryFailure | RateLimited):
                raise failure from None
            await self.sleep(0.5 * 2**attempt)
        raise AssertionError("unreachable")

    async def _remember(self, chat_id: str, ids: list[str], source: str | None = None) -> None:
        """Keep a row per sent message, for the status webhooks to fill in."""
        async with self.app.sessionmaker() as session, session.begin():
            await record_sent(
                session, message_ids=ids, chat_id=chat_id, now=self.app.clock(), source=source
            )

    async def erase(self, chat_id: str, message_ids: Sequence[str], *, notice: str) -> None:
        """WhatsApp can neither delete nor edit what a business sent; review chats, the only
        messages ever erased, live on Telegram. Logged so an operator sees it was asked."""
        log.warning("whatsapp cannot erase sent messages", count=len(message_ids))

    async def fetch_media(self, media: events.MediaRef) -> bytes:
        """Resolve the media id and download it now: Meta's URL expires within minutes."""
        url = await self._call(lambda: self.client.get_media_url(media.file_id), send=False)
        if url.file_size and int(url.file_size) > DOWNLOAD_LIMIT:
            raise ValueError("file too large to download")
        return await self.client.get_media_bytes(url.url)

    async def close(self) -> None:
        """Finish the messages being handled (the rest stay stored), then what they sent."""
        await self.inbox.stop()
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        await self.session.aclose()


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())
