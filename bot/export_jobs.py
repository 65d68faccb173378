"""/ekspor's files, built off the update path: a background task per request.

The update that asked was answered at once (handlers/features/export/) and stored the request
(db/export_requests.py) in its transaction; a job leases the request while it runs, so a
restart or a crash mid-export starts it again (at the next start, or at another worker's
tick once the lease runs out) instead of losing it. Here the job posts a
progress message and edits it every few seconds, streams each file to a temporary file
(the database cursor and db/xlsx.py's streamed sheet keep memory flat; each batch is
written in a worker thread so the event loop keeps serving updates), then sends the files
through the channel's own document sending. A file over the platform's upload limit goes
as a ZIP, and a ZIP still over it in parts (joined with `cat` or 7-Zip).
"""

from __future__ import annotations

import asyncio
import tempfile
import time
import zipfile
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import structlog

from bot.i18n import translator
from db.export_requests import (
    LEASE,
    MAX_RUNS,
    claim,
    finish,
    forget_finished,
    open_requests,
    release,
    renew,
)
from db.exports import MIME, Style, count_rows, filename, write_export
from db.models import ExportRequest
from handlers.features.export import CHOICES, ExportJob
from handlers.features.export.labels import describe, presenter
from handlers.kit.events import Attachment, Reply

if TYPE_CHECKING:
    from bot.channels.base import Channel
    from bot.runtime import Kurasi

log = structlog.get_logger(__name__)

LIMIT_BYTES = 45 * 1024 * 1024  # under Telegram's 50 MB for a bot's upload
RENEW_EVERY = LEASE.total_seconds() / 3  # a running job's heartbeat: renews its lease
KEEP_FINISHED = timedelta(days=30)  # what was asked and when, then forgotten


