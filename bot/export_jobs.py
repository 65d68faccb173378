"""/ekspor's files, built off the update path: a background task per request.

The update that asked was answered at once (handlers/features/export/). Here the job posts a
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
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import structlog

from bot.i18n import translator
from db.exports import MIME, Style, count_rows, filename, write_export
from handlers.features.export import CHOICES, ExportJob
from handlers.features.export.labels import describe, presenter
from handlers.kit.events import Attachment, Reply

if TYPE_CHECKING:
    from bot.channels.base import Channel
    from bot.runtime import Kurasi

log = structlog.get_logger(__name__)

LIMIT_BYTES = 45 * 1024 * 1024  # under Telegram's 50 MB for a bot's upload


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
    ) -> None:
        self.app = app
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

    async def run(self, job: ExportJob) -> None:
        channel = self.app.channels.get(job.channel)
        if channel is None:
            log.warning("export: no channel", channel=job.channel)
            return
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

        started = time.monotonic()
        try:
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
            await say(t("The export was stopped by a restart of the bot. Please ask again."))
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
