"""`kurasi run` in a terminal (a pseudo-terminal): every button on screen can be pressed, a
card arriving in the review chat takes no number of the producer's, log lines stay out of
the conversation, and a WhatsApp player acts in the review chat as its curators do."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import time
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlalchemy import select as sql_select

from db.engine import make_engine, make_sessionmaker
from db.fairs import FairData, import_fairs
from db.media_store import MediaStore
from db.migrate import upgrade
from db.models import FairInterest, Product
from db.notifications import plan
from tests.bot.processes import KURASI, write_config
from tests.factories import producer, submitted_product

pytestmark = pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
FAIRS = ("Pameran Satu", "Pameran Dua", "Pameran Tiga")


class Terminal:
    """A process on a pseudo-terminal: what it printed, and lines typed into it."""

    def __init__(self, args: list[str], cwd: Path) -> None:
        self.master, slave = pty.openpty()
        env = {k: v for k, v in os.environ.items() if not k.startswith("KURASI_")}
        env["PYTHONUNBUFFERED"] = "1"
        self.proc = subprocess.Popen(  # noqa: S603 (our own entry point)
            args, stdin=slave, stdout=slave, stderr=slave, cwd=cwd, env=env, close_fds=True
        )
        os.close(slave)
        self.screen = ""

    def _read(self, timeout: float) -> None:
        ready, _, _ = select.select([self.master], [], [], timeout)
        if ready:
            try:
                self.screen += os.read(self.master, 65536).decode(errors="replace")
            except OSError:  # the process closed the terminal
                time.sleep(timeout)

    def expect(self, pattern: str, *, since: int = 0, within: float = 60) -> re.Match[str]:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if m := re.compile(pattern).search(self.screen, since):
                return m
            self._read(0.1)
        raise AssertionError(f"{pattern!r} not on screen:\n{self.screen[since:]}")

    def type(self, line: str) -> int:
        """Type a line; returns where its answer starts on the screen."""
        self._read(0.05)
        mark = len(self.screen)
        os.write(self.master, line.encode() + b"\r")
        return mark

    def close(self) -> int:
        try:
            return self.proc.wait(timeout=30)
        finally:
            os.close(self.master)


async def seed(url: str, media: Path, language: str) -> None:
    engine = make_engine(url)
    await upgrade(engine)
    sessionmaker = make_sessionmaker(engine)
    now = datetime.now(UTC)
    async with sessionmaker() as session, session.begin():
        year = now.year + 1
        rows = [
            FairData(name=name, place="JIExpo", country="Indonesia",
                     start_date=date(year, 5, 10 + i), end_date=date(year, 5, 12 + i), sectors=())
            for i, name in enumerate(FAIRS)
        ]  # fmt: skip
        await import_fairs(session, rows=rows, created_by=None, now=now)
    # A draft of the console user's own, whose reminder is due: it arrives during the chat,
    # and the scheduler logs "reminders sent".
    async with sessionmaker() as session, session.begin():
        user, business = await producer(
            session, channel="console", external_id="console-user", now=now, language=language
        )
        draft = Product(business_id=business.id, name="Sambal Bawang", sector="food")
        session.add(draft)
        await session.flush()
        await plan(
            session, kind="draft", dedupe_key="draft:test", channel="console",
            chat_id="console-user", user_id=user.id, subject_id=draft.id, due_at=now, now=now,
        )  # fmt: skip
    # A submission whose card the running bot posts into the console's review chat.
    await submitted_product(
        sessionmaker, now=now, store=MediaStore(media), chat_id="review", channel="console",
        owner="6281999", name="Keripik Pisang",
    )  # fmt: skip
    await engine.dispose()


async def interests(url: str) -> int:
    engine = make_engine(url)
    async with make_sessionmaker(engine)() as session:
        n = await session.scalar(sql_select(func.count()).select_from(FairInterest))
    await engine.dispose()
    return int(n or 0)


WORDS = {
    "id": {"interest": "Saya tertarik", "noted": "Dicatat", "draft": "draf"},
    "en": {"interest": "I'm interested", "noted": "Noted", "draft": "draft"},
}


@pytest.mark.parametrize("lang", ["id", "en"])
async def test_every_button_on_the_console_can_be_pressed(tmp_path: Path, lang: str) -> None:
    said = WORDS[lang]
    url = f"sqlite+aiosqlite:///{tmp_path / 'kurasi.db'}"
    log_file = tmp_path / "console.log"
    config = write_config(
        tmp_path / "config.toml",
        {
            "database": {"url": url},
            "media": {"dir": str(tmp_path / "media")},
            "console": {"log_file": str(log_file)},
            "catalogue": {"enabled": False},
            "reminders": {"tick": "1s", "quiet_hours": ""},
        },
    )
    await seed(url, tmp_path / "media", lang)
    term = Terminal([*KURASI, "run", "--config", str(config)], tmp_path)
    try:
        start = term.expect(r"\(log lines go to .*console\.log\)").end()
        card = int(term.expect(r"\[in chat review\][\s\S]*?Ambil.*· #(\d+)", since=start)[1])
        term.expect(rf"Sambal Bawang[^\n]*{said['draft']}", since=start)  # a reminder, mid-chat

        at = term.type("/pameran")
        shown = [
            int(
                term.expect(rf"{name}[\s\S]*?\[1\] {said['interest']}[\s\S]*?· #(\d+)", since=at)[1]
            )
            for name in FAIRS
        ]
        assert len(set([*shown, card])) == 4  # every message with buttons has its own number

        at = term.type("1")  # the newest message here: the third fair's, not the card's
        term.expect(rf"{said['noted']}[^\n]*Pameran Tiga", since=at)
        at = term.type(f"{shown[0]}.1")  # an older message's button, by its number
        term.expect(rf"{said['noted']}[^\n]*Pameran Satu", since=at)
        at = term.type(f":press {shown[1]}.1")
        term.expect(rf"{said['noted']}[^\n]*Pameran Dua", since=at)
        at = term.type(f"{card}.1")  # the card is in the review chat: said, nothing pressed
        term.expect(rf"message #{card} is in chat review", since=at)

        # As a WhatsApp user, the review chat is still the console's: the card's Ambil works.
        term.type(":channel whatsapp")
        term.type(":chat review")
        at = term.type(f"{card}.1")
        term.expect(r"Ditangani|ditangani|Diambil|diambil|Skor|skor", since=at)
        assert "grup kurasi lain" not in term.screen[at:]

        at = term.type(":quit")
        assert term.close() == 0
    finally:
        if term.proc.poll() is None:
            term.proc.kill()
            term.proc.wait()
    chat = term.screen[start:]
    assert not re.search(r"\[(info|warning|debug)\s*\]", chat), chat  # no log line in the chat
    logged = log_file.read_text(encoding="utf-8")
    assert "console started" in logged and "reminders sent" in logged, logged  # in the file
    assert "reminders sent" not in chat
    assert await interests(url) == 3
