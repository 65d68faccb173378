"""The one path every update takes: dedupe, load state, run the flow, commit, then reply."""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import handlers.routes
from bot.channels.base import reply_payload
from bot.i18n import translator
from bot.metrics import mark_duplicate
from db.base import utcnow
from db.engine import is_transient
from db.media_store import MediaStore
from db.outbox import NOTICE, enqueue
from db.products import remember_channel_ids
from db.reviews import keep_prompt_ids
from db.users import begin_update
from handlers.kit.context import DEFAULT_LANGUAGE, LANGUAGES, Context, FlowSettings
from handlers.kit.events import Address, Command, Contact, Document, Incoming, Photo, Reply, Text

if TYPE_CHECKING:
    from bot.channels.base import Channel

log = structlog.get_logger(__name__)


class NotCommitted(Exception):
    """An update whose transaction kept failing on transient database errors: it is not
    recorded as handled, so the platform must deliver it again (webhook 5xx, polling
    offset not confirmed)."""


Clock = Callable[[], datetime]
# (channel, update key) -> the context one update runs in (bot/metrics.tracking_update).
TrackUpdate = Callable[[str, str | None], AbstractAsyncContextManager[object]]


class Claim(Protocol):
    """An update stored before it was acknowledged (the WhatsApp inbox): taken in the
    transaction that handles it, so a rollback or a crash leaves it stored."""

    async def take(self, session: AsyncSession) -> bool:
        """In the update's transaction, before anything else; False when another worker
        holds it or handled it (nothing is done then)."""

    async def failed(self) -> None:
        """The update failed for good (a bug: its sender got an apology); forget it."""


class FloodGuard:
    """Counts each sender's messages; past the limit they get one slow-down notice per window.

    Messages over the limit are still handled in order: nothing a person sent is dropped.
    """

    def __init__(self, *, limit: int = 20, window: timedelta = timedelta(seconds=10)) -> None:
        self.limit = limit
        self.window = window
        self._seen: dict[str, deque[datetime]] = {}
        self._warned_until: dict[str, datetime] = {}

    def hit(self, key: str, now: datetime) -> bool:
        """Record one message; True exactly when this one should carry the notice."""
        seen = self._seen.setdefault(key, deque())
        seen.append(now)
        while seen and seen[0] <= now - self.window:
            seen.popleft()
        if len(self._seen) > 10_000:  # forget quiet senders so memory stays bounded
            for other in [k for k, v in self._seen.items() if not v or v[-1] <= now - self.window]:
                self._seen.pop(other, None)
                self._warned_until.pop(other, None)
        if len(seen) <= self.limit or self._warned_until.get(key, now) > now:
            return False
        self._warned_until[key] = now + self.window
        return True


