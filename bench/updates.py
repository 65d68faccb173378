"""Updates per second, latency, CPU and memory: Kurasi (PostgreSQL, SQLite) vs a bare echo bot.

    .venv/bin/python -m bench.updates [--users 60] [--makers N] [--rate 100] [--seconds 10]
        [--url postgresql+asyncpg://postgres@127.0.0.1:5432/test]
        [--only echo,floor,postgresql,sqlite]

Each bot runs as its own process, long polling the fake Bot API of tests/fakes/telegram.py
on 127.0.0.1 (run here, in the benchmark's process, so the bot's CPU is its own).

1. Throughput, all at once, each person waiting for the bot's answer before the next step:
   - --users newcomers: /start, two button presses (language, consent), two registration
     answers, /bantuan and a free text (7 updates);
   - --makers registered producers (seeded into the database; default as many as --users):
     /produk_baru, the product's answers typed and pressed, a 1200x900 JPEG photo, "done"
     (14 updates).
   A step is answered by the first message into its chat; a button is pressed once the
   keyboard holding it has arrived; the phase ends when the bot has gone quiet. The echo
   bot gets the same updates: it echoes text, and answers a press as a bot moving to its
   next step does (answerCallbackQuery, then a message).
   "floor" is the echo bot with a database: one raw asyncpg (or aiosqlite) transaction of
   four statements per update (bench/echo.py), the least any bot keeping its state in a
   database does.
2. Latency: /bantuan from the now-known people, paced at --rate updates/s for --seconds;
   time from the update being offered to the first answer; p50/p95/p99.
CPU ms per update is the bot process's user+system time over phase 1; calls/upd the Bot
API calls it made per update (Kurasi answers some steps with two or three messages); RSS is
read from /proc before phase 1 (idle, after start) and after phase 2.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
import tempfile
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.fakes.telegram import Call, FakeTelegram
from tests.support import make_photo

MAKERS = 700_000  # the seeded producers' chat ids start here
TOKEN = "123456789:AAbenchmarkTOKENbenchmarkTOKENbench"  # noqa: S105 - the fake's
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class BenchTelegram(FakeTelegram):
    """The fake, telling waiters about the first finished answer into their chat."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(token=TOKEN, **kwargs)
        # Per chat, the askers waiting for an answer, oldest first.
        self.waiters: dict[str, deque[asyncio.Future[Call]]] = defaultdict(deque)
        # How an update reaches the bot: queued for getUpdates, or posted to a webhook.
        self.deliver: Callable[[dict[str, Any]], Awaitable[None]] | None = None
        self._seen = 0
        self.last_answer_at = 0.0
        self.keyboards = True  # whether the bot under test draws buttons (the echo bot: no)

    def _notify_calls(self) -> None:
        super()._notify_calls()
        calls = self.calls
        # Answers finish out of order: look at the recent ones for a result just set.
        for call in calls[max(0, len(calls) - 64) :]:
            if call.result is None and call.error is None:
                continue
            if getattr(call, "_bench_seen", False):
                continue
            call._bench_seen = True  # type: ignore[attr-defined]
            method = call.method.lower()
            if method == "getupdates":
                continue
            if not method.startswith(("send", "edit", "copy")):
                continue  # answerCallbackQuery only stops the spinner: the step is not shown yet
            self.last_answer_at = call.at
            queue = self.waiters.get(str(call.params.get("chat_id")))
            while queue:
                waiter = queue.popleft()
                if not waiter.done():
                    waiter.set_result(call)
                    break

    async def ask(self, chat: int, update: dict[str, Any], timeout: float = 30) -> Call:  # noqa: ASYNC109
        waiter: asyncio.Future[Call] = asyncio.get_running_loop().create_future()
        self.waiters[str(chat)].append(waiter)
        if self.deliver is None:
            self.push_update(update)
        else:
            await self.deliver(update)
        return await asyncio.wait_for(waiter, timeout)


async def quiet(fake: FakeTelegram, *, for_seconds: float = 0.5) -> None:
    """Until the bot has made no call but getUpdates for `for_seconds`."""
    while True:
        seen = sum(c.method != "getUpdates" for c in fake.calls)
        await asyncio.sleep(for_seconds)
        if sum(c.method != "getUpdates" for c in fake.calls) == seen:
            return


async def labelled(fake: BenchTelegram, chat: int, label: str, *, after: float) -> str:
    """The callback data of the button whose text holds `label`, on a keyboard the bot sent
    into the chat since `after`: waited for, as a person waits to see the buttons before
    pressing one (a step may answer with a message first and its keyboard next). A bot
    that draws no keyboards (the echo bot) gets "noop" at once."""
    deadline = time.perf_counter() + 30
    while fake.keyboards and time.perf_counter() < deadline:
        for call in reversed(fake.sent(chat_id=chat)):
            if call.at < after:
                break
            markup = call.params.get("reply_markup") or {}
            rows = markup.get("inline_keyboard") if isinstance(markup, dict) else None
            for row in rows or ():
                for b in row:
                    if label.lower() in str(b.get("text", "")).lower():
                        return str(b.get("callback_data"))
        await asyncio.sleep(0.002)
    return "noop"


