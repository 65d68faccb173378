"""The one way out (STYLE.md): what the one sender (bot.sender: the outbox's notices, review
cards, replies that failed once and reminders; bot.broadcast's deliveries) does with a
send's outcome.

Channels raise the platform's errors as the classes of bot.channels.base; here they become
one of five outcomes, decided once for every kind of message (`decide`, the only place a
failure is given its meaning; each queue writes the verdict on its own row):
- transient (5xx, timeouts, network, WhatsApp 131000 / `is_transient`): again after an
  exponential backoff with jitter, for up to two days (`GIVE_UP_AFTER`);
- rate limited (Telegram 429, WhatsApp 130429 / 4 / 80007; 131056 for one chat): again once
  the time the platform named has passed, not counted as an attempt; the bot's budget was
  paused for every worker by the channel;
- window closed (WhatsApp 131047, also when a status webhook reports it later): the kind's
  template, or held until the person writes;
- permanent (blocked, invalid recipient): recorded, never tried again, the person marked;
- rejected (a message the platform will never take): recorded as failed, logged as a bug.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import structlog

from bot.channels.base import (
    RateLimited,
    Rejected,
    TemporaryFailure,
    Undeliverable,
    WindowClosed,
    reply_payload,
)
from bot.runtime import Kurasi
from db import outbox
from handlers.kit.events import Reply

log = structlog.get_logger(__name__)

BACKOFF_BASE = timedelta(seconds=1)
BACKOFF_MAX = timedelta(minutes=30)
GIVE_UP_AFTER = timedelta(hours=48)  # of trying; then recorded as failed

# What a held message's status says (outbox.last_error, notifications.result).
HELD_NO_CHANNEL = outbox.HELD_NO_CHANNEL
TEMPLATE_SENT = outbox.TEMPLATE_SENT
WINDOW_CLOSED = outbox.WINDOW_CLOSED


class Failure(StrEnum):
    transient = "transient"
    rate_limited = "rate_limited"
    window_closed = "window_closed"
    permanent = "permanent"
    rejected = "rejected"


@dataclass(frozen=True, slots=True)
class Classified:
    failure: Failure
    error: str
    retry_after: float = 0.0


def classify(exc: BaseException) -> Classified:
    error = f"{type(exc).__name__}: {exc}"[:300]
    if isinstance(exc, RateLimited):
        return Classified(Failure.rate_limited, error, exc.retry_after)
    if isinstance(exc, WindowClosed):
        return Classified(Failure.window_closed, error)
    if isinstance(exc, Undeliverable):
        return Classified(Failure.permanent, error)
    if isinstance(exc, Rejected | ValueError | TypeError | LookupError):
        return Classified(Failure.rejected, error)
    if isinstance(exc, TemporaryFailure | TimeoutError | OSError):
        return Classified(Failure.transient, error)
    return Classified(Failure.transient, error)  # unknown: keep it rather than lose it


def backoff(
    attempts: int, *, rng: random.Random | None = None, base: timedelta = BACKOFF_BASE
) -> timedelta:
    """How long to wait after the `attempts`-th failed send: doubling from `base` up to
    BACKOFF_MAX, each wait drawn from its upper half (jitter: workers that failed together
    do not come back together)."""
    ceiling = min(base * (1 << min(max(attempts - 1, 0), 20)), BACKOFF_MAX)
    draw = float((rng or random).random())
    return ceiling * (0.5 + draw / 2)


def given_up(first_tried: datetime | None, now: datetime) -> bool:
    return first_tried is not None and now - first_tried > GIVE_UP_AFTER


class Verdict(StrEnum):
    """What becomes of a queued message after a failed send."""

    retry = "retry"  # again at `at`, one more attempt counted
    wait = "wait"  # again at `at` (flood control), not counted as an attempt
    window = "window"  # the messaging window is closed: the kind's template, or held
    blocked = "blocked"  # the recipient is gone: recorded, the person marked, never again
    failed = "failed"  # recorded for good (refused, or tried for too long)


@dataclass(frozen=True, slots=True)
class Decision:
    verdict: Verdict
    error: str
    at: datetime | None = None  # retry, wait: not before then
    attempts: int = 0  # the attempts counted after this one


def decide(
    exc: BaseException,
    *,
    attempts: int,
    first_tried: datetime | None,
    now: datetime,
    max_attempts: int,
    base: timedelta = BACKOFF_BASE,
    rng: random.Random | None = None,
) -> Decision:
    """The one place a failed send is given its meaning, for every kind of message (the
    outbox's notices, cards and reminders, a broadcast's deliveries): `attempts` counted so
    far, the first try's time (two days of trying at most) and the kind's attempt limit."""
    found = classify(exc)
    if found.failure == Failure.rate_limited:
        wait = timedelta(seconds=found.retry_after)
        return Decision(Verdict.wait, found.error, now + wait, attempts)
    if found.failure == Failure.window_closed:
        return Decision(Verdict.window, found.error, None, attempts)
    if found.failure == Failure.permanent:
        return Decision(Verdict.blocked, found.error, None, attempts + 1)
    if found.failure == Failure.rejected:
        log.error("message refused by the platform", error=found.error)
        return Decision(Verdict.failed, f"rejected: {found.error}", None, attempts + 1)
    tried = attempts + 1
    if tried >= max_attempts or given_up(first_tried, now):
        log.error("send given up", error=found.error, attempts=tried)
        return Decision(Verdict.failed, found.error, None, tried)
    if not isinstance(exc, TemporaryFailure | TimeoutError | OSError):
        log.warning("unexpected send failure; will retry", error=found.error)
    return Decision(Verdict.retry, found.error, now + backoff(tried, rng=rng, base=base), tried)


async def requeue(
    app: Kurasi, channel: str, chat_id: str, replies: Sequence[Reply], *, error: BaseException
) -> None:
    """Replies to the person who wrote that failed their first try (a blip, flood control):
    into the outbox, in order, to be retried there like any other message; never dropped."""
    if not replies:
        return
    now = app.clock()
    found = classify(error)
    wait = (
        timedelta(seconds=found.retry_after)
        if found.failure == Failure.rate_limited
        else backoff(1)
    )
    async with app.sessionmaker() as session, session.begin():
        for reply in replies:
            await outbox.enqueue(
                session,
                channel=channel,
                chat_id=chat_id,
                kind=outbox.NOTICE,
                payload=reply_payload(reply),
                now=now,
                next_attempt_at=now + wait,
                last_error=found.error,
            )
    log.warning("reply kept for a retry", channel=channel, count=len(replies), error=found.failure)
    if app.outbox_wake is not None:
        app.outbox_wake()