class Kurasi:
    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Clock = utcnow,
        flow_settings: FlowSettings | None = None,
        media_store: MediaStore | None = None,
        debounce_seconds: float = 1.5,
        flood: FloodGuard | None = None,
        db_retries: int = 3,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.clock = clock
        self.flow_settings = flow_settings or FlowSettings()
        self.media_store = media_store
        self.debounce_seconds = debounce_seconds
        self.flood = flood or FloodGuard()
        self.channels: dict[str, Channel] = {}
        # Told after an update queued messages in the outbox (wakes the outbox sender).
        self.outbox_wake: Callable[[], None] | None = None
        self.db_retries = db_retries
        # Told after an update that started, paused or resumed a broadcast (wakes the sender).
        self.after_broadcast: Callable[[], None] | None = None
        # Wraps every update (bot/metrics.tracking_update: latency, round trips, outcome, and
        # the update's id on every log line); the runtime calls it, metrics patches nothing.
        self.track_update: TrackUpdate | None = None
        self._background: set[asyncio.Task[None]] = set()
        # /ekspor's background jobs (bot/export_jobs.py), waited for by drain().
        self.exports: Any = None
        self._debounced: dict[
            tuple[str, str, str], tuple[asyncio.Task[None], Channel, str, Reply]
        ] = {}

    def add_channel(self, channel: Channel) -> None:
        self.channels[channel.name] = channel

    async def handle(
        self,
        incoming: Incoming,
        channel: Channel | None = None,
        *,
        redeliverable: bool = False,
        claim: Claim | None = None,
    ) -> list[Reply]:
        """Run one update (see `_handle`), accounted by the `track_update` hook when set."""
        if self.track_update is None:
            return await self._handle(incoming, channel, redeliverable=redeliverable, claim=claim)
        async with self.track_update(incoming.sender.channel, incoming.update_key):
            return await self._handle(incoming, channel, redeliverable=redeliverable, claim=claim)

    async def _handle(
        self,
        incoming: Incoming,
        channel: Channel | None,
        *,
        redeliverable: bool,
        claim: Claim | None,
    ) -> list[Reply]:
        """Run one update in one transaction; return the replies to the sender, committed.

        Replies to anyone else are written to the outbox in the same transaction. A
        transient database error reruns the whole transaction (with backoff); when it keeps
        failing, `redeliverable` callers get `NotCommitted` (the platform sends the update
        again), the others an apology. A bug in a flow always ends in an apology.
        """
        incoming = sanitize(incoming)
        sender = incoming.sender
        bound = log.bind(channel=sender.channel, update=incoming.update_key)
        # The console is one local person typing or pasting: no flood to guard against.
        flooding = sender.channel != "console" and self.flood.hit(
            f"{sender.channel}:{sender.external_id}", self.clock()
        )
        attempt = 0
        while True:
            after_commit: list[Callable[[], Awaitable[None]]] = []
            language = _hint(incoming)
            try:
                outcome = await self._transaction(
                    incoming, channel, after_commit=after_commit, flooding=flooding, claim=claim
                )
            except Exception as exc:
                if is_transient(exc) and attempt < self.db_retries:
                    attempt += 1
                    delay = 0.05 * 4 ** (attempt - 1) * (0.5 + random.random())  # noqa: S311 (jitter)
                    bound.warning(
                        "database error, running the update again",
                        error=type(exc).__name__,
                        attempt=attempt,
                    )
                    await asyncio.sleep(delay)
                    continue
                if is_transient(exc):
                    bound.error("update not committed", error=type(exc).__name__)
                    if redeliverable:
                        raise NotCommitted(incoming.update_key) from None
                else:
                    # The transaction rolled back, the update stays unmarked; the person is
                    # told. Only ids in this line: bound SQL parameters are hidden.
                    bound.exception("update failed")
                    if claim is not None:
                        await claim.failed()
                t = translator(language)
                return [
                    Reply(
                        t("Sorry, something went wrong on our side. Please try again in a moment.")
                    )
                ]
            break
        if outcome is None:
            return []
        replies, signals, queued = outcome
        for job in after_commit:
            try:
                await job()
            except Exception:
                bound.exception("after-commit job failed")
        if (queued or "outbox" in signals) and self.outbox_wake is not None:
            self.outbox_wake()
        if "broadcast" in signals and self.after_broadcast is not None:
            self.after_broadcast()
        return replies

    async def _transaction(
        self,
        incoming: Incoming,
        channel: Channel | None,
        *,
        after_commit: list[Callable[[], Awaitable[None]]],
        flooding: bool,
        claim: Claim | None = None,
    ) -> tuple[list[Reply], set[str], int] | None:
        sender = incoming.sender
        async with self.sessionmaker() as session, session.begin():
            if claim is not None and not await claim.take(session):
                return None
            now = self.clock()
            started = await begin_update(
                session,
                channel=sender.channel,
                update_key=incoming.update_key,
                external_id=sender.external_id,
                display_name=sender.display_name,
                username=sender.username,
                now=now,
            )
            if started is None:
                mark_duplicate()
                log.info("duplicate update ignored", update=incoming.update_key)
                return None
            user, conversation = started
            structlog.contextvars.bind_contextvars(user_id=user.id)
            ctx = Context(
                session=session,
                incoming=incoming,
                user=user,
                conversation=conversation,
                translator=translator,
                now=now,
                settings=self.flow_settings,
                fetch_media=channel.fetch_media if channel is not None else None,
                media_store=self.media_store,
                after_commit=after_commit,
            )
            if flooding:
                ctx.reply(
                    ctx.t(
                        "You are sending messages very fast. I am working through them "
                        "in order — please wait a moment before sending more."
                    )
                )
            await handlers.routes.dispatch(ctx)
            here: list[Reply] = []
            queued = 0
            for reply in ctx.replies:
                if (
                    reply.to is not None
                    and reply.debounce is None
                    and not _same_chat(reply.to, incoming)
                ):
                    # To someone else: durable, delivered (and retried) by the outbox sender.
                    await enqueue(
                        session,
                        channel=reply.to.channel,
                        chat_id=reply.to.chat_id,
                        kind=NOTICE,
                        payload=reply_payload(reply),
                        now=now,
                    )
                    queued += 1
                else:
                    here.append(reply)
            return here, set(ctx.signals), queued

    async def process(
        self,
        incoming: Incoming,
        channel: Channel,
        *,
        redeliverable: bool = False,
        claim: Claim | None = None,
    ) -> None:
        """Handle an update and send its replies: to the sender's chat, or where they say."""
        replies = await self.handle(incoming, channel, redeliverable=redeliverable, claim=claim)
        here: list[Reply] = []
        elsewhere: dict[tuple[str, str], list[Reply]] = defaultdict(list)
        for reply in replies:
            if reply.debounce is not None:
                target = reply.to.chat_id if reply.to else incoming.chat_id
                self._debounce(channel, target, reply)
            elif reply.to is None:
                here.append(reply)
            else:
                elsewhere[(reply.to.channel, reply.to.chat_id)].append(reply)
        await channel.deliver(incoming.chat_id, here, origin=incoming)
        for (channel_name, chat_id), batch in elsewhere.items():
            target_channel = self.channels.get(channel_name)
            if target_channel is None:
                log.warning("no channel for reply", channel=channel_name)
                continue
            await target_channel.deliver(chat_id, batch)

    def _debounce(self, channel: Channel, chat_id: str, reply: Reply) -> None:
        key = (channel.name, chat_id, reply.debounce or "")
        previous = self._debounced.pop(key, None)
        if previous is not None:
            previous[0].cancel()

        async def later() -> None:
            await asyncio.sleep(self.debounce_seconds)
            # From here on the reply goes out even if a newer one arrives meanwhile.
            if key in self._debounced and self._debounced[key][0] is task:
                del self._debounced[key]
            await channel.deliver(chat_id, [reply])

        task = asyncio.create_task(later())
        self._debounced[key] = (task, channel, chat_id, reply)

    async def drain(self) -> None:
        """Send every reply still waiting out its debounce, now, and finish background
        writes (shutdown, tests)."""
        while self._debounced:
            key, (task, channel, chat_id, reply) = next(iter(self._debounced.items()))
            del self._debounced[key]
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            if not task.cancelled():
                continue  # it was already sending its reply
            await channel.deliver(chat_id, [reply])
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)
        if self.exports is not None:
            await self.exports.drain()

    async def remember_prompts(self, review_id: int, message_ids: Sequence[str]) -> None:
        """Keep the ids of the bot's prompts about a review in its chat, so erasing the
        producer removes them with the card."""
        if message_ids:
            ids = list(message_ids)
            self._store_later(
                lambda session: keep_prompt_ids(session, review_id=review_id, message_ids=ids),
                failure="could not keep a review prompt's message id",
            )

    async def remember_channel_ids(self, channel: str, ids: dict[int, str]) -> None:
        """Keep the ids a channel gave our photos, so the next send is by id, not upload."""
        if ids:
            self._store_later(
                lambda session: remember_channel_ids(session, channel=channel, ids=ids),
                failure="could not cache channel file ids",
            )

    def _store_later(
        self, write: Callable[[AsyncSession], Awaitable[None]], *, failure: str
    ) -> None:
        """Write in a transaction of its own, in the background: a caller may be sending from
        inside its own transaction (the card poster), and on SQLite a second writer would
        wait for it forever. A failure is logged; what it kept is a courtesy."""

        async def store() -> None:
            try:
                async with self.sessionmaker() as session, session.begin():
                    await write(session)
            except Exception:
                log.exception(failure)

        task = asyncio.create_task(store())
        self._background.add(task)
        task.add_done_callback(self._background.discard)


