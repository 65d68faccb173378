"""WhatsApp Cloud API through pywa's async client: webhooks in, normalized events to the runtime,
replies rendered within WhatsApp's limits out.

WhatsApp differs from Telegram in what a message can carry (3 reply buttons, lists of 10 rows, no
edits, 1024 characters beside buttons) and in who may be written to (only within 24 hours of the
person's last message, otherwise approved templates). This module keeps those rules at the edge.
"""

from __future__ import annotations

import asyncio
import hmac
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import structlog
from aiohttp import web
from aiolimiter import AsyncLimiter
from pywa import utils as pywa_utils
from pywa.errors import WhatsAppError
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
from bot.channels.whatsapp_messages import (  # noqa: F401 - this channel's message shapes
    LIST_LABEL,
    NAME,
    Outgoing,
    event,
    fitted,
    incoming,
    parse_webhook,
    render,
    split_text,
)
from bot.outbound import requeue
from bot.runtime import Kurasi
from db.outbox import release_held
from db.whatsapp import (
    StatusUpdate,
    record_sent,
    record_status,
    release_waiting,
    reopen_for_template,
    window_opened,
)
from handlers import events
from handlers.capabilities import WHATSAPP

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


@dataclass
class _ChatLock:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0


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
        self._chats: dict[str, _ChatLock] = {}
        self._tasks: set[asyncio.Task[None]] = set()
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
        """A signed webhook: checked, acknowledged at once, its messages handled in order."""
        if request.content_length is not None and request.content_length > WEBHOOK_LIMIT:
            return web.Response(status=413, text="Payload Too Large")
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return web.Response(status=413, text="Payload Too Large")
        if len(body) > WEBHOOK_LIMIT:
            return web.Response(status=413, text="Payload Too Large")
        signature = request.headers.get("X-Hub-Signature-256", "")
        if not signature or not pywa_utils.webhook_updates_validator(
            app_secret=self._app_secret, request_body=body, x_hub_signature=signature
        ):
            log.warning("whatsapp webhook with a missing or wrong signature refused")
            return web.Response(status=401, text="Unauthorized")
        try:
            payload = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            log.warning("whatsapp webhook body is not JSON")
            return web.Response(status=400, text="Bad Request")
        self.accept(payload)
        return web.Response(text="ok")

    def accept(self, payload: Any) -> None:
        """Start handling every message and status of one webhook in the background."""
        for item in parse_webhook(payload):
            if isinstance(item, StatusUpdate):
                self._spawn(self._store_status(item))
            else:
                self._spawn(self._handle(incoming(*item)))

    def _spawn(self, job: Awaitable[None]) -> None:
        async def run() -> None:
            try:
                await job
            except Exception:
                log.exception("whatsapp webhook job failed")

        task = asyncio.create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def idle(self) -> None:
        """Wait until every webhook received so far is handled (shutdown, tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _handle(self, item: events.Incoming) -> None:
        async with self._chat_lock(item.chat_id):
            # What waited for them goes first, in order; a message that only answers a
            # template ("Balas pesan ini untuk melihat hasilnya") is answered by it.
            released = await self._release(item.chat_id)
            if released:
                item = replace(item, released=released)
            await self.app.process(item, self)
        if item.message_id:
            try:
                await self._call(
                    lambda: self.client.mark_message_as_read(item.message_id or ""), send=False
                )
            except (WhatsAppError, httpx.HTTPError, TemporaryFailure, RateLimited) as exc:
                log.info("whatsapp mark-as-read failed", error=type(exc).__name__)

    @asynccontextmanager
    async def _chat_lock(self, chat_id: str) -> AsyncIterator[None]:
        entry = self._chats.setdefault(chat_id, _ChatLock())
        entry.users += 1
        try:
            async with entry.lock:
                yield
        finally:
            entry.users -= 1
            if entry.users == 0:
                self._chats.pop(chat_id, None)

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
            if released and self.after_inbound is not None:
                await self.after_inbound()
            if held and self.app.outbox_wake is not None:
                self.app.outbox_wake()
        return released + held

    async def _store_status(self, status: StatusUpdate) -> None:
        if not status.message_id or not status.status:
            return
        reopened = False
        async with self.app.sessionmaker() as session, session.begin():
            await record_status(session, status)
            if status.status == "failed" and (status.error or "").startswith("131047"):
                reopened = await reopen_for_template(
                    session, message_id=status.message_id, now=self.app.clock()
                )
        if reopened:
            log.info("whatsapp window closed after sending; its template goes next")
            if self.after_reopen is not None:
                await self.after_reopen()
            if self.app.outbox_wake is not None:
                self.app.outbox_wake()

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
            data = await asyncio.to_thread(Path(item.image.path).read_bytes)
            image_id = await self._upload(data, "image/jpeg", "photo.jpg")
            caption = item.text or None

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
                if not SLOT_TAKEN.get():
                    await self.budget.acquire()
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
        await self.idle()
        await self.session.aclose()


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())
