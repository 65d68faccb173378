"""Photo collection as an input kind: each photo is checked as it arrives
(handlers/rules/photos.py), refused with the reason or stored through the form's hooks, until Done.

An album's photos (separate messages sharing a group id) get one growing answer; a photo
with hints (dark, washed out, blurred) offers to keep it or remove it and send a better one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog

from handlers.i18n import N_
from handlers.kit.context import Context, button
from handlers.kit.events import Button, ButtonPress, Document, Event, MediaRef, Photo, Reply, Text
from handlers.kit.forms.answers import R
from handlers.kit.forms.engine import Field, Form, Got, Input, Outcome, Refuse, Stay
from handlers.kit.payload import ValueData
from handlers.kit.render import normalize
from handlers.rules.photos import Hint, PhotoReport, Refusal, check_photo

log = structlog.get_logger(__name__)
HINT_TIPS = {
    Hint.dark: N_("Photo {n} looks dark. Tip: take it near a window in daylight, without flash."),
    Hint.washed_out: N_(
        "Photo {n} looks washed out. Tip: avoid direct sun and flash; a plain background helps."
    ),
    Hint.blurred: N_(
        "Photo {n} looks blurred. Tip: hold the phone steady and tap the product to focus."
    ),
}
DONE, KEEP, REMOVE = "done", "keep", "rm:"


@dataclass(frozen=True)
class RemovePhoto(ValueData, tag=REMOVE):
    """Take one stored photo off the product."""

    photo_id: int


class Stored(Protocol):
    """A photo the form's hooks stored: numbered as the producer sees it."""

    @property
    def id(self) -> int: ...

    @property
    def position(self) -> int: ...

    @property
    def hints(self) -> list[str]: ...


@dataclass(frozen=True)
class Arrived:
    """A checked photo, its bytes already in the media store under `key`."""

    report: PhotoReport
    key: str
    channel_ids: dict[str, str]  # the channel's own id for it, to send it again without upload