_NUL_FREE = dict.fromkeys(range(0x00, 0x20), None)
for _kept in (0x09, 0x0A, 0x0D):  # tab, newline, carriage return stay
    del _NUL_FREE[_kept]


def _scrub(text: str) -> str:
    """Drop control characters: PostgreSQL cannot store NUL, and none is meant to be read."""
    return text.translate(_NUL_FREE)


def sanitize(incoming: Incoming) -> Incoming:
    """The incoming event with control characters removed from everything a person typed."""
    event = incoming.event
    match event:
        case Text(text=text):
            event = replace(event, text=_scrub(text))
        case Command(args=args):
            event = replace(event, args=_scrub(args))
        case Photo(caption=str() as caption) | Document(caption=str() as caption):
            event = replace(event, caption=_scrub(caption))
        case Contact(phone=phone):
            event = replace(event, phone=_scrub(phone))
    sender = incoming.sender
    sender = replace(
        sender,
        display_name=_scrub(sender.display_name) if sender.display_name else None,
        username=_scrub(sender.username) if sender.username else None,
    )
    return replace(incoming, event=event, sender=sender)


def _same_chat(address: Address, incoming: Incoming) -> bool:
    return address.channel == incoming.sender.channel and address.chat_id == incoming.chat_id


def _hint(incoming: Incoming) -> str:
    hint = (incoming.sender.language_hint or "")[:2].lower()
    return hint if hint in LANGUAGES else DEFAULT_LANGUAGE
