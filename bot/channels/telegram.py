"""Telegram through aiogram 3: updates in, normalized events to the runtime, replies out."""

from __future__ import annotations

import asyncio
import json
import re
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import replace
from functools import partial
from io import BytesIO
from typing import Any, TypeVar, cast

import aiohttp
import structlog
from aiogram import Bot, Dispatcher, Router
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import GetUpdates
from aiogram.methods.base import Response, TelegramMethod
from aiogram.types import (
    BotCommand,
    BufferedInputFile,
    CallbackQuery,
    ForceReply,
    FSInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaAudio,
    InputMediaDocument,
    InputMediaLivePhoto,
    InputMediaPhoto,
    InputMediaVideo,
    KeyboardButton,
    LinkPreviewOptions,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from pydantic import ValidationError

from bot.budget import SLOT_TAKEN, RateBudget, shared_budget
from bot.channels.base import (
    ChannelUnavailable,
    RateLimited,
    Rejected,
    TemporaryFailure,
    Undeliverable,
    typed,
)
from bot.i18n import translator
from bot.metrics import MESSAGES
from bot.outbound import requeue
from bot.runtime import Kurasi, NotCommitted
from handlers.kit.events import (
    ButtonPress,
    Contact,
    Document,
    Event,
    Incoming,
    MediaOut,
    MediaRef,
    Photo,
    Reply,
    Sender,
    Unsupported,
)
from handlers.routes import MENU_COMMANDS

log = structlog.get_logger(__name__)

NAME = "telegram"
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
ALBUM_MAX = 10
DOWNLOAD_LIMIT = 20 * 1024 * 1024  # getFile refuses larger files
T = TypeVar("T")
Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | ForceReply
MediaItem = (
    InputMediaAudio | InputMediaDocument | InputMediaLivePhoto | InputMediaPhoto | InputMediaVideo
)


class EveryCall(BaseRequestMiddleware):
    """What Kurasi adds to every Bot API call (an aiogram session middleware):

    - aiogram parses each answer as `Response[ReturnType]`, a pydantic generic class that
      pydantic's cache holds only weakly: once the garbage collector freed it, the next call
      built the class again (about a tenth of the bot's CPU under load). One is held per
      method for the life of the process, so every later lookup is a cache hit.
    - Messages sent, failed and rate limited are counted for /metrics.
    """

    def __init__(self) -> None:
        self._held: dict[type[Any], Any] = {}

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[Any],
        bot: Bot,
        method: TelegramMethod[Any],
    ) -> Any:
        kind = type(method)
        if kind not in self._held:
            self._held[kind] = Response[method.__returning__]  # type: ignore[name-defined]
        if not getattr(method, "__api_method__", "").startswith(_SENDING):
            return await make_request(bot, method)
        try:
            response = await make_request(bot, method)
        except TelegramRetryAfter:
            MESSAGES.labels(NAME, "rate_limited").inc()
            raise
        except Exception:
            MESSAGES.labels(NAME, "failed").inc()
            raise
        MESSAGES.labels(NAME, "sent").inc()
        return response


_SENDING = ("send", "edit", "copy", "forward")


class BudgetedCall(BaseRequestMiddleware):
    """Every message the bot sends — a reply, a notice, a card, a broadcast — takes a slot
    of the bot's one send budget (shared by all workers on PostgreSQL), and a 429 pauses
    that budget for all of them (bot.budget)."""

    def __init__(self, budget: RateBudget) -> None:
        self.budget = budget

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[Any],
        bot: Bot,
        method: TelegramMethod[Any],
    ) -> Any:
        if not getattr(method, "__api_method__", "").startswith(_SENDING):
            return await make_request(bot, method)
        media = getattr(method, "media", None)
        cost = len(media) if isinstance(media, list) else 1
        # A slot taken already (a broadcast's) is checked again here, just before the
        # request: one missed while the sender was busy is replaced, never used late.
        async with self.budget.sending(cost, taken=SLOT_TAKEN.get()):
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                await self.budget.pause(float(exc.retry_after))
                raise