@dataclass
class PhotosInput(Input[R]):
    """Photos until Done (at least one), at most `most`. The field's question is an N_ text
    with {max}. Hooks: the record's `photos` now, whether a photo (by its sha256) is
    `known` already, `add` one, `remove` one by id (replying what happened)."""

    photos: Callable[[Context, R], Awaitable[Sequence[Stored]]]
    known: Callable[[Context, R, str], Awaitable[bool]]
    add: Callable[[Context, R, Arrived], Awaitable[Stored]]
    remove: Callable[[Context, R, int], Awaitable[None]]
    too_many: str  # N_-marked, {max}: a photo beyond the most
    duplicate: str  # N_-marked: a photo `known` already
    most: Callable[[Context], int] = field(default=lambda ctx: ctx.settings.max_photos)
    takes_files = True

    async def ask(self, ctx: Context, form: Form[Any], field: Field[Any], record: R) -> list[Reply]:
        count, limit = len(await self.photos(ctx, record)), self.most(ctx)
        text = ctx.t(field.ask, max=limit) if isinstance(field.ask, str) else ""
        if count:
            text += "\n" + ctx.t("Photos so far: {n} of {max}.", n=count, max=limit)
        ctx.reply(text, buttons=_done(ctx, form, field))
        return []

    async def read(
        self, ctx: Context, form: Form[Any], field: Field[Any], record: R, event: Event
    ) -> Outcome:
        choice = event.payload if isinstance(event, ButtonPress) else None
        text = event.text if isinstance(event, Text) else None
        if choice == DONE or (text is not None and _says_done(text)):
            if not await self.photos(ctx, record):
                return Refuse(ctx.t("Please send at least one photo first."))
            ctx.update_data(album=None)
            return Got(None)
        if choice == KEEP:
            text = ctx.t("Kept. Send another photo or press Done.")
            ctx.reply(text, buttons=_done(ctx, form, field))
        elif (removed := RemovePhoto.read(choice)) is not None:
            await self.remove(ctx, record, removed.photo_id)
            ctx.reply(ctx.t("Send another photo or press Done."), buttons=_done(ctx, form, field))
        elif isinstance(event, Photo | Document):
            await self._receive(ctx, form, field, record, event)
        else:  # short: the whole photo guide again would bury the Done button
            ctx.reply(
                ctx.t("Please send a photo, or press Done when you have sent them all."),
                buttons=_done(ctx, form, field),
            )
        return Stay()

    async def _check(
        self, ctx: Context, record: R, event: Photo | Document
    ) -> tuple[bytes, PhotoReport | None, str | None]:
        """The photo's bytes and report, and why it is refused (None: it may be stored)."""
        ref, limits = event.media, ctx.settings.photo_limits
        if isinstance(event, Document) and not _is_image_document(ref):
            return b"", None, Refusal.not_image
        if ref.size is not None and ref.size > limits.max_bytes:
            return b"", None, Refusal.too_large
        if len(await self.photos(ctx, record)) >= self.most(ctx):
            return b"", None, "limit"
        try:
            assert ctx.fetch_media is not None and ctx.media_store is not None
            data = await ctx.fetch_media(ref)
        except Exception as exc:  # the channel's download failed; the user can resend
            log.warning("photo download failed", error=type(exc).__name__)
            return b"", None, "download"
        report = await check_photo(data, limits)
        if report.refusal is None and await self.known(ctx, record, report.sha256):
            return data, report, "duplicate"
        return data, report, report.refusal

    async def _receive(
        self, ctx: Context, form: Form[Any], field: Field[Any], record: R, event: Photo | Document
    ) -> None:
        data, report, refusal = await self._check(ctx, record, event)
        saved: Stored | None = None
        if refusal is None and report is not None and (store := ctx.media_store) is not None:
            key = await asyncio.to_thread(store.put, data, extension=report.extension or "jpg")
            channel = ctx.incoming.sender.channel
            ids = {channel: event.media.file_id} if isinstance(event, Photo) else {}
            saved = await self.add(ctx, record, Arrived(report, key, ids))
        said = self._refusal(ctx, event, refusal, report) if refusal else None
        if event.group_id:
            await self._album_reply(ctx, form, field, record, event.group_id, saved, said)
        elif saved is None:
            ctx.reply(said or "", buttons=_done(ctx, form, field))
        elif hints := _hint_lines(ctx, saved):
            ctx.reply(
                "\n".join(
                    [
                        ctx.t("✅ Photo {n} saved.", n=saved.position),
                        *hints,
                        ctx.t("Keep it, or remove it and send a better one?"),
                    ]
                ),
                buttons=[
                    [
                        button(ctx.t("Keep it"), form.flow, field.name, KEEP),
                        _remove_button(ctx, form, field, saved),
                    ],
                    _done(ctx, form, field),
                ],
            )
        else:
            text = ctx.t("✅ Photo {n} saved.", n=saved.position)
            ctx.reply(
                text + " " + ctx.t("Send another photo or press Done."),
                buttons=_done(ctx, form, field),
            )

    def _refusal(
        self, ctx: Context, event: Photo | Document, refusal: str, report: PhotoReport | None
    ) -> str:
        t = ctx.t
        limits = ctx.settings.photo_limits
        w, h = (report.width, report.height) if report else ("?", "?")
        match refusal:
            case Refusal.too_large:
                return t(
                    "This photo is larger than {mb} MB. Please send a smaller one "
                    "(an ordinary phone photo is fine).",
                    mb=limits.max_bytes // (1024 * 1024),
                )
            case Refusal.too_many_pixels:
                return t(
                    "This image has too many pixels ({w}×{h}) to be a photo. Please send an "
                    "ordinary phone photo of the product.",
                    w=w,
                    h=h,
                )
            case Refusal.too_small:
                return t(
                    "This photo is too small for curators to judge ({w}×{h} px). Please send one "
                    "at least {min} px on its short side.",
                    w=w,
                    h=h,
                    min=limits.min_side,
                )
            case Refusal.unsupported_format:
                return t("Please send photos as JPG or PNG.")
            case "duplicate":
                return t(self.duplicate)
            case "limit":
                return t(self.too_many, max=self.most(ctx))
            case "download":
                return t("I couldn't download that file. Please send it again.")
        mime, name = (event.media.mime or "").lower(), (event.media.file_name or "").lower()
        if mime == "application/pdf" or name.endswith(".pdf"):
            return t(
                "This is a PDF document, not a photo. Please send product photos (JPG or PNG)."
            )
        if mime.startswith("video/"):
            return t("This is a video. Please send product photos (JPG or PNG) instead.")
        return t("I can't open this as a picture. Please send a JPG or PNG photo.")

    async def _album_reply(
        self,
        ctx: Context,
        form: Form[Any],
        field: Field[Any],
        record: R,
        group_id: str,
        saved: Stored | None,
        refusal: str | None,
    ) -> None:
        """One growing answer for the whole album; the channel sends only the last version."""
        album = ctx.data.get("album") or {}
        if album.get("id") != group_id:
            album = {"id": group_id, "saved": [], "notes": []}
        album["saved"] += [saved.id] if saved is not None else []
        album["notes"] += [refusal] if refusal is not None else []
        ctx.update_data(album=album)
        photos = {p.id: p for p in await self.photos(ctx, record)}
        kept = [photos[i] for i in album["saved"] if i in photos]
        lines = []
        if len(kept) > 1:
            first, last = kept[0].position, kept[-1].position
            lines.append(
                ctx.t(
                    "✅ {n} photos saved (photo {first}–{last}).",
                    n=len(kept),
                    first=first,
                    last=last,
                )
            )
        elif kept:
            lines.append(ctx.t("✅ Photo {n} saved.", n=kept[0].position))
        lines.extend(album["notes"])
        rows: list[list[Button]] = []
        for photo in kept:
            if hint_lines := _hint_lines(ctx, photo):
                lines.extend(hint_lines)
                rows.append([_remove_button(ctx, form, field, photo)])
        lines.append(ctx.t("Send more photos or press Done."))
        rows.append(_done(ctx, form, field))
        ctx.reply("\n".join(lines), buttons=rows, debounce=f"album:{group_id}")


