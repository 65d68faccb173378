"""1 vs 2 webhook workers on one PostgreSQL: updates/s and the ratio.

    .venv/bin/python -m bench.workers [--users 60] [--url postgresql+asyncpg://...]

Each run starts N `kurasi run` processes in webhook mode on one fresh database (they migrate
together, under the advisory lock), all talking to the fake Bot API here. This script plays
the reverse proxy: it posts each update, with the secret header, to the workers in turn.
--users people go through the same 7-step script as bench/updates, waiting for each answer.
It also checks each update was answered once (no double answers across workers).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from bench.updates import TOKEN, BenchTelegram, person, proc_stats, quiet

SECRET = "bench-webhook-secret"  # noqa: S105 - for the fake


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Run:
    rate: float  # updates/s
    updates: int
    answers: int
    workers_cpu: float  # share of one core the workers used together
    own_cpu: float  # share of one core this process (the fake API and the "proxy") used
    machine_busy: float  # share of all cores busy (everything: PostgreSQL too)


def machine_ticks() -> tuple[int, int]:
    """(busy, total) jiffies over all cores, from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


async def run(workers: int, url: str, users: int, base: Path) -> Run:
    """Throughput and where the CPU went, for `workers` processes on a fresh database."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from db.engine import make_engine

    database = f"kurasi_bench_{uuid.uuid4().hex[:8]}"
    admin = make_engine(url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{database}"'))
    db_url = make_url(url).set(database=database).render_as_string(hide_password=False)
    procs = []
    try:
        async with BenchTelegram() as fake, aiohttp.ClientSession() as http:
            ports = [free_port() for _ in range(workers)]
            for n, port in enumerate(ports):
                config = base / f"w{workers}-{n}.toml"
                config.write_text(
                    f'[database]\nurl = "{db_url}"\n'
                    f'[telegram]\ntoken = "{TOKEN}"\napi_base = "{fake.base_url}"\n'
                    'mode = "webhook"\nwebhook_url = "https://kurasi.example/telegram/webhook"\n'
                    f'webhook_secret = "{SECRET}"\n'
                    f'[http]\nport = {port}\n[media]\ndir = "{base / "media"}"\n'
                    '[limits]\nflood_messages = 100000\n[log]\nlevel = "WARNING"\n'
                )
                procs.append(
                    await asyncio.create_subprocess_exec(
                        sys.executable, "-m", "bot", "run", "--config", str(config),
                        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
                        env={**os.environ, "KURASI_CONFIG": ""},
                    )
                )  # fmt: skip
            await fake.wait_for("setWebhook", count=workers, timeout=180)
            await asyncio.sleep(1.0)
            turn = itertools.cycle(ports)
            headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}

            async def deliver(update: dict[str, Any]) -> None:
                endpoint = f"http://127.0.0.1:{next(turn)}/telegram/webhook"
                async with http.post(endpoint, json=update, headers=headers) as response:
                    response.raise_for_status()

            fake.deliver = deliver
            cpu_before = sum(proc_stats(p.pid)[0] for p in procs)
            own_before = sum(os.times()[:2])
            busy_before, total_before = machine_ticks()
            wall_before = time.perf_counter()
            started = fake._clock()  # the clock the fake stamps calls with
            counts = await asyncio.gather(*(person(fake, n) for n in range(users)))
            await quiet(fake)
            seconds = fake.last_answer_at - started
            wall = time.perf_counter() - wall_before
            busy, total = machine_ticks()
            answers = len(fake.sent("sendMessage")) + len(fake.sent("editMessageText"))
            return Run(
                rate=sum(counts) / seconds,
                updates=sum(counts),
                answers=answers,
                workers_cpu=(sum(proc_stats(p.pid)[0] for p in procs) - cpu_before) / wall,
                own_cpu=(sum(os.times()[:2]) - own_before) / wall,
                machine_busy=(busy - busy_before) / max(total - total_before, 1),
            )
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            await proc.wait()
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        await admin.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=60)
    parser.add_argument("--url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        one = await run(1, args.url, args.users, Path(tmp))
        two = await run(2, args.url, args.users, Path(tmp))
    print(
        f"\n{args.users} people x 7 updates over webhooks. Machine: {os.cpu_count()} cores, shared."
    )
    for name, r in (("1 worker ", one), ("2 workers", two)):
        print(
            f"  {name}: {r.rate:6.0f} updates/s ({r.updates} updates, {r.answers} answers); "
            f"CPU: workers {r.workers_cpu:.2f} cores, fake API + proxy {r.own_cpu:.2f}, "
            f"machine {r.machine_busy:.0%} busy"
        )
    print(f"  ratio    : {two.rate / one.rate:.2f}x")


if __name__ == "__main__":
    asyncio.run(main())