def make_bot(token: str, api_base: str) -> Bot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(api_base))
    session.middleware(EveryCall())
    # Plain text: user-typed names go into replies, and no parse mode means nothing to escape.
    # Previews off through link_preview_options only: aiogram's link_preview_is_disabled shortcut
    # also sends disable_web_page_preview, a parameter the Bot API no longer has.
    no_previews = DefaultBotProperties(link_preview=LinkPreviewOptions(is_disabled=True))
    return Bot(token, session=session, default=no_previews)


class TelegramChannel:
    name = NAME

    def __init__(
        self,
        app: Kurasi,
        bot: Bot,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        messages_per_second: float = 30.0,
    ) -> None:
        self.app = app
        self.bot = bot
        self.sleep = sleep
        # The bot's ceiling (about 30 a second across chats), one budget for every sender.
        self.budget = shared_budget(app.sessionmaker, f"telegram:{bot.id}", messages_per_second)
        bot.session.middleware(BudgetedCall(self.budget))
        self._chat_locks: dict[str, tuple[asyncio.Lock, int]] = {}
        self._polling: _Poller | None = None
        router = Router(name="kurasi")
        router.message.register(self._on_message)
        router.callback_query.register(self._on_callback)
        self.dispatcher = Dispatcher()
        self.dispatcher.include_router(router)
        app.add_channel(self)

    # --- incoming -----------------------------------------------------------------------

    async def _on_message(self, message: Message, event_update: Update) -> None:
        if message.from_user is None or message.from_user.is_bot:
            return
        incoming = Incoming(
            sender=_sender(message.from_user),
            chat_id=str(message.chat.id),
            chat_type="private" if message.chat.type == "private" else "group",
            event=_event(message),
            update_key=str(event_update.update_id),
            message_id=str(message.message_id),
        )
        await self._process(incoming)

    async def _on_callback(self, query: CallbackQuery, event_update: Update) -> None:
        message = query.message
        chat = message.chat if message is not None else None
        incoming = Incoming(
            sender=_sender(query.from_user),
            chat_id=str(chat.id if chat is not None else query.from_user.id),
            chat_type="private" if chat is None or chat.type == "private" else "group",
            event=ButtonPress(
                payload=query.data or "",
                message_id=str(message.message_id) if message is not None else None,
                ack_id=query.id,
            ),
            update_key=str(event_update.update_id),
        )
        await self._process(incoming)

    async def _process(self, incoming: Incoming) -> None:
        # One chat's updates in arrival order; different chats run concurrently.
        async with self._chat_lock(incoming.chat_id):
            await self.app.process(incoming, self, redeliverable=True)

    @asynccontextmanager
    async def _chat_lock(self, chat_id: str) -> AsyncIterator[None]:
        lock, users = self._chat_locks.get(chat_id, (asyncio.Lock(), 0))
        self._chat_locks[chat_id] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._chat_locks[chat_id]
            if users <= 1:
                del self._chat_locks[chat_id]
            else:
                self._chat_locks[chat_id] = (lock, users - 1)

    # --- outgoing -----------------------------------------------------------------------

    async def deliver(
        self, chat_id: str, replies: Sequence[Reply], *, origin: Incoming | None = None
    ) -> None:
        press = origin.event if origin and isinstance(origin.event, ButtonPress) else None
        if press is not None and press.ack_id:
            alert = next((r.alert for r in replies if r.alert), None)
            await self._ack(press.ack_id, alert)
        for reply in replies:
            try:
                if reply.media:
                    await self._send_media(chat_id, reply)
                if reply.attachment is not None:
                    await self._send_attachment(chat_id, reply)
                if not reply.text:
                    continue
                if reply.edit_message_id:
                    await self._edit(chat_id, reply.edit_message_id, reply)
                elif reply.edit and press is not None and press.message_id:
                    await self._edit(chat_id, press.message_id, reply)
                else:
                    await self._send(chat_id, reply)
            except TelegramForbiddenError:
                log.info("chat blocked the bot", chat=loggable_chat(chat_id))
                return
            except (RateLimited, TemporaryFailure) as exc:
                # The update is committed: this reply and the rest go to the outbox, which
                # tries again with backoff (the one way out), in order.
                rest = list(replies[replies.index(reply) :])
                if press is not None and press.message_id:
                    rest = [_edit_target(r, press.message_id) for r in rest]
                await requeue(self.app, self.name, chat_id, rest, error=exc)
                return
            except TelegramAPIError as exc:
                # A message Telegram will never take; the others still go.
                log.error("telegram send failed", chat=loggable_chat(chat_id), error=str(exc))

    async def _ack(self, ack_id: str, alert: str | None) -> None:
        try:
            await self._call_soon(
                lambda: self.bot.answer_callback_query(
                    ack_id, text=alert[:200] if alert else None, show_alert=bool(alert)
                )
            )
        except (TelegramBadRequest, RateLimited, TemporaryFailure) as exc:
            # A press older than Telegram's answer window, or a blip: only the spinner on
            # the button is affected; the replies still go out.
            log.info("callback answer refused", error=str(exc))

    async def _edit(self, chat_id: str, message_id: str, reply: Reply) -> None:
        markup = _inline(reply)
        try:
            await self._call(
                lambda: self.bot.edit_message_text(
                    text=reply.text[:TEXT_LIMIT],
                    chat_id=int(chat_id),
                    message_id=int(message_id),
                    reply_markup=markup,
                )
            )
        except TelegramBadRequest as exc:
            if "not modified" in str(exc):
                return
            await self._send(chat_id, reply)  # too old or gone: say it anew

    async def _send(self, chat_id: str, reply: Reply) -> list[str]:
        chunks = _chunks(reply.text, TEXT_LIMIT)
        ids = []
        for i, chunk in enumerate(chunks):
            markup = _markup(reply) if i == len(chunks) - 1 else None
            message = await self._call(
                partial(
                    self.bot.send_message,
                    chat_id=int(chat_id),
                    text=chunk,
                    reply_markup=markup,
                    parse_mode="HTML" if reply.html else None,
                )
            )
            ids.append(str(message.message_id))
        if reply.about_review is not None:
            await self.app.remember_prompts(reply.about_review, ids)
        return ids

    async def post(self, chat_id: str, reply: Reply) -> list[str]:
        """Send one reply (photos, file and/or text, or an edit) and return the ids of the
        messages made.

        Errors propagate: the caller (the outbox) keeps the item and tries again; a
        recipient who blocked the bot raises Undeliverable.
        """
        try:
            ids = await self._send_media(chat_id, reply) if reply.media else []
            if reply.attachment is not None:
                await self._send_attachment(chat_id, reply)
            if reply.text and reply.edit_message_id:
                await self._edit(chat_id, reply.edit_message_id, reply)
                ids.append(reply.edit_message_id)
            elif reply.text:
                ids += await self._send(chat_id, reply)
        except TelegramForbiddenError as exc:
            raise Undeliverable(str(exc)) from exc  # blocked, kicked, deactivated
        except (TelegramBadRequest, TelegramNotFound) as exc:
            if _GONE.search(str(exc)):
                raise Undeliverable(str(exc)) from exc  # chat gone, or never started the bot
            raise Rejected(str(exc)) from exc  # a message Telegram will never take
        return ids

    async def erase(self, chat_id: str, message_ids: Sequence[str], *, notice: str) -> None:
        """Delete each message; one Telegram keeps (sent over 48 hours ago, or the bot lost
        its rights) gets the notice as its text, or its caption if it is a photo."""
        for message_id in message_ids:
            chat, message = int(chat_id), int(message_id)
            try:
                await self._call(partial(self.bot.delete_message, chat_id=chat, message_id=message))
                continue
            except TelegramBadRequest as exc:
                if "not found" in str(exc):
                    continue  # already gone (deleted by an admin, or by an earlier attempt)
                log.info(
                    "message kept by telegram; redacting it",
                    chat=loggable_chat(chat_id),
                    error=str(exc),
                )
            try:
                await self._call(
                    partial(
                        self.bot.edit_message_text, text=notice, chat_id=chat, message_id=message
                    )
                )
            except TelegramBadRequest as exc:
                if "no text" not in str(exc):
                    log.warning(
                        "message could not be redacted", chat=loggable_chat(chat_id), error=str(exc)
                    )
                    continue
                with suppress(TelegramBadRequest):  # e.g. already redacted: not modified
                    await self._call(
                        partial(
                            self.bot.edit_message_caption,
                            chat_id=chat,
                            message_id=message,
                            caption=notice,
                        )
                    )

    async def _send_media(self, chat_id: str, reply: Reply) -> list[str]:
        """Photos before the text they illustrate: one photo, or albums of up to ten."""
        learned: dict[int, str] = {}
        ids: list[str] = []
        items = list(reply.media)
        for start in range(0, len(items), ALBUM_MAX):
            chunk = items[start : start + ALBUM_MAX]
            if len(chunk) == 1:
                item = chunk[0]
                sent = await self._call(
                    partial(
                        self.bot.send_photo,
                        chat_id=int(chat_id),
                        photo=_photo_input(item),
                        caption=(item.caption or "")[:CAPTION_LIMIT] or None,
                        parse_mode="HTML" if reply.html and item.caption else None,
                    )
                )
                messages = [sent]
            else:
                media: list[MediaItem] = [
                    InputMediaPhoto(
                        media=_photo_input(item),
                        caption=(item.caption or "")[:CAPTION_LIMIT] or None,
                    )
                    for item in chunk
                ]
                messages = await self._call(
                    partial(self.bot.send_media_group, chat_id=int(chat_id), media=media)
                )
            ids += [str(m.message_id) for m in messages]
            for item, message in zip(chunk, messages, strict=False):
                if item.photo_id is not None and message.photo and not item.cached_id:
                    learned[item.photo_id] = message.photo[-1].file_id
        await self.app.remember_channel_ids(self.name, learned)
        return ids

    async def _send_attachment(self, chat_id: str, reply: Reply) -> None:
        attachment = reply.attachment
        assert attachment is not None
        await self._call(
            lambda: self.bot.send_document(
                chat_id=int(chat_id),
                document=BufferedInputFile(attachment.data, filename=attachment.filename),
            )
        )

    async def _call(self, make: Callable[[], Awaitable[T]]) -> T:
        """One Bot API call, its failure said as one of the outbound classes: flood control
        as RateLimited (the budget is paused for every worker already), a 5xx, a network
        error or a timeout as TemporaryFailure. Nothing is retried here: the outbox does,
        with backoff over hours (bot.outbound); other errors propagate."""
        try:
            return await make()
        except TelegramRetryAfter as exc:
            log.warning("telegram flood control", retry_after=exc.retry_after)
            raise RateLimited(float(exc.retry_after)) from exc
        except (TelegramServerError, TelegramNetworkError, TelegramUnauthorizedError) as exc:
            raise TemporaryFailure(f"{type(exc).__name__}: {exc}") from exc
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise TemporaryFailure(type(exc).__name__) from exc

    async def _call_soon(self, make: Callable[[], Awaitable[T]]) -> T:
        """A call that is worth nothing later (the answer to a button press, which Telegram
        takes only for seconds): two quick retries of a blip, then the failure."""
        for attempt in range(3):
            try:
                return await self._call(make)
            except (TemporaryFailure, RateLimited) as exc:
                wait = exc.retry_after if isinstance(exc, RateLimited) else 0.5 * 2**attempt
                if attempt == 2 or wait > 2:
                    raise
                await self.sleep(wait)
        raise AssertionError("unreachable")

    async def fetch_media(self, media: MediaRef) -> bytes:
        if media.size is not None and media.size > DOWNLOAD_LIMIT:
            raise ValueError("file too large for the Bot API to download")
        buf = BytesIO()
        await self.bot.download(media.file_id, destination=buf)
        return buf.getvalue()

    # --- lifecycle ----------------------------------------------------------------------

    async def reach(self, api_base: str) -> None:
        """The first calls to Telegram (the command menus): ChannelUnavailable, in one line,
        when the token is refused or Telegram cannot be reached."""
        try:
            await self.register_commands()
        except TelegramUnauthorizedError:
            raise ChannelUnavailable(f"telegram {api_base}: the bot token was refused") from None
        except (TelegramAPIError, OSError, TimeoutError) as exc:
            raise ChannelUnavailable(
                f"telegram {api_base} unreachable: {type(exc).__name__}: {exc}"
            ) from None

    async def register_commands(self) -> None:
        """The command menu, in Indonesian by default and English for English clients."""
        for language in ("id", "en"):
            t = translator(language)
            commands = [BotCommand(command=c, description=t(d)) for c, d in MENU_COMMANDS]
            await self.bot.set_my_commands(
                commands, language_code=None if language == "id" else language
            )

    def allowed_updates(self) -> list[str]:
        return self.dispatcher.resolve_used_update_types()

    async def run_polling(
        self,
        *,
        polling_timeout: int = 30,
        handle_signals: bool = True,
        concurrency: int = 10,
        shutdown_timeout: float = 20.0,
        stop: asyncio.Event | None = None,
    ) -> None:
        """Long polling that loses nothing: an update's offset is confirmed to Telegram
        only once its transaction committed. At most `concurrency` updates run at once
        (one chat's in order); the rest stay unfetched at Telegram. SIGTERM/SIGINT (or
        `stop_polling`, or `stop` being set: the caller then owns the signals) stops
        fetching and lets the updates in flight finish, for up to `shutdown_timeout`
        seconds; whatever is unconfirmed is fetched again next time.
        """
        await self.bot.delete_webhook(drop_pending_updates=False)
        self._polling = poller = _Poller(
            self,
            polling_timeout=polling_timeout,
            concurrency=concurrency,
            shutdown_timeout=shutdown_timeout,
        )
        loop = asyncio.get_running_loop()
        signals = (signal.SIGINT, signal.SIGTERM) if handle_signals and stop is None else ()
        for sig in signals:
            with suppress(NotImplementedError):
                loop.add_signal_handler(sig, poller.stop)
        watcher = None
        if stop is not None:

            async def watch(event: asyncio.Event) -> None:
                await event.wait()
                poller.stop()

            watcher = asyncio.create_task(watch(stop))
            if stop.is_set():
                poller.stop()
        try:
            await poller.run()
        finally:
            if watcher is not None:
                watcher.cancel()
            for sig in signals:
                with suppress(NotImplementedError):
                    loop.remove_signal_handler(sig)
            self._polling = None

    async def stop_polling(self) -> None:
        if self._polling is not None:
            self._polling.stop()

    async def feed(self, update: Update) -> None:
        """Run one update through aiogram to the runtime; raises NotCommitted when the
        update must be delivered again."""
        await self.dispatcher.feed_update(self.bot, update)