# "udah", "simpan aja", "sudah semua", "that's all": the photos are done.
DONE_WORDS = frozenset(
    {
        "selesai", "done", "udah", "sudah", "dah", "cukup", "simpan", "lanjut", "beres",
        "finish", "finished", "next", "save", "enough", "ok", "oke", "okay", "thats", "that",
    }
)  # fmt: skip


def _says_done(text: str) -> bool:
    words = normalize(text).split()
    return bool(words) and len(words) <= 4 and words[0] in DONE_WORDS


def _done(ctx: Context, form: Form[Any], field: Field[Any]) -> list[Button]:
    return [button(ctx.t("Done ✓"), form.flow, field.name, DONE)]


def _remove_button(ctx: Context, form: Form[Any], field: Field[Any], photo: Stored) -> Button:
    label = ctx.t("Remove photo {n}", n=photo.position)
    return button(label, form.flow, field.name, RemovePhoto(photo.id).pack())


def _hint_lines(ctx: Context, photo: Stored) -> list[str]:
    return [ctx.t(HINT_TIPS[Hint(h)], n=photo.position) for h in photo.hints if h in HINT_TIPS]


def _is_image_document(ref: MediaRef) -> bool:
    mime = (ref.mime or "").lower()
    if mime:
        return mime.startswith("image/")
    return (ref.file_name or "").lower().endswith((".jpg", ".jpeg", ".png", ".webp"))
