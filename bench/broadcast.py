"""Broadcast throughput and crash-safety against a fake Bot API that answers 429 above
30 messages a second (sliding one-second window, like Telegram's bulk ceiling).

    .venv/bin/python bench/broadcast.py [--recipients 50000] [--workers 2]

Phase 1: `--workers` processes of `kurasi broadcast work` send one broadcast to everyone;
prints the achieved rate as a fraction of the ceiling, the 429s and duplicates.
Phase 2: a second broadcast; when half have it, every worker gets SIGKILL; fresh workers take
over once the dead ones' lease (10 s here) has run out; prints lost and duplicated.
Phase 3: a third broadcast while a `kurasi run` bot answers `--replies` people writing at the
same time (20 a second): replies and the broadcast draw from the bot's one send budget, so
together they stay under the ceiling; prints the 429s, the broadcast's rate and the replies.
After each phase: the sends the fake saw per calendar second and in its busiest sliding
second, how often the fake's own event loop was late (it counts a request when it reads
it), and for the first 429s which processes and kinds sent the 30 before and how bunched.

Uses a fresh PostgreSQL database next to $KURASI_TEST_DATABASE_URL (default
postgresql+asyncpg://postgres@127.0.0.1:5432/test), dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import signal
import sys
import tempfile
import time
from collections import Counter, deque
from contextvars import ContextVar
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402

from db import broadcasts as data  # noqa: E402
from db.base import utcnow  # noqa: E402
from db.engine import make_engine, make_sessionmaker  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from db.models import User  # noqa: E402
from tests.fakes.telegram import FakeTelegram, _ApiError  # noqa: E402
from tests.support import create_database, drop_database  # noqa: E402

CEILING = 30.0
BASE = 1_000_000


PEER: ContextVar[int] = ContextVar("peer", default=0)


@dataclass
class Arrival:
    """One sendMessage as the fake saw it: when (monotonic, at dispatch), from which client
    port, to whom, and whether it was accepted."""

    at: float
    port: int
    chat: int
    accepted: bool


class CeilingTelegram(FakeTelegram):
    """Answers sendMessage with 429 (retry_after 1) when 30 were accepted in the last second;
    keeps every sendMessage's arrival (`arrivals`) for the per-second figures."""

    def __init__(self) -> None:
        super().__init__(strict=False)
        self.accepted: deque[float] = deque()
        self.limited = 0
        self.arrivals: list[Arrival] = []

    async def _handle_api(self, request: Any) -> Any:
        peer = request.transport.get_extra_info("peername") if request.transport else None
        PEER.set(int(peer[1]) if peer else 0)
        return await super()._handle_api(request)

    async def _dispatch(self, token: str, method: str, req: Any) -> Any:
        if method.lower() == "sendmessage":
            now = time.monotonic()
            while self.accepted and self.accepted[0] <= now - 1.0:
                self.accepted.popleft()
            chat = int(req.params.get("chat_id") or 0)
            if len(self.accepted) >= CEILING:
                self.limited += 1
                self.arrivals.append(Arrival(now, PEER.get(), chat, False))
                raise _ApiError(429, "Too Many Requests: retry after 1", {"retry_after": 1})
            self.accepted.append(now)
            self.arrivals.append(Arrival(now, PEER.get(), chat, True))
        return await super()._dispatch(token, method, req)

    def received(self) -> Counter[int]:
        return Counter(int(c.chat_id) for c in self.sent("sendMessage"))

    def reset(self) -> None:
        self.calls.clear()
        self.limited = 0
        self.arrivals.clear()
        self.accepted.clear()


class Owners:
    """Which of our child processes holds each client port the fake saw (read from
    /proc in the background, once per new port): a 429's window told by sender."""

    def __init__(self, fake: CeilingTelegram) -> None:
        self.fake = fake
        self.names: dict[int, str] = {}  # pid -> name
        self.ports: dict[int, str] = {}  # client port -> name
        self._task: asyncio.Task[None] | None = None

    def add(self, proc: asyncio.subprocess.Process, name: str) -> None:
        self.names[proc.pid] = name

    def start(self) -> None:
        self._task = asyncio.create_task(self._watch())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _watch(self) -> None:
        while True:
            unknown = {a.port for a in self.fake.arrivals[-2000:]} - self.ports.keys()
            if unknown:
                self.ports.update(await asyncio.to_thread(self._resolve, unknown))
            await asyncio.sleep(0.5)

    def _resolve(self, ports: set[int]) -> dict[int, str]:
        inodes: dict[str, int] = {}
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            with contextlib.suppress(OSError), open(table) as f:
                for line in f.readlines()[1:]:
                    cols = line.split()
                    port = int(cols[1].rsplit(":", 1)[1], 16)
                    if port in ports:
                        inodes[cols[9]] = port
        found: dict[int, str] = {}
        for pid, name in self.names.items():
            with contextlib.suppress(OSError):
                for fd in os.listdir(f"/proc/{pid}/fd"):
                    with contextlib.suppress(OSError):
                        link = os.readlink(f"/proc/{pid}/fd/{fd}")
                        if link.startswith("socket:["):
                            port = inodes.get(link[8:-1])
                            if port is not None:
                                found[port] = name
        return found