def package(path: Path, *, limit: int = LIMIT_BYTES) -> list[Path]:
    """The files to send for `path`: itself when small enough, else a ZIP of it, else the
    ZIP in numbered parts of at most `limit` bytes."""
    if path.stat().st_size <= limit:
        return [path]
    zipped = path.with_name(path.name + ".zip")
    with zipfile.ZipFile(zipped, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as z:
        z.write(path, arcname=path.name)
    path.unlink()
    if zipped.stat().st_size <= limit:
        return [zipped]
    parts: list[Path] = []
    with zipped.open("rb") as whole:
        while chunk := whole.read(limit):
            part = zipped.with_name(f"{zipped.name}.{len(parts) + 1:03d}")
            part.write_bytes(chunk)
            parts.append(part)
    zipped.unlink()
    return parts


def _mime(path: Path) -> str:
    suffix = path.suffix.lstrip(".")
    return MIME.get(suffix, "application/octet-stream")


class ExportJobs:
    """Starts and tracks the export tasks of one process (`FlowSettings.exports`)."""

    def __init__(
        self,
        app: Kurasi,
        *,
        limit: int = LIMIT_BYTES,
        progress_every: float = 3.0,
        workdir: Path | None = None,
        renew_every: float = RENEW_EVERY,
    ) -> None:
        self.app = app
        self.renew_every = renew_every
        self.limit = limit
        self.progress_every = progress_every
        self.workdir = workdir
        self._tasks: set[asyncio.Task[None]] = set()

    def __call__(self, job: ExportJob, /) -> None:
        task = asyncio.create_task(self.run(job))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait for the running exports (tests; at shutdown after `cancel`)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def cancel(self) -> None:
        """Stop the running exports (the process is stopping): each tells its admin."""
        for task in list(self._tasks):
            task.cancel()

    async def resume(self) -> int:
        """Start the stored requests no job holds: those a stop or a crash interrupted (at
        start, and at every tick for another worker's that died). How many were started."""
        now = self.app.clock()
        async with self.app.sessionmaker() as session, session.begin():
            await forget_finished(session, before=now - KEEP_FINISHED)
            ids = await open_requests(session, now=now)
            requests = [await session.get(ExportRequest, i) for i in ids]
        started = 0
        for request in requests:
            if request is None:
                continue
            try:
                job = ExportJob.from_spec(request.spec, request_id=request.id)
            except (KeyError, TypeError, ValueError):
                log.error("export request unreadable; dropped", request=request.id)
                async with self.app.sessionmaker() as session, session.begin():
                    await finish(session, request_id=request.id, now=self.app.clock())
                continue
            self(job)
            started += 1
        if started:
            log.info("exports resumed", count=started)
        return started

    async def _claim(self, job: ExportJob) -> int | None:
        """The run's number for its stored request (None: finished, or held elsewhere)."""
        if job.request_id is None:
            return 1
        async with self.app.sessionmaker() as session, session.begin():
            request = await claim(session, request_id=job.request_id, now=self.app.clock())
            return None if request is None else request.runs

    async def _close(self, job: ExportJob, *, done: bool) -> None:
        if job.request_id is None:
            return
        try:
            async with self.app.sessionmaker() as session, session.begin():
                if done:
                    await finish(session, request_id=job.request_id, now=self.app.clock())
                else:
                    await release(session, request_id=job.request_id)
        except Exception:  # the lease runs out and another start takes it up
            log.warning("export request not updated", request=job.request_id, exc_info=True)

    async def run(self, job: ExportJob) -> None:
        runs = await self._claim(job)
        if runs is None:
            return
        channel = self.app.channels.get(job.channel)
        if channel is None:  # kept for a process that has this channel, a few times
            log.warning("export: no channel", channel=job.channel)
            await self._close(job, done=runs >= MAX_RUNS)
            return
        heartbeat = asyncio.create_task(self._heartbeat(job))
        try:
            await self._run(job, channel, runs)
        except asyncio.CancelledError:
            await asyncio.shield(self._close(job, done=False))
            raise
        else:
            await self._close(job, done=True)
        finally:
            heartbeat.cancel()

    async def _heartbeat(self, job: ExportJob) -> None:
        """Renew the lease while the job runs (a long upload included); a process that dies
        stops renewing, and another start or tick takes the request up once it runs out."""
        if job.request_id is None:
            return
        while True:
            await asyncio.sleep(self.renew_every)
            try:
                async with self.app.sessionmaker() as session, session.begin():
                    await renew(session, request_id=job.request_id, now=self.app.clock())
            except Exception:
                log.warning("export lease not renewed", request=job.request_id, exc_info=True)

    async def _run(self, job: ExportJob, channel: Channel, runs: int) -> None:
        t = translator(job.language)
        what = t(CHOICES["phones" if job.personal else job.what][2])
        bound = log.bind(user_id=job.user_id, export=job.what)
        progress_id: str | None = None

        async def say(text: str) -> None:
            nonlocal progress_id
            try:
                ids = await channel.post(
                    job.chat_id, Reply(text, edit_message_id=progress_id or None)
                )
                progress_id = progress_id or (ids[-1] if ids else None)
            except Exception:  # progress is a courtesy: the files still come
                bound.warning("export progress message failed", exc_info=True)

        if runs > MAX_RUNS:
            bound.error("export given up after interruptions", runs=runs - 1)
            await say(t("Sorry, the export failed. Please try again later."))
            return
        started = time.monotonic()
        try:
            if runs > 1:
                await say(
                    t("⏳ The bot restarted during your {what} export: it starts again.", what=what)
                )
                progress_id = None  # the new progress message below is the one edited
            filters = job.typed.filters(job.timezone)
            style_words = presenter(t)
            today = self.app.clock().astimezone(ZoneInfo(job.timezone)).date()
            with tempfile.TemporaryDirectory(dir=self.workdir) as tmp:
                async with self.app.sessionmaker() as session:
                    total = await count_rows(session, what=job.what, filters=filters)
                    await say(t("⏳ {what}: 0 of {total} rows…", what=what, total=total))
                    last = time.monotonic()
                    paths: list[Path] = []
                    for n, (fmt, delimiter) in enumerate(job.files, start=1):

                        async def progress(done: int, n: int = n) -> None:
                            nonlocal last
                            if time.monotonic() - last >= self.progress_every:
                                last = time.monotonic()
                                await say(
                                    t(
                                        "⏳ {what}: {done} of {total} rows (file {n} of {files})…",
                                        what=what,
                                        done=done,
                                        total=total,
                                        n=n,
                                        files=len(job.files),
                                    )
                                )

                        path = Path(tmp) / filename(job.what, fmt, today=today, phones=job.personal)
                        with path.open("wb") as fh:
                            count = await write_export(
                                session,
                                what=job.what,
                                fmt=fmt,
                                out=fh,
                                phones=job.personal,
                                filters=filters,
                                style=Style(
                                    timezone=job.timezone,
                                    presenter=style_words,
                                    delimiter=delimiter,
                                ),
                                progress=progress,
                            )
                        paths.append(path)
                files = [
                    p
                    for path in paths
                    for p in await asyncio.to_thread(package, path, limit=self.limit)
                ]
                await self._send(channel, job.chat_id, files)
            parted = any(p.suffix.lstrip(".").isdigit() for p in files)
            done = t(
                "✅ {what}: {n} rows ({filters}), {seconds} s.",
                what=what,
                n=count,
                filters=describe(t, job.typed),
                seconds=round(time.monotonic() - started),
            )
            if parted:
                done += "\n" + t(
                    "The file was too big for one message: join the parts (cat, or 7-Zip) "
                    "and unzip."
                )
            await say(done)
            bound.info("export sent", rows=count, files=len(files))
        except asyncio.CancelledError:
            bound.info("export interrupted by shutdown")
            await say(
                t(
                    "The export was stopped by a restart of the bot; it starts again by itself "
                    "when the bot is back."
                )
            )
            raise
        except Exception:
            bound.exception("export failed")
            await say(t("Sorry, the export failed. Please try again later."))

    async def _send(self, channel: Channel, chat_id: str, files: Sequence[Path]) -> None:
        for path in files:
            data = await asyncio.to_thread(path.read_bytes)
            await channel.post(
                chat_id,
                Reply("", attachment=Attachment(filename=path.name, data=data, mime=_mime(path))),
            )
            del data
