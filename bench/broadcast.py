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


class CeilingTelegram(FakeTelegram):
    """Answers sendMessage with 429 (retry_after 1) when 30 were accepted in the last second."""

    def __init__(self) -> None:
        super().__init__(strict=False)
        self.accepted: deque[float] = deque()
        self.limited = 0

    async def _dispatch(self, token: str, method: str, req: Any) -> Any:
        if method.lower() == "sendmessage":
            now = time.monotonic()
            while self.accepted and self.accepted[0] <= now - 1.0:
                self.accepted.popleft()
            if len(self.accepted) >= CEILING:
                self.limited += 1
                raise _ApiError(429, "Too Many Requests: retry after 1", {"retry_after": 1})
            self.accepted.append(now)
        return await super()._dispatch(token, method, req)

    def received(self) -> Counter[int]:
        return Counter(int(c.chat_id) for c in self.sent("sendMessage"))


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


async def start_workers(config: Path, n: int) -> list[asyncio.subprocess.Process]:
    return [
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
            with tempfile.TemporaryDirectory() as tmp:
                config = write_config(Path(tmp), url, fake)
                if args.phase in ("all", "both", "1"):
                    await phase_one(fake, url, config, args)
                    fake.calls.clear()
                    fake.limited = 0
                if args.phase in ("all", "both", "2"):
                    await phase_two(fake, url, config, args)
                    fake.calls.clear()
                    fake.limited = 0
                if args.phase in ("all", "3"):
                    await phase_three(fake, url, config, args)
    finally:
        await drop_database(server, url)


async def phase_one(fake: CeilingTelegram, url: str, config: Path, args: Any) -> None:
    await new_broadcast(url, "Bench 1")
    workers = await start_workers(config, args.workers)
    await asyncio.gather(*(w.wait() for w in workers))
    times = sorted(c.at for c in fake.sent("sendMessage"))
    rate = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0
    lost, duplicated = report(fake, args.recipients)
    print(f"recipients {args.recipients}, workers {args.workers}, ceiling {CEILING:.0f}/s")
    print(f"phase 1: sent {len(times)} in {times[-1] - times[0]:.1f} s")
    print(f"  achieved rate {rate:.2f}/s = {rate / CEILING:.3f} of the ceiling")
    print(f"  429 answers {fake.limited}, lost {lost}, duplicated {duplicated}")


async def phase_two(fake: CeilingTelegram, url: str, config: Path, args: Any) -> None:
    await new_broadcast(url, "Bench 2")
    workers = await start_workers(config, args.workers)
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
    workers = await start_workers(config, args.workers)
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


async def phase_three(fake: CeilingTelegram, url: str, config: Path, args: Any) -> None:
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
    try:
        await fake.wait_for("getUpdates", timeout=60)
        await new_broadcast(url, "Bench 3")
        workers = await start_workers(config, args.workers)
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