class Talk:
    """One person's side of a chat: each step waits for the bot's answer (closed loop)."""

    def __init__(self, fake: BenchTelegram, chat: int, name: str) -> None:
        self.fake, self.chat, self.name = fake, chat, name
        self.steps = 0
        self.asked = 0.0  # when the last step went out (the fake's clock)

    async def say(self, text: str | None = None, **content: Any) -> None:
        self.asked = self.fake._clock()
        update = self.fake.message(self.chat, text, first_name=self.name, **content)
        await self.fake.ask(self.chat, update)
        self.steps += 1

    async def press(self, label: str) -> None:
        data = await labelled(self.fake, self.chat, label, after=self.asked)
        self.asked = self.fake._clock()
        await self.fake.ask(self.chat, self.fake.callback(self.chat, data, first_name=self.name))
        self.steps += 1


async def person(fake: BenchTelegram, n: int) -> int:
    """Someone new: /start, language, consent, two registration answers, /bantuan, chat."""
    talk = Talk(fake, 500_000 + n, f"Budi{n}")
    await talk.say("/start")
    await talk.press("Bahasa Indonesia")
    await talk.press("setuju")
    await talk.say(f"Keripik Tempe {n}")
    await talk.say(f"Ibu Tini {n}")
    await talk.say("/bantuan")
    await talk.say("halo, apa kabar?")
    return talk.steps


async def maker(fake: BenchTelegram, n: int, photo: bytes) -> int:
    """A registered producer (seeded) adding a food product with a photo: 14 updates."""
    talk = Talk(fake, MAKERS + n, f"Tini{n}")
    await talk.say("/produk_baru")
    await talk.say(f"Keripik Tempe {n}")
    await talk.press("⭐")  # the business's own sector, offered first
    await talk.say("Keripik tempe tipis dan renyah dari kedelai lokal Malang, digoreng kering.")
    await talk.press("Lewati")  # no English description
    await talk.say("Rp 25.000")
    await talk.press("pack")
    await talk.say("10")
    await talk.say("500 pack")
    await talk.say("tempe, minyak kelapa, garam")
    await talk.say("6 bulan")
    await talk.press("Selesai")  # the legal documents, as the business has them
    await talk.say(photo=fake.photo_sizes(photo, 1200, 900))
    await talk.press("Selesai")  # enough photos: the product card
    return talk.steps


async def seed_makers(url: str, count: int) -> None:
    """Registered producers for `maker`, straight into a migrated database."""
    from db.base import utcnow
    from db.engine import make_engine, make_sessionmaker
    from db.migrate import upgrade
    from tests.factories import producer

    engine = make_engine(url)
    try:
        await upgrade(engine)
        async with make_sessionmaker(engine)() as session, session.begin():
            for n in range(count):
                await producer(
                    session, external_id=str(MAKERS + n), channel="telegram", now=utcnow()
                )
    finally:
        await engine.dispose()


