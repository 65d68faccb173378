"""A WhatsApp flood against `kurasi run` on PostgreSQL, then the same with a kill -9.

    .venv/bin/python -m bench.whatsapp_flood [--senders 200] [--messages 10]
        [--kill-after 800] [--url postgresql+asyncpg://postgres@127.0.0.1:5432/test]

One `kurasi run` serving only WhatsApp (default settings: 10 updates in flight, a pool of
15 + 5 connections) on a fresh database, answering through the fake Graph API of
tests/fakes/whatsapp.py, run here. This script plays Meta: every sender posts its signed
messages one after another as fast as the webhook acknowledges them, all senders at once.

1. Flood: --senders x --messages "/start" (each answered with one message, the language
   question). Prints acknowledgement and answer times (p50/p95/p99 from posting a message
   to its answer: a sender's k-th answer answers its k-th message), messages handled per
   second, answers per message, apologies, and the bot's database retries.
2. Kill: the same flood again; SIGKILL the bot once --kill-after were acknowledged, start
   a new one, post again only what was not acknowledged (as Meta does). Prints
   acknowledged / handled / lost / answered twice / handled without an answer (committed
   in the instant of the kill, the reply not sent yet: at most one per worker).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from tests.fakes.whatsapp import FakeWhatsApp

APOLOGIES = ("Maaf, ada gangguan", "something went wrong")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


@dataclass
class Flood:
    """One wave of messages: what was posted when, and what was acknowledged."""

    bodies: dict[str, list[bytes]]
    ids: dict[bytes, str]
    posted: dict[str, float] = field(default_factory=dict)  # message id -> first post
    acked: dict[str, float] = field(default_factory=dict)  # message id -> its 200


def make_flood(fake: FakeWhatsApp, senders: list[str], per_sender: int) -> Flood:
    bodies = {
        wa: [json.dumps(fake.webhook(wa, fake.text("/start"))).encode() for _ in range(per_sender)]
        for wa in senders
    }
    ids = {
        body: json.loads(body)["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
        for messages in bodies.values()
        for body in messages
    }
    return Flood(bodies, ids)


async def post_all(
    http: aiohttp.ClientSession,
    url: str,
    fake: FakeWhatsApp,
    flood: Flood,
    *,
    enough: asyncio.Event | None = None,
    kill_after: int = 0,
) -> None:
    """Every sender posts its messages not yet acknowledged, in order; stops at the first
    failure (the bot is gone: Meta tries again later)."""

    async def sender(wa: str) -> None:
        for body in flood.bodies[wa]:
            message_id = flood.ids[body]
            if message_id in flood.acked:
                continue
            flood.posted.setdefault(message_id, time.perf_counter())
            try:
                async with http.post(
                    url, data=body, headers={"X-Hub-Signature-256": fake.sign(body)}
                ) as answer:
                    if answer.status != 200:
                        return
            except (TimeoutError, aiohttp.ClientError):
                return
            flood.acked[message_id] = time.perf_counter()
            if enough is not None and len(flood.acked) >= kill_after:
                enough.set()

    await asyncio.gather(*(sender(wa) for wa in flood.bodies))


class Bot:
    def __init__(self, config: Path, log: Path) -> None:
        self.config, self.log = config, log
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self, base: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("KURASI_")}
        # FLOOD_PROFILE=PREFIX: each bot under cProfile, written to PREFIX.bot1 ... on exit.
        prefix = os.environ.get("FLOOD_PROFILE")
        profile = ["-m", "cProfile", "-o", f"{prefix}.{self.log.stem}"] if prefix else []
        with self.log.open("ab") as err:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, *profile, "-m", "bot", "run", "--config", str(self.config),
                stdin=asyncio.subprocess.DEVNULL, stdout=err, stderr=err, env=env,
            )  # fmt: skip
        async with aiohttp.ClientSession() as http:
            for _ in range(600):
                try:
                    async with http.get(f"{base}/healthz") as answer:
                        if answer.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        raise SystemExit("kurasi run did not start:\n" + self.log.read_text()[-3000:])

    async def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(self.proc.wait(), 60)


async def handled(sessionmaker: Any) -> set[str]:
    from sqlalchemy import select

    from db.models import ProcessedUpdate

    async with sessionmaker() as session:
        query = select(ProcessedUpdate.update_key).where(ProcessedUpdate.channel == "whatsapp")
        return set(await session.scalars(query))


async def until_handled(sessionmaker: Any, ids: set[str], *, within: float = 300) -> float:
    started = time.perf_counter()
    while not ids <= await handled(sessionmaker):
        if time.perf_counter() - started > within:
            missing = len(ids - await handled(sessionmaker))
            raise SystemExit(f"{missing} messages never handled")
        await asyncio.sleep(0.2)
    return time.perf_counter()


async def quiet(fake: FakeWhatsApp, seconds: float = 1.5) -> None:
    while True:
        seen = len(fake.calls)
        await asyncio.sleep(seconds)
        if len(fake.calls) == seen:
            return


def answers_by_sender(fake: FakeWhatsApp, since: int) -> dict[str, list[float]]:
    """Each sender's answers (times, perf_counter clock) among the calls since `since`."""
    out: dict[str, list[float]] = defaultdict(list)
    for call in fake.calls[since:]:
        if call.kind == "message" and call.ok:
            out[call.to or ""].append(call.at)
    return out


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--senders", type=int, default=200)
    parser.add_argument("--messages", type=int, default=10)
    parser.add_argument("--kill-after", type=int, default=800)
    parser.add_argument("--url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()

    from db.engine import make_engine, make_sessionmaker
    from db.migrate import upgrade
    from tests.support import create_database, drop_database

    db_url = await create_database(args.url)
    engine = make_engine(db_url)
    await upgrade(engine)
    sessionmaker = make_sessionmaker(engine)
    senders = [f"6281{n:08d}" for n in range(args.senders)]
    total = args.senders * args.messages
    base_dir = Path(tempfile.mkdtemp(prefix="kurasi-flood-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    url = f"{base}/whatsapp/webhook"
    # The fake's call times on the same clock as this script's post times.
    async with FakeWhatsApp(clock=time.perf_counter) as fake:
        config = base_dir / "config.toml"
        config.write_text(
            f'[database]\nurl = "{db_url}"\n'
            f'[whatsapp]\nphone_number_id = "{fake.phone_number_id}"\ntoken = "{fake.token}"\n'
            f'app_secret = "{fake.app_secret}"\nverify_token = "bench"\n'
            f'graph_api_base = "{fake.base_url}"\n'
            f'[http]\nport = {port}\n[media]\ndir = "{base_dir / "media"}"\n'
            "[limits]\nflood_messages = 100000\n",
            encoding="utf-8",
        )
        connector = aiohttp.TCPConnector(limit=0)
        try:
            async with aiohttp.ClientSession(connector=connector) as http:
                # --- 1. the flood ---------------------------------------------------------
                bot = Bot(config, base_dir / "bot1.log")
                await bot.start(base)
                flood = make_flood(fake, senders, args.messages)
                since = len(fake.calls)
                started = time.perf_counter()
                await post_all(http, url, fake, flood)
                acked_at = time.perf_counter()
                done_at = await until_handled(sessionmaker, set(flood.ids.values()))
                await quiet(fake)
                answers = answers_by_sender(fake, since)
                latencies = []
                for wa, messages in flood.bodies.items():
                    for k, body in enumerate(messages):
                        if k < len(answers[wa]):
                            latencies.append(answers[wa][k] - flood.posted[flood.ids[body]])
                texts = [c.text for c in fake.calls[since:] if c.kind == "message" and c.ok]
                apologies = sum(any(a in t for a in APOLOGIES) for t in texts)
                await bot.stop()
                log = (base_dir / "bot1.log").read_text(errors="replace")
                ack = [flood.acked[i] - flood.posted[i] for i in flood.acked]
                print(f"flood: {total} messages from {args.senders} senders")
                print(
                    f"  acknowledged {len(flood.acked)}/{total} in {acked_at - started:.1f} s; "
                    f"ack p50/p99 {pct(ack, 50) * 1000:.0f}/{pct(ack, 99) * 1000:.0f} ms"
                )
                print(
                    f"  handled all in {done_at - started:.1f} s "
                    f"({total / (done_at - started):.0f} messages/s)"
                )
                print(
                    f"  answers {len(texts)} for {total} messages "
                    f"(max per sender {max(len(v) for v in answers.values())}, "
                    f"expected {args.messages}); apologies {apologies}"
                )
                print(
                    "  post -> answer p50/p95/p99: "
                    + " / ".join(f"{pct(latencies, p):.2f}" for p in (50, 95, 99))
                    + f" s; max {max(latencies):.2f} s"
                )
                print(
                    f"  bot log: {log.count('running the update again')} update reruns, "
                    f"{log.count('update not committed')} left stored for later, "
                    f"{log.count('not stored; asking for redelivery')} webhooks answered 503"
                )

                # --- 2. kill -9 mid-flood ------------------------------------------------
                bot = Bot(config, base_dir / "bot2.log")
                await bot.start(base)
                flood = make_flood(fake, senders, args.messages)
                since = len(fake.calls)
                enough = asyncio.Event()
                posting = asyncio.create_task(
                    post_all(http, url, fake, flood, enough=enough, kill_after=args.kill_after)
                )
                await enough.wait()
                await bot.kill()
                await posting
                acked_before = set(flood.acked)
                handled_at_kill = len(set(flood.ids.values()) & await handled(sessionmaker))
                bot = Bot(config, base_dir / "bot3.log")
                await bot.start(base)
                await post_all(http, url, fake, flood)  # Meta: whatever was not acknowledged
                await until_handled(sessionmaker, set(flood.ids.values()))
                await quiet(fake)
                await bot.stop()
                done = set(flood.ids.values()) & await handled(sessionmaker)
                answers = answers_by_sender(fake, since)
                per_sender = [len(v) for v in answers.values()]
                reads = [
                    c.body["message_id"]
                    for c in fake.calls[since:]
                    if c.kind == "read" and c.body["message_id"] in done
                ]
                texts = [c.text for c in fake.calls[since:] if c.kind == "message" and c.ok]
                print(f"kill -9 after {len(acked_before)} acknowledged ({total} in the flood)")
                print(
                    f"  handled at the kill {handled_at_kill}; acknowledged then lost "
                    f"{len(acked_before - done)}; all {total} handled: {len(done) == total}"
                )
                print(
                    f"  answered twice: {sum(n > args.messages for n in per_sender)} senders "
                    f"over {args.messages}, {len(reads) - len(set(reads))} messages read twice; "
                    f"handled without an answer {total - sum(per_sender)}; "
                    f"apologies {sum(any(a in t for a in APOLOGIES) for t in texts)}"
                )
        finally:
            await engine.dispose()
            await drop_database(args.url, db_url)


if __name__ == "__main__":
    asyncio.run(main())