def windows(fake: CeilingTelegram, owners: Owners) -> None:
    """The fake's view: sendMessage attempts in each calendar second and in the busiest
    sliding second, and for each 429 who sent the 30 accepted before it and how bunched."""
    arrivals = fake.arrivals
    if not arrivals:
        return
    t0 = arrivals[0].at
    per_second = Counter(int(a.at - t0) for a in arrivals)
    busiest = 0
    j = 0
    for i, a in enumerate(arrivals):
        while arrivals[j].at <= a.at - 1.0:
            j += 1
        busiest = max(busiest, i - j + 1)
    spread = Counter(per_second.values())
    stalls = sorted(STALLS)
    STALLS.clear()
    if stalls:
        print(
            f"  the fake's loop late > 10 ms {len(stalls)} times,"
            f" median {stalls[len(stalls) // 2] * 1000:.0f} ms, max {stalls[-1] * 1000:.0f} ms"
        )
    print(
        f"  fake: attempts per calendar second {dict(sorted(spread.items()))} (count: seconds);"
        f" busiest sliding second {busiest} attempts"
    )
    accepted = [a for a in arrivals if a.accepted]
    for n, a in enumerate(x for x in arrivals if not x.accepted):
        if n >= 5:
            print(f"  ... {fake.limited - 5} more 429s")
            break
        window = [b for b in accepted if a.at - 1.0 < b.at <= a.at]
        who = Counter(
            ("reply" if b.chat >= REPLIERS else "bcast") + "@" + owners.ports.get(b.port, "?")
            for b in window
        )
        gaps = [y.at - x.at for x, y in pairwise(window)]
        tight = sum(1 for g in gaps if g < 0.005)
        late = a.at - window[0].at if window else 0.0
        print(
            f"  429 at {a.at - t0:7.3f} s from {owners.ports.get(a.port, '?')}"
            f" ({'reply' if a.chat >= REPLIERS else 'bcast'}): window of {len(window)} spans"
            f" {late:.3f} s, {dict(who)}, {tight} gaps < 5 ms,"
            f" min gap {min(gaps) * 1000 if gaps else 0:.1f} ms"
        )


async def seed(url: str, n: int) -> None:
    engine = make_engine(url)
    await upgrade(engine)
    now = utcnow()
    async with make_sessionmaker(engine)() as session, session.begin():
        for start in range(0, n, 5000):
            rows = [
                {
                    "channel": "telegram",
                    "external_id": str(BASE + i),
                    "consented_at": now,
                    "reminder_optouts": [],
                    "is_admin": False,
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(start, min(n, start + 5000))
            ]
            await session.execute(insert(User), rows)
    await engine.dispose()


async def new_broadcast(url: str, text: str) -> None:
    engine = make_engine(url)
    async with make_sessionmaker(engine)() as session, session.begin():
        await data.create_broadcast(
            session,
            text=text,
            html=False,
            audience=data.Audience(),
            created_by=None,
            now=utcnow(),
            urgent=True,
        )
    await engine.dispose()


def write_config(folder: Path, url: str, fake: FakeTelegram) -> Path:
    path = folder / "bench.toml"
    path.write_text(
        f'[database]\nurl = "{url}"\n'
        f'[telegram]\ntoken = "{fake.token}"\napi_base = "{fake.base_url}"\n'
        f'[media]\ndir = "{folder / "media"}"\n'
        '[reminders]\nquiet_hours = ""\n'
        f'[broadcast]\ntelegram_rate = {CEILING}\nlease = "10s"\n'
        '[log]\nlevel = "WARNING"\n'
    )
    return path


async def start_workers(
    config: Path, n: int, owners: Owners | None = None, prefix: str = "w"
) -> list[asyncio.subprocess.Process]:
    workers = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "broadcast",
            "work",
            "--until-idle",
            "--config",
            str(config),
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        for _ in range(n)
    ]
    for i, w in enumerate(workers):
        if owners is not None:
            owners.add(w, f"{prefix}{i + 1}")
    return workers


def report(fake: CeilingTelegram, expected: int) -> tuple[int, int]:
    got = fake.received()
    lost = expected - len(got)
    duplicated = sum(n - 1 for n in got.values())
    return lost, duplicated


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipients", type=int, default=50_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--phase", choices=("both", "all", "1", "2", "3"), default="all", help="run one phase only"
    )
    parser.add_argument("--replies", type=int, default=600)
    args = parser.parse_args()
    server = os.environ.get(
        "KURASI_TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
    )
    url = await create_database(server)
    try:
        await seed(url, args.recipients)
        async with CeilingTelegram() as fake:
            owners = Owners(fake)
            owners.start()
            lag = asyncio.create_task(watch_lag())
            with tempfile.TemporaryDirectory() as tmp:
                config = write_config(Path(tmp), url, fake)
                if args.phase in ("all", "both", "1"):
                    await phase_one(fake, url, config, args, owners)
                    windows(fake, owners)
                    fake.reset()
                if args.phase in ("all", "both", "2"):
                    await phase_two(fake, url, config, args, owners)
                    windows(fake, owners)
                    fake.reset()
                if args.phase in ("all", "3"):
                    await phase_three(fake, url, config, args, owners)
                    windows(fake, owners)
            await owners.stop()
            lag.cancel()
    finally:
        await drop_database(server, url)


