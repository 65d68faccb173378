"""What the background senders (the one sender, bot.sender, and its broadcasts) share: a loop
that rests between rounds, woken early when there is something new and ended by `stop`."""

from __future__ import annotations

import asyncio
import contextlib


class Worker:
    def __init__(self, *, idle_seconds: float) -> None:
        self.idle_seconds = idle_seconds
        self._wake = asyncio.Event()
        self._stopping = False

    def wake(self) -> None:
        """Something new to send: end the current rest now."""
        self._wake.set()

    def stop(self) -> None:
        """Leave the loop after the current round."""
        self._stopping = True
        self._wake.set()

    async def rest(self) -> None:
        """Wait for a wake-up or the idle interval, whichever comes first."""
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), self.idle_seconds)