class _UpdatesAsSent(GetUpdates):
    """aiogram's getUpdates, answered as the JSON objects Telegram sent. The poller's offset
    stays below the updates still running, so each call returns again those it already
    holds (4.5 for every new one in bench/updates); only new ones are worth an `Update`."""

    __returning__ = list[dict[str, Any]]


class _Poller:
    """getUpdates driven by hand: the offset sent is the lowest update id not yet
    committed, so Telegram forgets an update only after it is safely handled."""

    def __init__(
        self,
        channel: TelegramChannel,
        *,
        polling_timeout: int,
        concurrency: int,
        shutdown_timeout: float,
    ) -> None:
        self.channel = channel
        self.bot = channel.bot
        self.polling_timeout = polling_timeout
        self.concurrency = max(concurrency, 1)
        self.shutdown_timeout = shutdown_timeout
        self.stopping = asyncio.Event()
        self.changed = asyncio.Event()
        self.running: dict[int, asyncio.Task[None]] = {}
        self.finished: set[int] = set()  # committed, but an older one is still running
        self.retry: set[int] = set()  # not committed: fetch it again
        self.high: int | None = None  # the highest update id fetched
        self.sent_offset: int | None = None

    def stop(self) -> None:
        if not self.stopping.is_set():
            log.info("stopping: no new updates; finishing those in flight")
        self.stopping.set()

    def confirmable(self) -> int | None:
        """Every update below this id is committed."""
        pending = set(self.running) | self.retry
        if pending:
            return min(pending)
        return self.high + 1 if self.high is not None else None

    async def run(self) -> None:
        backoff = 1.0
        allowed = self.channel.allowed_updates()
        try:
            while not self.stopping.is_set():
                free = self.concurrency - len(self.running)
                offset = self.confirmable()
                known = {
                    i for i in (*self.running, *self.finished) if offset is None or i >= offset
                }
                if free <= 0 or len(known) + free > 100:
                    await self._wait_for_change()
                    continue
                try:
                    updates = await self._fetch(offset, len(known) + free, allowed)
                except asyncio.CancelledError:
                    if self.stopping.is_set():
                        break
                    raise
                except Exception as exc:
                    log.warning(
                        "telegram getUpdates failed; trying again",
                        error=type(exc).__name__,
                        detail=str(exc)[:200],
                        wait=backoff,
                    )
                    await self._sleep(backoff)
                    backoff = min(backoff * 2, 30.0)
                    continue
                backoff = 1.0
                if offset is not None:  # Telegram forgot everything below it: so can we
                    self.finished = {i for i in self.finished if i >= offset}
                fresh = [u for u in updates if u.get("update_id") not in known]
                for raw in fresh:
                    update_id = raw.get("update_id")
                    if not isinstance(update_id, int):
                        continue  # not an update: nothing to confirm or handle
                    self.retry.discard(update_id)
                    self.high = max(self.high or update_id, update_id)
                    try:
                        update = Update.model_validate(raw, context={"bot": self.bot})
                    except ValidationError:
                        log.warning("telegram sent an update we cannot read", update=update_id)
                        self.finished.add(update_id)
                        continue
                    self.running[update_id] = asyncio.create_task(self._handle(update))
                if not fresh and self.running:
                    await self._wait_for_change()  # only ones we hold came back
        finally:
            await self._finish(allowed)

    async def _fetch(
        self, offset: int | None, limit: int, allowed: list[str]
    ) -> list[dict[str, Any]]:
        # Anything of ours unconfirmed makes Telegram answer at once; else a long poll.
        timeout = 0 if self.running else self.polling_timeout
        self.sent_offset = offset
        method = _UpdatesAsSent(
            offset=offset, limit=limit, timeout=timeout, allowed_updates=allowed
        )
        fetch = asyncio.ensure_future(
            self.bot(method, request_timeout=int((self.bot.session.timeout or 60) + timeout))
        )
        stop = asyncio.ensure_future(self.stopping.wait())
        try:
            await asyncio.wait({fetch, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
        if not fetch.done():
            fetch.cancel()
            with suppress(asyncio.CancelledError, Exception):
                await fetch
            raise asyncio.CancelledError
        return cast(list[dict[str, Any]], fetch.result())  # as _UpdatesAsSent returns them

    async def _handle(self, update: Update) -> None:
        update_id = update.update_id
        try:
            await self.channel.feed(update)
        except NotCommitted:
            await self._sleep(1.0)  # the database is struggling: pace the next try
            self.retry.add(update_id)
        except Exception:
            # Past the transaction (committed, or the person got an apology): not again.
            log.exception("update handling failed", update=update_id)
            self.finished.add(update_id)
        else:
            self.finished.add(update_id)
        finally:
            del self.running[update_id]
            self.changed.set()

    async def _wait_for_change(self) -> None:
        self.changed.clear()
        if not self.running:
            return
        waiter = asyncio.ensure_future(self.changed.wait())
        stop = asyncio.ensure_future(self.stopping.wait())
        try:
            await asyncio.wait({waiter, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
            stop.cancel()

    async def _sleep(self, seconds: float) -> None:
        with suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), seconds)

    async def _finish(self, allowed: list[str]) -> None:
        """Let the updates in flight finish (bounded), then confirm what committed."""
        if self.running:
            log.info("waiting for updates in flight", count=len(self.running))
            _done, late = await asyncio.wait(
                list(self.running.values()), timeout=self.shutdown_timeout
            )
            for task in late:
                task.cancel()
            if late:
                log.warning(
                    "updates unfinished at shutdown; fetched again next start", count=len(late)
                )
                await asyncio.gather(*late, return_exceptions=True)
        offset = self.confirmable()
        if offset is None or offset == self.sent_offset:
            return
        try:
            # Telegram confirms on the offset of a call; the update this returns (if any)
            # is not confirmed by it and comes again next time.
            await self.bot.get_updates(offset=offset, limit=1, timeout=0, allowed_updates=allowed)
        except Exception as exc:
            log.warning("could not confirm the last updates", error=type(exc).__name__)


# Bad requests that mean the recipient is gone for good, not that the message is wrong.
_GONE = re.compile(
    r"chat not found|user is deactivated|bot was blocked|PEER_ID_INVALID|kicked", re.I
)


def _edit_target(reply: Reply, message_id: str) -> Reply:
    """A reply that edits the pressed message, as a queued message must say it."""
    if reply.edit and reply.edit_message_id is None:
        return replace(reply, edit_message_id=message_id, edit=False)
    return reply


def _photo_input(item: MediaOut) -> str | FSInputFile | BufferedInputFile:
    if item.data is not None:
        return BufferedInputFile(item.data, filename=item.path or "image.png")
    return item.cached_id or FSInputFile(item.path)


def _sender(user: Any) -> Sender:
    return Sender(
        channel=NAME,
        external_id=str(user.id),
        display_name=user.full_name or None,
        username=user.username,
        language_hint=user.language_code,
    )


def _event(message: Message) -> Event:
    if message.text is not None:
        return typed(message.text, html=message.html_text if message.entities else None)
    if message.contact is not None:
        own = message.from_user is not None and message.contact.user_id == message.from_user.id
        return Contact(phone=message.contact.phone_number, is_own=own)
    if message.photo:
        size = max(message.photo, key=lambda p: p.width * p.height)
        ref = MediaRef(
            file_id=size.file_id,
            unique_id=size.file_unique_id,
            size=size.file_size,
            mime="image/jpeg",
            width=size.width,
            height=size.height,
        )
        return Photo(media=ref, caption=message.caption, group_id=message.media_group_id)
    if message.document is not None:
        doc = message.document
        ref = MediaRef(
            file_id=doc.file_id,
            unique_id=doc.file_unique_id,
            size=doc.file_size,
            mime=doc.mime_type,
            file_name=doc.file_name,
        )
        return Document(media=ref, caption=message.caption, group_id=message.media_group_id)
    return Unsupported(kind=str(message.content_type))


def _inline(reply: Reply) -> InlineKeyboardMarkup | None:
    if not reply.buttons:
        return None
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=b.label, callback_data=b.payload) for b in row]
            for row in reply.buttons
        ]
    )


