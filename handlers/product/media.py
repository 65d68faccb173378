"""Collecting a product's photos: checked, de-duplicated and stored as they arrive.

An album's photos (separate messages sharing a group id) get one growing answer. The image
checks themselves are handlers/photos.py's.
"""

from __future__ import annotations

import asyncio

import structlog

from db.models import Photo
from db.products import add_photo, has_photo, photos_of, remove_photo, store_key_in_use
from handlers.context import Context, button
from handlers.events import Button, ButtonPress, Document, Event, MediaRef, Text
from handlers.events import Photo as PhotoEvent
from handlers.forms.engine import Got, Outcome, Refuse, Stay
from handlers.i18n import N_
from handlers.photos import Hint, PhotoReport, Refusal, check_photo
from handlers.product.card import FLOW, Draft

log = structlog.get_logger(__name__)
STEP = "photos"
HINT_TIPS = {
    Hint.dark: N_("Photo {n} looks dark. Tip: take it near a window in daylight, without flash."),
    Hint.washed_out: N_(
        "Photo {n} looks washed out. Tip: avoid direct sun and flash; a plain background helps."
    ),
    Hint.blurred: N_(
        "Photo {n} looks blurred. Tip: hold the phone steady and tap the product to focus."
    ),
}


async def ask_photos(ctx: Context, draft: Draft) -> None:
    count = len(draft.photos)
    limit = ctx.settings.max_photos
    text = ctx.t(
        "Now the photos — they matter most to curators. Send 1 to {max} photos: the product "
        "itself and its label or packaging, in daylight on a plain background. You can send "
        "several at once.",
        max=limit,
    )
    if count:
        text += "\n" + ctx.t("Photos so far: {n} of {max}.", n=count, max=limit)
    ctx.reply(text, buttons=_done_button(ctx))


async def read_photos(ctx: Context, draft: Draft, event: Event) -> Outcome:
    choice = event.payload if isinstance(event, ButtonPress) else None
    text = event.text if isinstance(event, Text) else None
    if choice == "done" or (text is not None and text.strip().lower() in {"selesai", "done"}):
        if not draft.photos:
            return Refuse(ctx.t("Please send at least one photo first."))
        ctx.update_data(album=None)
        return Got(None)
    if choice == "keep":
        ctx.reply(ctx.t("Kept. Send another photo or press Done."), buttons=_done_button(ctx))
    elif choice is not None and choice.startswith("rm:") and choice[3:].isdigit():
        await remove(ctx, draft, int(choice[3:]))
        ctx.reply(ctx.t("Send another photo or press Done."), buttons=_done_button(ctx))
    elif isinstance(event, PhotoEvent | Document):
        await _receive_photo(ctx, draft, event)
    else:
        return Refuse(ctx.t("Please send a photo, or press Done when you have sent them all."))
    return Stay()


def _done_button(ctx: Context) -> list[Button]:
    return [button(ctx.t("Done ✓"), FLOW, STEP, "done")]


def _refusal_text(
    ctx: Context, event: PhotoEvent | Document, refusal: str, report: PhotoReport | None
) -> str:
    t = ctx.t
    limits = ctx.settings.photo_limits
    mime = (event.media.mime or "").lower()
    name = (event.media.file_name or "").lower()
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
                w=report.width if report else "?",
                h=report.height if report else "?",
            )
        case Refusal.too_small:
            return t(
                "This photo is too small for curators to judge ({w}×{h} px). Please send one "
                "at least {min} px on its short side.",
                w=report.width if report else 0,
                h=report.height if report else 0,
                min=limits.min_side,
            )
        case Refusal.unsupported_format:
            return t("Please send photos as JPG or PNG.")
        case "duplicate":
            return t("You already sent this photo for this product.")
        case "limit":
            return t(
                "A product can have at most {max} photos. Remove one from the card first.",
                max=ctx.settings.max_photos,
            )
        case "download":
            return t("I couldn't download that file. Please send it again.")
    if mime == "application/pdf" or name.endswith(".pdf"):
        return t("This is a PDF document, not a photo. Please send product photos (JPG or PNG).")
    if mime.startswith("video/"):
        return t("This is a video. Please send product photos (JPG or PNG) instead.")
    return t("I can't open this as a picture. Please send a JPG or PNG photo.")


def _is_image_document(ref: MediaRef) -> bool:
    mime = (ref.mime or "").lower()
    if mime:
        return mime.startswith("image/")
    return (ref.file_name or "").lower().endswith((".jpg", ".jpeg", ".png", ".webp"))