def proc_stats(pid: int) -> tuple[float, float]:
    """(CPU seconds so far, RSS in MB) of a process, from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    with open(f"/proc/{pid}/status") as f:
        rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    return cpu, rss / 1024


@dataclass
class Result:
    name: str
    updates: int = 0
    seconds: float = 0.0
    cpu_ms: float = 0.0
    rss_idle: float = 0.0
    rss_after: float = 0.0
    latencies: list[float] = field(default_factory=list)
    missed: int = 0
    calls: int = 0  # Bot API calls (getUpdates aside) in phase 1

    @property
    def rate(self) -> float:
        return self.updates / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def run_target(name: str, command: list[str], args: argparse.Namespace) -> Result:
    result = Result(name)
    async with BenchTelegram() as fake:
        fake.keyboards = "echo" not in name
        env = {**os.environ, "KURASI_CONFIG": ""}
        cmd = [part.replace("{API}", fake.base_url) for part in command]
        for part in cmd:
            if part.endswith(".toml"):  # the config names the fake's address too
                _fill_in(Path(part), fake.base_url)
        proc = await asyncio.create_subprocess_exec(
            *cmd, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE, env=env
        )
        try:
            await fake.wait_for("getUpdates", timeout=180)
            await asyncio.sleep(1.0)  # let start-up settle
            _cpu, result.rss_idle = proc_stats(proc.pid)
            cpu_before, _ = proc_stats(proc.pid)
            calls_before = sum(c.method != "getUpdates" for c in fake.calls)
            started = fake._clock()  # the clock the fake stamps calls with
            photo = make_photo("good")
            counts = await asyncio.gather(
                *(person(fake, n) for n in range(args.users)),
                *(maker(fake, n, photo) for n in range(args.makers)),
            )
            # Some steps answer with more than one message: the phase ends with the last.
            await quiet(fake)
            result.seconds = fake.last_answer_at - started
            result.updates = sum(counts)
            cpu_after, _ = proc_stats(proc.pid)
            result.cpu_ms = (cpu_after - cpu_before) * 1000 / max(result.updates, 1)
            result.calls = sum(c.method != "getUpdates" for c in fake.calls) - calls_before

            async def one(n: int) -> None:
                chat = 500_000 + n % args.users
                t0 = time.perf_counter()
                try:
                    await fake.ask(chat, fake.message(chat, "/bantuan", first_name=f"Budi{n}"))
                    result.latencies.append(time.perf_counter() - t0)
                except TimeoutError:
                    result.missed += 1

            tasks = []
            await quiet(fake)
            # The fake keeps every call: by now a heap whose full collections would pause
            # this process (the fake server) for 100+ ms and be charged to the bot.
            gc.collect()
            gc.freeze()
            interval = 1 / args.rate
            t0 = time.perf_counter()
            # One person asks at a time per chat: spread over the known people in turn.
            for i in range(int(args.rate * args.seconds)):
                delay = t0 + i * interval - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(one(i)))
            await asyncio.gather(*tasks)
            _cpu, result.rss_after = proc_stats(proc.pid)
        finally:
            proc.terminate()
            _out, err = await proc.communicate()
            if proc.returncode not in (0, -15, 143) and err:
                print(err.decode(errors="replace")[-2000:], file=sys.stderr)
    return result


def _fill_in(config: Path, api_base: str) -> None:
    config.write_text(config.read_text().replace("{API}", api_base))


def kurasi_command(database_url: str, media: Path) -> list[str]:
    config = media / "bench.toml"
    config.write_text(
        f'[database]\nurl = "{database_url}"\n'
        f'[telegram]\ntoken = "{TOKEN}"\napi_base = "{{API}}"\nmode = "polling"\n'
        f'[http]\nport = 0\n[media]\ndir = "{media / "media"}"\n'
        '[limits]\nflood_messages = 100000\n[log]\nlevel = "WARNING"\n'
    )
    return [sys.executable, "-m", "bot", "run", "--config", str(config)]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=60)
    parser.add_argument("--makers", type=int, default=None, help="default: --users")
    parser.add_argument("--rate", type=float, default=100)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--only", default="echo,floor,postgresql,sqlite")
    args = parser.parse_args()
    if args.makers is None:
        args.makers = args.users
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from db.engine import make_engine

    results: list[Result] = []
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        targets: list[tuple[str, list[str]]] = []
        if "echo" in args.only:
            targets.append(
                ("bare aiogram echo", [sys.executable, "-m", "bench.echo", TOKEN, "{API}"])
            )
        database = None
        admin = make_engine(args.url, isolation_level="AUTOCOMMIT")
        if "postgresql" in args.only or "floor" in args.only:
            database = f"kurasi_bench_{uuid.uuid4().hex[:8]}"
            async with admin.connect() as conn:
                await conn.execute(text(f'CREATE DATABASE "{database}"'))
            pg = make_url(args.url).set(database=database).render_as_string(hide_password=False)
        if "floor" in args.only:
            dsn = pg.replace("postgresql+asyncpg://", "postgresql://")
            floor = [sys.executable, "-m", "bench.echo", TOKEN, "{API}", dsn]
            targets.append(("echo + asyncpg (floor)", floor))
        if "postgresql" in args.only:
            (base / "pg").mkdir()
            await seed_makers(pg, args.makers)
            targets.append(("Kurasi on PostgreSQL", kurasi_command(pg, base / "pg")))
        if "floor" in args.only:
            floor = [sys.executable, "-m", "bench.echo", TOKEN, "{API}", str(base / "floor.db")]
            targets.append(("echo + aiosqlite (floor)", floor))
        if "sqlite" in args.only:
            (base / "lite").mkdir()
            lite = f"sqlite+aiosqlite:///{base / 'lite' / 'kurasi.db'}"
            await seed_makers(lite, args.makers)
            targets.append(("Kurasi on SQLite", kurasi_command(lite, base / "lite")))
        try:
            for name, command in targets:
                print(f"running {name} ...", flush=True)
                results.append(await run_target(name, command, args))
        finally:
            if database:
                async with admin.connect() as conn:
                    await conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            await admin.dispose()

    echo = next((r for r in results if r.name == "bare aiogram echo"), None)
    print(
        f"\n{args.users} newcomers x 7 updates and {args.makers} producers x 14 (a product with "
        f"a photo), closed loop; then /bantuan paced at "
        f"{args.rate:g}/s for {args.seconds:g} s. Machine: {os.cpu_count()} cores, shared."
    )
    print(
        f"{'':24} {'updates/s':>9} {'vs echo':>8} {'CPU ms/upd':>10} "
        f"{'calls/upd':>9} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'missed':>6} "
        f"{'RSS idle':>9} {'RSS after':>9}"
    )
    for r in results:
        ratio = r.rate / echo.rate if echo and echo.rate else float("nan")
        print(
            f"{r.name:24} {r.rate:9.0f} {ratio:8.2f} {r.cpu_ms:10.1f} "
            f"{r.calls / max(r.updates, 1):9.2f} "
            f"{r.pct(0.50):7.1f} {r.pct(0.95):7.1f} {r.pct(0.99):7.1f} {r.missed:6d} "
            f"{r.rss_idle:8.0f}M {r.rss_after:8.0f}M"
        )


if __name__ == "__main__":
    asyncio.run(main())