def _markup(reply: Reply) -> Markup | None:
    if reply.buttons:
        return _inline(reply)
    if reply.ask_contact:
        return ReplyKeyboardMarkup(
            keyboard=[[KeyboardButton(text=reply.ask_contact, request_contact=True)]],
            resize_keyboard=True,
            one_time_keyboard=True,
        )
    if reply.remove_keyboard:
        return ReplyKeyboardRemove()
    if reply.force_reply:
        # Not selective: the curator pressed a button, so there is no message of theirs to
        # reply to; the question names them, and only their answer is taken.
        return ForceReply(selective=False)
    return None


def _chunks(text: str, limit: int) -> list[str]:
    """Split at line breaks where possible, so a long card stays readable."""
    chunks: list[str] = []
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit)
        cut = cut if cut > limit // 2 else limit
        chunks.append(text[:cut])
        text = text[cut:].lstrip("\n")
    chunks.append(text)
    return chunks


def parse_update(body: bytes, bot: Bot) -> tuple[Update | None, str]:
    """A webhook body as an Update, or None and why not (never the body itself)."""
    try:
        data = json.loads(body)
    except RecursionError:
        return None, "nested too deeply"
    except ValueError:
        return None, "not JSON"
    if not isinstance(data, dict):
        return None, f"JSON {type(data).__name__}, not an object"
    update_id = data.get("update_id")
    if not isinstance(update_id, int) or isinstance(update_id, bool):
        return None, "no integer update_id"
    try:
        return Update.model_validate(data, context={"bot": bot}), ""
    except (ValidationError, RecursionError) as exc:
        count = exc.error_count() if isinstance(exc, ValidationError) else 1
        return None, f"invalid update ({count} problems)"


def loggable_chat(chat_id: str) -> str:
    """A chat as logs may name it: a group's id (a review chat), never a person's (a private
    chat's id is the person's Telegram id)."""
    return chat_id if chat_id.startswith("-") else "private"
