"""The WhatsApp inbox's workers: every stored message handled once, in order per sender.

The webhook stores a body's messages before it answers 200 (db/inbox.py); this pool hands
them to the runtime. At most `workers` messages are handled at once, never two of one
sender: the dispatcher asks the database for the oldest message of senders no worker here
is busy with (rows other processes hold are skipped), and each is deleted in the
transaction that handles it. On start, and every `poll` seconds, it looks again, so what
a crashed process had stored is handled too.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.runtime import NotCommitted
from db import inbox
from db.engine import is_transient
from db.inbox import Stored

log = structlog.get_logger(__name__)


@dataclass(slots=True)
class InboxClaim:
    """A stored message as the runtime's Claim: deleted in the update's transaction."""

    row_id: int
    sessionmaker: async_sessionmaker[AsyncSession]

    async def take(self, session: AsyncSession) -> bool:
        return await inbox.take(session, row_id=self.row_id)

    async def failed(self) -> None:
        async with self.sessionmaker() as session, session.begin():
            await inbox.drop(session, row_id=self.row_id)


class InboxWorkers:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        handle: Callable[[Stored, InboxClaim], Awaitable[None]],
        *,
        workers: int = 10,
        poll: float = 2.0,
        retry_after: float = 1.0,
        pressure: Callable[[], bool] | None = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.handle = handle
        self.workers = max(workers, 1)
        self.poll = poll
        self.retry_after = retry_after
        # True while webhooks wait to be stored: storing (what Meta waits for) goes first,
        # handling goes on with a quarter of the workers.
        self.pressure = pressure
        self.busy: dict[str, asyncio.Task[None]] = {}  # sender -> the task handling them
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._quiet = asyncio.Event()  # the last look found nothing to do and no one busy

    def start(self) -> None:
        if self._task is None and not self._stopping:
            self._task = asyncio.create_task(self._run())

    def wake(self) -> None:
        """Something was stored, or a worker finished: look again now."""
        self._quiet.clear()
        self._wake.set()
        self.start()

    async def idle(self) -> None:
        """Until everything stored so far is handled (tests; never at shutdown)."""
        if self._task is None:
            return
        self.wake()
        while not self._stopping:
            await self._quiet.wait()
            if not self._wake.is_set() and not self.busy:
                return
            await asyncio.sleep(0)

    async def stop(self) -> None:
        """No new messages are taken; those being handled finish. What is left stays
        stored for the next start."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
        while self.busy:
            await asyncio.gather(*list(self.busy.values()), return_exceptions=True)

    async def _run(self) -> None:
        backoff = 1.0
        # Heads read ahead for senders no one here is busy with: each stays its sender's
        # oldest message until someone takes it (and a take that finds it gone skips it),
        # so one read serves several free workers.
        ready: dict[str, Stored] = {}
        while not self._stopping:
            self._wake.clear()
            workers = self.workers
            if self.pressure is not None and self.pressure():
                workers = max(1, workers // 4)
            free = workers - len(self.busy)
            if free > 0 and len(ready) < free:
                try:
                    async with self.sessionmaker() as session, session.begin():
                        found = await inbox.heads(
                            session, limit=2 * workers, busy={*self.busy, *ready}
                        )
                    backoff = 1.0
                except Exception as exc:
                    log.warning(
                        "whatsapp inbox unreadable; trying again",
                        error=type(exc).__name__,
                        transient=is_transient(exc),
                        wait=backoff,
                    )
                    await self._sleep(backoff)
                    backoff = min(backoff * 2, 30.0)
                    continue
                for stored in found:
                    ready.setdefault(stored.chat_id, stored)
            while ready and len(self.busy) < workers:
                chat_id, stored = next(iter(ready.items()))
                del ready[chat_id]
                self.busy[chat_id] = asyncio.create_task(self._work(stored))
            if not self.busy and not ready:
                self._quiet.set()
            await self._sleep(self.poll)

    async def _sleep(self, seconds: float) -> None:
        with suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)

    async def _work(self, stored: Stored) -> None:
        try:
            await self.handle(stored, InboxClaim(stored.id, self.sessionmaker))
        except NotCommitted:
            # The database kept failing: the message stays stored; pace the next try.
            await asyncio.sleep(self.retry_after)
        except json.JSONDecodeError:
            log.error("whatsapp inbox row unreadable; dropped", row=stored.id)
            await InboxClaim(stored.id, self.sessionmaker).failed()
        except Exception:
            # Past the transaction (committed, or the person got an apology): not again.
            log.exception("whatsapp message handling failed", row=stored.id)
        finally:
            self.busy.pop(stored.chat_id, None)
            if not self._stopping:
                self.wake()
