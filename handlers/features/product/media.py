"""A product's photos: the hooks of the form's photo field (handlers/kit/forms/photos.py collects
and checks them as they arrive), and taking one away."""

from __future__ import annotations

import asyncio

from db.assist import store_photo_hash
from db.models import Photo
from db.products import add_photo, has_photo, photos_of, remove_photo, store_key_in_use
from handlers.features.fields import Draft
from handlers.kit.context import Context
from handlers.kit.forms.photos import Arrived
from handlers.rules.photo_hash import to_signed


async def photos(ctx: Context, draft: Draft) -> list[Photo]:
    return await photos_of(ctx.session, product_id=draft.product.id)


async def known(ctx: Context, draft: Draft, sha256: str) -> bool:
    return await has_photo(ctx.session, product_id=draft.product.id, sha256=sha256)


async def add(ctx: Context, draft: Draft, photo: Arrived) -> Photo:
    report = photo.report
    draft.product.updated_at = ctx.now
    stored = await add_photo(
        ctx.session,
        product_id=draft.product.id,
        sha256=report.sha256,
        store_key=photo.key,
        mime=report.mime or "image/jpeg",
        width=report.width,
        height=report.height,
        size=report.size,
        hints=[str(h) for h in report.hints],
        channel_ids=photo.channel_ids,
        created_at=ctx.now,
    )
    if report.phash is not None:  # for copies across businesses (curator assist)
        await store_photo_hash(
            ctx.session,
            photo_id=stored.id,
            product_id=draft.product.id,
            business_id=draft.business.id,
            value=to_signed(report.phash),
        )
    return stored


async def remove(ctx: Context, draft: Draft, photo_id: int) -> None:
    product = draft.product
    target = next((p for p in await photos(ctx, draft) if p.id == photo_id), None)
    if target is None:
        ctx.reply(ctx.t("That photo was already removed."))
        return
    removed = await remove_photo(ctx.session, product_id=product.id, position=target.position)
    if removed is not None:
        # The card drawn next is from this record: it must not list the removed photo.
        draft.photos = [p for p in draft.photos if p.id != removed.id]
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