async def phase_one(
    fake: CeilingTelegram, url: str, config: Path, args: Any, owners: Owners
) -> None:
    await new_broadcast(url, "Bench 1")
    workers = await start_workers(config, args.workers, owners)
    await asyncio.gather(*(w.wait() for w in workers))
    times = sorted(c.at for c in fake.sent("sendMessage"))
    rate = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0
    lost, duplicated = report(fake, args.recipients)
    print(f"recipients {args.recipients}, workers {args.workers}, ceiling {CEILING:.0f}/s")
    print(f"phase 1: sent {len(times)} in {times[-1] - times[0]:.1f} s")
    print(f"  achieved rate {rate:.2f}/s = {rate / CEILING:.3f} of the ceiling")
    print(f"  429 answers {fake.limited}, lost {lost}, duplicated {duplicated}")


async def phase_two(
    fake: CeilingTelegram, url: str, config: Path, args: Any, owners: Owners
) -> None:
    await new_broadcast(url, "Bench 2")
    workers = await start_workers(config, args.workers, owners)
    await fake.wait_for("sendMessage", count=args.recipients // 2, timeout=24 * 3600)
    # A crash comes at any moment, not just as a request arrives.
    await asyncio.sleep(random.uniform(0, 1))  # noqa: S311 - timing jitter, not security
    for w in workers:
        if w.returncode is None:  # an --until-idle worker may already have left
            with contextlib.suppress(ProcessLookupError):
                w.send_signal(signal.SIGKILL)
    await asyncio.gather(*(w.wait() for w in workers))
    at_kill = len(fake.sent("sendMessage"))
    kill_at = time.monotonic()
    workers = await start_workers(config, args.workers, owners, "new")
    await asyncio.gather(*(w.wait() for w in workers))
    lost, duplicated = report(fake, args.recipients)
    if os.environ.get("BENCH_DEBUG"):
        got = fake.received()
        dups = sorted(c for c, n in got.items() if n > 1)[:5]
        for chat in dups:
            print(chat, [round(c.at, 2) for c in fake.sent("sendMessage", chat)])
        print("kill at", round(kill_at, 2))
    print(f"phase 2: SIGKILL after {at_kill} sends, resumed by {args.workers} new workers")
    print(f"  lost {lost}, duplicated {duplicated}, 429 answers {fake.limited}")


async def phase_three(
    fake: CeilingTelegram, url: str, config: Path, args: Any, owners: Owners
) -> None:
    port = free_port()
    with config.open("a") as f:
        f.write(f"[http]\nport = {port}\n")
    bot = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        "--config",
        str(config),
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    owners.names[bot.pid] = "bot"
    try:
        await fake.wait_for("getUpdates", timeout=60)
        await new_broadcast(url, "Bench 3")
        workers = await start_workers(config, args.workers, owners)
        await fake.wait_for("sendMessage", count=50, timeout=60)  # the broadcast is under way
        people = [REPLIERS + i for i in range(args.replies)]
        for person in people:
            fake.push_update(fake.message(person, "/bantuan"))
            await asyncio.sleep(0.05)
        await asyncio.gather(*(w.wait() for w in workers))
        answered: set[int] = set()
        deadline = time.monotonic() + 120
        while len(answered) < len(people) and time.monotonic() < deadline:
            answered = {
                int(c.chat_id) for c in fake.sent("sendMessage") if int(c.chat_id) >= REPLIERS
            }
            await asyncio.sleep(0.5)
    finally:
        bot.send_signal(signal.SIGTERM)
        await bot.wait()
    times = sorted(c.at for c in fake.sent("sendMessage") if int(c.chat_id) < REPLIERS)
    rate = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0
    replies = sum(1 for c in fake.sent("sendMessage") if int(c.chat_id) >= REPLIERS)
    lost, duplicated = report_below(fake, args.recipients)
    print(f"phase 3: a broadcast to {args.recipients} while {args.replies} people write")
    print(f"  broadcast {rate:.2f}/s, {replies} reply messages to {len(answered)} people")
    print(f"  429 answers {fake.limited}, broadcast lost {lost}, duplicated {duplicated}")


REPLIERS = 5_000_000
STALLS: list[float] = []  # the fake's own event loop late by more than 10 ms, seconds


async def watch_lag() -> None:
    """How late this process's event loop runs (the fake reads a request that late, and
    counts it then): late arrivals the senders did not cause."""
    while True:
        t = time.monotonic()
        await asyncio.sleep(0.005)
        late = time.monotonic() - t - 0.005
        if late > 0.01:
            STALLS.append(late)


def report_below(fake: CeilingTelegram, expected: int) -> tuple[int, int]:
    got = Counter(int(c.chat_id) for c in fake.sent("sendMessage") if int(c.chat_id) < REPLIERS)
    return expected - len(got), sum(n - 1 for n in got.values())


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


if __name__ == "__main__":
    asyncio.run(main())