async def _receive_photo(ctx: Context, draft: Draft, event: PhotoEvent | Document) -> None:
    product = draft.product
    store = ctx.media_store
    limits = ctx.settings.photo_limits
    ref = event.media
    refusal: str | None = None
    report: PhotoReport | None = None
    count = len(draft.photos)
    if isinstance(event, Document) and not _is_image_document(ref):
        refusal = Refusal.not_image
    elif ref.size is not None and ref.size > limits.max_bytes:
        refusal = Refusal.too_large
    elif count >= ctx.settings.max_photos:
        refusal = "limit"
    else:
        try:
            assert ctx.fetch_media is not None and store is not None
            data = await ctx.fetch_media(ref)
        except Exception as exc:  # the channel's download failed; the user can resend
            log.warning("photo download failed", error=type(exc).__name__)
            refusal = "download"
        else:
            report = await check_photo(data, limits)
            if report.refusal is not None:
                refusal = report.refusal
            elif await has_photo(ctx.session, product_id=product.id, sha256=report.sha256):
                refusal = "duplicate"
    saved: Photo | None = None
    if refusal is None and report is not None and store is not None:
        key = await asyncio.to_thread(store.put, data, extension=report.extension or "jpg")
        channel_ids = (
            {ctx.incoming.sender.channel: ref.file_id} if isinstance(event, PhotoEvent) else {}
        )
        saved = await add_photo(
            ctx.session,
            product_id=product.id,
            sha256=report.sha256,
            store_key=key,
            mime=report.mime or "image/jpeg",
            width=report.width,
            height=report.height,
            size=report.size,
            hints=[str(h) for h in report.hints],
            channel_ids=channel_ids,
            created_at=ctx.now,
        )
        product.updated_at = ctx.now
    refusal_text = _refusal_text(ctx, event, refusal, report) if refusal else None
    if event.group_id:
        await _album_reply(ctx, product.id, event.group_id, saved, refusal_text)
    else:
        _single_reply(ctx, saved, refusal_text)


def _hint_lines(ctx: Context, photo: Photo) -> list[str]:
    return [ctx.t(HINT_TIPS[Hint(h)], n=photo.position) for h in photo.hints if h in HINT_TIPS]


def _single_reply(ctx: Context, saved: Photo | None, refusal: str | None) -> None:
    if saved is None:
        ctx.reply(refusal or "", buttons=_done_button(ctx))
        return
    hints = _hint_lines(ctx, saved)
    text = ctx.t("✅ Photo {n} saved.", n=saved.position)
    if hints:
        ctx.reply(
            text
            + "\n"
            + "\n".join(hints)
            + "\n"
            + ctx.t("Keep it, or remove it and send a better one?"),
            buttons=[
                [
                    button(ctx.t("Keep it"), FLOW, STEP, "keep"),
                    button(
                        ctx.t("Remove photo {n}", n=saved.position),
                        FLOW,
                        STEP,
                        f"rm:{saved.id}",
                    ),
                ],
                _done_button(ctx),
            ],
        )
        return
    ctx.reply(text + " " + ctx.t("Send another photo or press Done."), buttons=_done_button(ctx))


async def _album_reply(
    ctx: Context, product_id: int, group_id: str, saved: Photo | None, refusal: str | None
) -> None:
    """One growing answer for the whole album; the channel sends only the last version."""
    album = ctx.data.get("album") or {}
    if album.get("id") != group_id:
        album = {"id": group_id, "saved": [], "notes": []}
    if saved is not None:
        album["saved"].append(saved.id)
    if refusal is not None:
        album["notes"].append(refusal)
    ctx.update_data(album=album)
    photos = {p.id: p for p in await photos_of(ctx.session, product_id=product_id)}
    kept = [photos[i] for i in album["saved"] if i in photos]
    lines = []
    if kept:
        lines.append(
            ctx.t(
                "✅ {n} photos saved (photo {first}–{last}).",
                n=len(kept),
                first=kept[0].position,
                last=kept[-1].position,
            )
            if len(kept) > 1
            else ctx.t("✅ Photo {n} saved.", n=kept[0].position)
        )
    lines.extend(album["notes"])
    rows: list[list[Button]] = []
    for photo in kept:
        hint_lines = _hint_lines(ctx, photo)
        if hint_lines:
            lines.extend(hint_lines)
            rows.append(
                [
                    button(
                        ctx.t("Remove photo {n}", n=photo.position),
                        FLOW,
                        STEP,
                        f"rm:{photo.id}",
                    )
                ]
            )
    lines.append(ctx.t("Send more photos or press Done."))
    rows.append(_done_button(ctx))
    ctx.reply("\n".join(lines), buttons=rows, debounce=f"album:{group_id}")


async def remove(ctx: Context, draft: Draft, photo_id: int) -> None:
    product = draft.product
    photos = await photos_of(ctx.session, product_id=product.id)
    target = next((p for p in photos if p.id == photo_id), None)
    if target is None:
        ctx.reply(ctx.t("That photo was already removed."))
        return
    removed = await remove_photo(ctx.session, product_id=product.id, position=target.position)
    if removed is not None:
        ctx.reply(ctx.t("Photo {n} removed.", n=target.position))
        await _forget_file_later(ctx, removed.store_key)


async def _forget_file_later(ctx: Context, store_key: str) -> None:
    """Delete the stored bytes once the removal is committed, if no other photo uses them."""
    store = ctx.media_store
    if store is None or await store_key_in_use(ctx.session, store_key=store_key):
        return

    async def delete() -> None:
        await asyncio.to_thread(store.delete, store_key)

    ctx.after_commit.append(delete)
