"""Product registration: the card curators judge, filled on a phone, often interrupted.

Every answer is written to the product row at once (status draft), so leaving keeps it and
/produk_baru offers to continue. Photos are checked, de-duplicated and stored as they arrive;
an album's photos (separate messages sharing a group id) get one answer.
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog

from db.businesses import SECTORS, get_business
from db.models import Business, Photo, Product, ProductStatus
from db.products import (
    EDITABLE,
    PRODUCT_FIELDS,
    add_photo,
    applies,
    change_status,
    count_products,
    create_product,
    find_draft,
    get_product,
    has_photo,
    list_products,
    missing_for_submit,
    photos_of,
    remove_photo,
    store_key_in_use,
    unanswered,
)
from db.reviews import close_unclaimed_round, record
from handlers import review
from handlers.common import menu_buttons
from handlers.context import Context, button
from handlers.events import ButtonPress, Document, Event, MediaOut, MediaRef
from handlers.events import Photo as PhotoEvent
from handlers.i18n import N_
from handlers.labels import (
    SECTOR_LABELS,
    checklist_answer,
    legal_buttons,
    legal_text,
    match_label,
    rupiah,
    sector_buttons,
    thousands,
)
from handlers.parsing import (
    clean_text,
    parse_duration_days,
    parse_price,
    parse_quantity,
)
from handlers.payload import Payload
from handlers.photos import Hint, PhotoReport, Refusal, check_photo
from handlers.precheck import Facts, precheck
from handlers.steps import Step, answers, pressed, text_of, typed_answer

log = structlog.get_logger(__name__)

FLOW = "prod"
LIST = "plist"  # buttons of /produk's list, usable whatever conversation is open
MAX_NAME = 100
MAX_DESCRIPTION = 1000
MIN_DESCRIPTION = 10
MAX_MATERIALS = 300
UNITS = ("pcs", "pack", "kg", "liter", "set", "box", "botol", "lusin")
S = ProductStatus

FIELD_LABELS = {
    "name": N_("Product name"),
    "sector": N_("Sector"),
    "description": N_("Description"),
    "price": N_("Price"),
    "unit": N_("Unit"),
    "min_order": N_("Minimum order"),
    "capacity": N_("Monthly capacity"),
    "materials": N_("Main materials"),
    "shelf_life": N_("Shelf life"),
    "legal_docs": N_("Legal documents"),
    "photos": N_("Photos"),
}
STATUS_LABELS = {
    S.draft: N_("draft"),
    S.submitted: N_("waiting for curation"),
    S.in_review: N_("being reviewed"),
    S.revision_requested: N_("needs revision"),
    S.approved: N_("approved"),
    S.rejected: N_("rejected"),
}
HINT_TIPS = {
    Hint.dark: N_("Photo {n} looks dark. Tip: take it near a window in daylight, without flash."),
    Hint.washed_out: N_(
        "Photo {n} looks washed out. Tip: avoid direct sun and flash; a plain background helps."
    ),
    Hint.blurred: N_(
        "Photo {n} looks blurred. Tip: hold the phone steady and tap the product to focus."
    ),
}


# --- entry points -----------------------------------------------------------------------


async def new_product(ctx: Context) -> None:
    """/produk_baru: continue the open draft, or start a new product."""
    business = await _registered_business(ctx)
    if business is None:
        return
    draft = await find_draft(ctx.session, business_id=business.id)
    if draft is not None:
        ctx.goto(FLOW, "resume")
        ctx.update_data(product_id=None, draft_id=draft.id, editing=False)
        await prompt(ctx)
        return
    await _start_new(ctx, business)


async def list_my_products(ctx: Context) -> None:
    """/produk: every product with its status, each openable."""
    business = await _registered_business(ctx)
    if business is None:
        return
    products = await list_products(ctx.session, business_id=business.id)
    if not products:
        ctx.reply(
            ctx.t("You have no products yet. Send /produk_baru to add your first one."),
            buttons=[button(ctx.t("➕ New product"), "menu", "main", "new_product")],
        )
        return
    t = ctx.t
    lines = [t("Your products:")]
    buttons = []
    for i, product in enumerate(products, start=1):
        name = product.name or t("(no name yet)")
        lines.append(f"{i}. {name} — {_status_text(ctx, product)}")
        buttons.append(button(f"{i}. {name[:30]}", LIST, "open", str(product.id)))
    buttons.append(button(t("➕ New product"), "menu", "main", "new_product"))
    ctx.reply("\n".join(lines), buttons=buttons)


async def on_list_button(ctx: Context, payload: Payload) -> None:
    business = await _registered_business(ctx)
    if business is None:
        return
    product = (
        await get_product(ctx.session, product_id=int(payload.value), business_id=business.id)
        if payload.value.isdigit()
        else None
    )
    if product is None:
        ctx.reply(ctx.t("That product no longer exists."))
        await list_my_products(ctx)
        return
    if payload.step == "open":
        await _open(ctx, product)
    elif payload.step == "withdraw":
        await _withdraw(ctx, product)
    else:
        ctx.reply(ctx.t("That button is no longer valid."))


async def on_event(ctx: Context) -> None:
    event = ctx.incoming.event
    if isinstance(event, PhotoEvent | Document) and ctx.step == "card":
        ctx.goto(FLOW, "photos")  # a photo sent to the card means "add this photo"
    step = STEPS.get(ctx.step or "")
    if step is None:
        await advance(ctx)
        return
    if isinstance(event, PhotoEvent | Document) and ctx.step != "photos":
        ctx.reply(ctx.t("I will ask for photos at the end. Please answer this question first."))
        await prompt(ctx)
        return
    await step.answer(ctx, event)


async def on_button(ctx: Context, payload: Payload) -> None:
    if ctx.flow != FLOW or payload.step != ctx.step:
        ctx.reply(ctx.t("That button is from an earlier step."))
        if ctx.flow is not None:
            from handlers import reprompt

            await reprompt(ctx)
        return
    await STEPS[payload.step].answer(ctx, _press(payload))


async def prompt(ctx: Context) -> None:
    step = STEPS.get(ctx.step or "")
    if step is None:
        await advance(ctx)
    else:
        await step.prompt(ctx)


# --- loading and moving -----------------------------------------------------------------


def _press(payload: Payload) -> Event:
    return ButtonPress(payload.value)


async def _registered_business(ctx: Context) -> Business | None:
    business = await get_business(ctx.session, owner_id=ctx.user.id)
    if business is None or business.registered_at is None:
        ctx.reply(ctx.t("First, let's register your business — it takes about three minutes."))
        from handlers.registration import start

        await start(ctx)
        return None
    return business


async def _start_new(ctx: Context, business: Business) -> None:
    limit = ctx.settings.max_products
    if await count_products(ctx.session, business_id=business.id) >= limit:
        ctx.end_flow()
        ctx.reply(
            ctx.t(
                "You have reached the limit of {n} products. Withdraw or finish one first.",
                n=limit,
            )
        )
        return
    product = await create_product(ctx.session, business=business, now=ctx.now)
    ctx.goto(FLOW, None)
    ctx.update_data(product_id=product.id, editing=False, legal=None, album=None)
    ctx.reply(
        ctx.t(
            "Let's add a product. A few short questions, then photos. "
            "You can stop any time with /batal; it is kept as a draft."
        )
    )
    await advance(ctx)


async def _product(ctx: Context) -> Product | None:
    """The product this conversation is about, if it is still the producer's own."""
    product_id = ctx.data.get("product_id")
    business = await get_business(ctx.session, owner_id=ctx.user.id)
    if not isinstance(product_id, int) or business is None:
        return None
    return await get_product(ctx.session, product_id=product_id, business_id=business.id)


async def _lost(ctx: Context) -> None:
    ctx.end_flow()
    ctx.reply(ctx.t("That product no longer exists."), buttons=menu_buttons(ctx))


async def advance(ctx: Context) -> None:
    """After an answer: back to the card when editing, else the next unanswered field."""
    product = await _product(ctx)
    if product is None:
        await _lost(ctx)
        return
    if product.status not in EDITABLE:
        ctx.end_flow()
        await _open(ctx, product)
        return
    count = len(await photos_of(ctx.session, product_id=product.id))
    missing = unanswered(product, photo_count=count)
    if ctx.data.get("editing") or not missing:
        ctx.update_data(editing=False)
        ctx.goto(FLOW, "card")
    else:
        ctx.goto(FLOW, missing[0])
    await prompt(ctx)


async def _save(ctx: Context, **values: Any) -> None:
    product = await _product(ctx)
    if product is None:
        await _lost(ctx)
        return
    if product.status not in EDITABLE:
        ctx.end_flow()
        ctx.reply(ctx.t("This product is with the curators now and can't be changed."))
        return
    for key, value in values.items():
        setattr(product, key, value)
    product.updated_at = ctx.now
    await advance(ctx)


# --- the fields -------------------------------------------------------------------------


def _text_step(field: str, question: str, *, max_len: int, min_len: int = 1) -> Step:
    async def ask(ctx: Context) -> None:
        ctx.reply(ctx.t(question))

    async def answer(ctx: Context, event: Event) -> None:
        raw = text_of(event)
        if raw is None:
            await _not_understood(ctx)
            return
        value = clean_text(raw, max_len=max_len)
        if value is None and raw.strip():
            await _refuse(
                ctx, ctx.t("That is too long — at most {n} characters, please.", n=max_len)
            )
            return
        if value is None or len(value) < min_len:
            await _refuse(
                ctx, ctx.t("Please write a little more (at least {n} characters).", n=min_len)
            )
            return
        await _save(ctx, **{field: value})

    return Step(ask, answer)


async def _prompt_sector(ctx: Context) -> None:
    business = await get_business(ctx.session, owner_id=ctx.user.id)
    rows = sector_buttons(ctx, FLOW, "sector")
    if business is not None and business.sector in SECTOR_LABELS:
        # The business's own sector first: most products share it, one tap.
        own = button("⭐ " + ctx.t(SECTOR_LABELS[business.sector]), FLOW, "sector", business.sector)
        rows = [[own], *rows]
    ctx.reply(ctx.t("Which sector is this product in?"), buttons=rows)


async def _answer_sector(ctx: Context, event: Event) -> None:
    choice = pressed(event)
    text = text_of(event)
    if choice is None and text is not None:
        choice = match_label(ctx, text, SECTOR_LABELS)
    if choice not in SECTORS:
        await _refuse(ctx, ctx.t("Please choose one of the sectors with the buttons."))
        return
    await _save(ctx, sector=choice)


async def _prompt_price(ctx: Context) -> None:
    ctx.reply(ctx.t("What is the price in rupiah? For example 25000, 25.000, 25rb or 1,5 jt."))


async def _store_price(ctx: Context, price: int) -> None:
    ctx.reply(ctx.t("Price: {price} ✓", price=rupiah(price)))
    await _save(ctx, price=price)


async def _prompt_unit(ctx: Context) -> None:
    items = [button(u, FLOW, "unit", u) for u in UNITS]
    ctx.reply(
        ctx.t("The price is per what? Choose a unit or type it (e.g. bungkus)."),
        buttons=[items[i : i + 4] for i in range(0, len(items), 4)],
    )


async def _answer_unit(ctx: Context, event: Event) -> None:
    unit = pressed(event) or text_of(event)
    if unit is None:
        await _not_understood(ctx)
        return
    unit = unit.strip().lower()
    if not unit.isalpha() or len(unit) > 20:
        await _refuse(ctx, ctx.t("Please type the unit as one word, e.g. pcs, kg or bungkus."))
        return
    await _save(ctx, unit=unit)


def _amount_step(field: str, question: str) -> Step:
    async def ask(ctx: Context) -> None:
        product = await _product(ctx)
        unit = (product.unit if product else None) or "pcs"
        ctx.reply(ctx.t(question, unit=unit))

    async def store(ctx: Context, quantity: tuple[int, str | None]) -> None:
        await _save(ctx, **{field: quantity[0]})

    return Step(
        ask,
        typed_answer(
            parse_quantity, N_("Please type a whole number, for example 100."), store, prompt
        ),
    )


async def _prompt_shelf_life(ctx: Context) -> None:
    ctx.reply(ctx.t("How long does it keep (shelf life)? For example 6 bulan, 1 tahun or 30 hari."))


async def _store_shelf_life(ctx: Context, days: int) -> None:
    await _save(ctx, shelf_life_days=days)


async def _prompt_legal(ctx: Context) -> None:
    if ctx.data.get("legal") is None:
        product = await _product(ctx)
        business = await get_business(ctx.session, owner_id=ctx.user.id)
        start = (product.legal_docs if product else None) or (
            business.legal_docs if business else None
        )
        ctx.update_data(legal=list(start or []))
    ctx.reply(
        ctx.t("Which legal documents apply to this product? Tap to tick or untick, then “Done”."),
        buttons=legal_buttons(ctx, FLOW, "legal_docs", ctx.data["legal"]),
    )


async def _save_legal(ctx: Context, docs: list[str]) -> None:
    await _save(ctx, legal_docs=docs)


# --- photos -----------------------------------------------------------------------------


async def _prompt_photos(ctx: Context) -> None:
    product = await _product(ctx)
    count = len(await photos_of(ctx.session, product_id=product.id)) if product else 0
    limit = ctx.settings.max_photos
    text = ctx.t(
        "Now the photos — they matter most to curators. Send 1 to {max} photos: the product "
        "itself and its label or packaging, in daylight on a plain background. You can send "
        "several at once.",
        max=limit,
    )
    if count:
        text += "\n" + ctx.t("Photos so far: {n} of {max}.", n=count, max=limit)
    ctx.reply(text, buttons=[button(ctx.t("Done ✓"), FLOW, "photos", "done")])


async def _answer_photos(ctx: Context, event: Event) -> None:
    choice = pressed(event)
    text = text_of(event)
    if choice == "done" or (text is not None and text.strip().lower() in {"selesai", "done"}):
        await _photos_done(ctx)
    elif choice == "keep":
        ctx.reply(ctx.t("Kept. Send another photo or press Done."), buttons=_done_button(ctx))
    elif choice is not None and choice.startswith("rm:") and choice[3:].isdigit():
        await _remove_photo(ctx, int(choice[3:]))
        ctx.reply(ctx.t("Send another photo or press Done."), buttons=_done_button(ctx))
    elif isinstance(event, PhotoEvent | Document):
        await _receive_photo(ctx, event)
    else:
        await _refuse(ctx, ctx.t("Please send a photo, or press Done when you have sent them all."))


def _done_button(ctx: Context) -> list:
    return [button(ctx.t("Done ✓"), FLOW, "photos", "done")]


async def _photos_done(ctx: Context) -> None:
    product = await _product(ctx)
    if product is None:
        await _lost(ctx)
        return
    if not await photos_of(ctx.session, product_id=product.id):
        await _refuse(ctx, ctx.t("Please send at least one photo first."))
        return
    ctx.update_data(album=None, editing=False)
    ctx.goto(FLOW, "card")
    await prompt(ctx)


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


async def _receive_photo(ctx: Context, event: PhotoEvent | Document) -> None:
    product = await _product(ctx)
    if product is None:
        await _lost(ctx)
        return
    store = ctx.media_store
    limits = ctx.settings.photo_limits
    ref = event.media
    refusal: str | None = None
    report: PhotoReport | None = None
    count = len(await photos_of(ctx.session, product_id=product.id))
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
                    button(ctx.t("Keep it"), FLOW, "photos", "keep"),
                    button(
                        ctx.t("Remove photo {n}", n=saved.position),
                        FLOW,
                        "photos",
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
    rows: list[list] = []
    for photo in kept:
        hint_lines = _hint_lines(ctx, photo)
        if hint_lines:
            lines.extend(hint_lines)
            rows.append(
                [
                    button(
                        ctx.t("Remove photo {n}", n=photo.position),
                        FLOW,
                        "photos",
                        f"rm:{photo.id}",
                    )
                ]
            )
    lines.append(ctx.t("Send more photos or press Done."))
    rows.append(_done_button(ctx))
    ctx.reply("\n".join(lines), buttons=rows, debounce=f"album:{group_id}")


async def _remove_photo(ctx: Context, photo_id: int) -> None:
    product = await _product(ctx)
    if product is None:
        await _lost(ctx)
        return
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


# --- the card ---------------------------------------------------------------------------


def _status_text(ctx: Context, product: Product) -> str:
    status = ctx.t(STATUS_LABELS[ProductStatus(product.status)])
    if product.round > 1:
        status += " · " + ctx.t("round {n}", n=product.round)
    return status


def card_text(ctx: Context, product: Product, photos: list[Photo]) -> str:
    t = ctx.t
    unit = product.unit or ""
    rows = {
        "sector": t(SECTOR_LABELS[product.sector]) if product.sector else None,
        "description": product.description,
        "price": f"{rupiah(product.price)} / {unit}".rstrip(" /") if product.price else None,
        "min_order": f"{thousands(product.min_order)} {unit}" if product.min_order else None,
        "capacity": f"{thousands(product.capacity)} {unit}" if product.capacity else None,
        "materials": product.materials,
        "shelf_life": t("{n} days", n=product.shelf_life_days) if product.shelf_life_days else None,
        "legal_docs": legal_text(ctx, product.legal_docs)
        if product.legal_docs is not None
        else None,
        "photos": str(len(photos)),
    }
    lines = [
        f"📦 {product.name or t('(no name yet)')}",
        t("Status: {status}", status=_status_text(ctx, product)),
    ]
    for field, value in rows.items():
        if applies(product, field):
            lines.append(f"{t(FIELD_LABELS[field])}: {value or '—'}")
    return "\n".join(lines)


def _media(ctx: Context, photos: list[Photo]) -> tuple[MediaOut, ...]:
    store = ctx.media_store
    if store is None:
        return ()
    channel = ctx.incoming.sender.channel
    return tuple(
        MediaOut(
            path=str(store.path(p.store_key)), photo_id=p.id, cached_id=p.channel_ids.get(channel)
        )
        for p in photos
    )


async def _facts(ctx: Context, product: Product) -> Facts:
    business = await get_business(ctx.session, owner_id=ctx.user.id)
    return Facts(product, business, await photos_of(ctx.session, product_id=product.id))


async def _prompt_card(ctx: Context) -> None:
    product = await _product(ctx)
    if product is None:
        await _lost(ctx)
        return
    facts = await _facts(ctx, product)
    t = ctx.t
    text = card_text(ctx, product, facts.photos)
    warnings = precheck(facts)
    if warnings:
        text += (
            "\n\n"
            + t("⚠️ Before curation:")
            + "\n"
            + "\n".join(f"• {t(w.message)}" for w in warnings)
        )
    rows = [
        [
            button(t("✏️ Edit a field"), FLOW, "card", "edit"),
            button(t("🖼 Add photos"), FLOW, "card", "add_photos"),
        ],
        [
            button(t("🗑 Remove a photo"), FLOW, "card", "remove_photo"),
            button(t("💾 Save draft"), FLOW, "card", "save"),
        ],
        [button(t("📤 Submit for curation"), FLOW, "card", "submit")],
    ]
    ctx.reply(text, buttons=rows, media=_media(ctx, facts.photos))


async def _answer_card(ctx: Context, event: Event) -> None:
    choice = pressed(event)
    if choice == "edit":
        ctx.goto(FLOW, "edit_pick")
    elif choice == "add_photos":
        ctx.goto(FLOW, "photos")
    elif choice == "remove_photo":
        ctx.goto(FLOW, "remove_pick")
    elif choice == "save":
        ctx.end_flow()
        ctx.reply(
            ctx.t("Saved as a draft. Open it any time with /produk."), buttons=menu_buttons(ctx)
        )
        return
    elif choice == "submit":
        await _submit(ctx, confirmed=False)
        return
    else:
        await _refuse(ctx, ctx.t("Please use the buttons under the card."))
        return
    await prompt(ctx)


async def _prompt_edit_pick(ctx: Context) -> None:
    product = await _product(ctx)
    if product is None:
        await _lost(ctx)
        return
    t = ctx.t
    fields = [f for f in PRODUCT_FIELDS if applies(product, f) and f != "photos"]
    items = [button(t(FIELD_LABELS[f]), FLOW, "edit_pick", f) for f in fields]
    rows = [items[i : i + 2] for i in range(0, len(items), 2)]
    rows.append([button(t("↩️ Back to the card"), FLOW, "edit_pick", "back")])
    ctx.reply(t("Which field do you want to change?"), buttons=rows)


async def _answer_edit_pick(ctx: Context, event: Event) -> None:
    choice = pressed(event)
    if choice in FIELD_LABELS and choice != "photos":
        ctx.update_data(editing=True, legal=None)
        ctx.goto(FLOW, choice)
    elif choice == "back":
        ctx.goto(FLOW, "card")
    else:
        await _refuse(ctx, ctx.t("Please choose a field with the buttons."))
        return
    await prompt(ctx)


async def _prompt_remove_pick(ctx: Context) -> None:
    product = await _product(ctx)
    photos = await photos_of(ctx.session, product_id=product.id) if product else []
    if not photos:
        ctx.goto(FLOW, "photos")
        await prompt(ctx)
        return
    items = [button(str(p.position), FLOW, "remove_pick", str(p.id)) for p in photos]
    ctx.reply(
        ctx.t("Which photo should go? (numbered as on the card)"),
        buttons=[items, [button(ctx.t("↩️ Back to the card"), FLOW, "remove_pick", "back")]],
    )


async def _answer_remove_pick(ctx: Context, event: Event) -> None:
    choice = pressed(event)
    if choice is not None and choice.isdigit():
        await _remove_photo(ctx, int(choice))
    elif choice != "back":
        await _refuse(ctx, ctx.t("Please choose a photo with the buttons."))
        return
    ctx.goto(FLOW, "card")
    await prompt(ctx)


async def _prompt_confirm(ctx: Context) -> None:
    product = await _product(ctx)
    if product is None:
        await _lost(ctx)
        return
    t = ctx.t
    warnings = precheck(await _facts(ctx, product))
    ctx.reply(
        t("Curators will probably ask about this:")
        + "\n"
        + "\n".join(f"• {t(w.message)}" for w in warnings)
        + "\n\n"
        + t("Fixing it first saves a round. Submit anyway?"),
        buttons=[
            [
                button(t("📤 Submit anyway"), FLOW, "confirm", "yes"),
                button(t("✏️ Fix first"), FLOW, "confirm", "no"),
            ]
        ],
    )


async def _answer_confirm(ctx: Context, event: Event) -> None:
    choice = pressed(event)
    if choice == "yes":
        await _submit(ctx, confirmed=True)
    elif choice == "no":
        ctx.goto(FLOW, "card")
        await prompt(ctx)
    else:
        await _refuse(ctx, ctx.t("Please press one of the buttons."))


async def _submit(ctx: Context, *, confirmed: bool) -> None:
    product = await _product(ctx)
    if product is None:
        await _lost(ctx)
        return
    facts = await _facts(ctx, product)
    missing = missing_for_submit(product, facts.business, photo_count=len(facts.photos))
    t = ctx.t
    if missing:
        names = [
            t(FIELD_LABELS[f]) if f in FIELD_LABELS else t("your business profile (/profil)")
            for f in missing
        ]
        ctx.reply(
            t("Before it can be submitted, please fill in: {fields}.", fields=", ".join(names))
        )
        first = next((f for f in missing if f in FIELD_LABELS), None)
        ctx.update_data(editing=False)
        ctx.goto(FLOW, first or "card")
        await prompt(ctx)
        return
    warnings = precheck(facts)
    if warnings and not confirmed:
        ctx.goto(FLOW, "confirm")
        await prompt(ctx)
        return
    product.precheck = [w.code for w in warnings]
    await ctx.session.flush()
    moved = await change_status(
        ctx.session,
        product_id=product.id,
        action="submit",
        expected=product.status,
        version=product.version,
        now=ctx.now,
    )
    ctx.end_flow()
    if not moved:
        ctx.reply(t("This product changed in the meantime. Open it again with /produk."))
        return
    await ctx.session.refresh(product)
    await review.submitted(ctx, product)
    ctx.reply(
        t(
            "📤 “{name}” is submitted for curation (round {round}). A certified curator will "
            "review it; I will tell you about every change. /produk shows its status.",
            name=product.name,
            round=product.round,
        ),
        buttons=menu_buttons(ctx),
    )


# --- opening from the list --------------------------------------------------------------


async def _open(ctx: Context, product: Product) -> None:
    if product.status in EDITABLE:
        ctx.goto(FLOW, "card")
        ctx.update_data(product_id=product.id, editing=False, legal=None, album=None)
        await prompt(ctx)
        return
    photos = await photos_of(ctx.session, product_id=product.id)
    text = card_text(ctx, product, photos)
    buttons = []
    if product.status == S.submitted:
        text += "\n\n" + ctx.t("Waiting for a curator. You can withdraw it to make changes.")
        buttons = [button(ctx.t("↩️ Withdraw to edit"), LIST, "withdraw", str(product.id))]
    elif product.status == S.in_review:
        text += "\n\n" + ctx.t("A curator is reviewing it now.")
    if product.precheck and product.status in (S.submitted, S.in_review):
        text += "\n" + ctx.t("Pre-check notes: {n}", n=len(product.precheck))
    ctx.reply(text, buttons=buttons, media=_media(ctx, photos))


async def _withdraw(ctx: Context, product: Product) -> None:
    moved = await change_status(
        ctx.session,
        product_id=product.id,
        action="withdraw",
        expected=S.submitted,
        version=product.version,
        now=ctx.now,
    )
    if not moved:
        ctx.reply(ctx.t("A curator has already started on it, so it can't be withdrawn now."))
        return
    await ctx.session.refresh(product)
    await record(
        ctx.session, action="withdraw", product=product, actor_user_id=ctx.user.id, now=ctx.now
    )
    closed = await close_unclaimed_round(ctx.session, product_id=product.id)
    if closed is not None:
        await review.withdrawn(ctx, closed)
    ctx.reply(ctx.t("Withdrawn. It is a draft again — change what you need and submit it again."))
    await _open(ctx, product)


STEPS: dict[str, Step] = {
    "resume": Step(
        lambda ctx: _prompt_resume(ctx),
        lambda ctx, event: _answer_resume(ctx, event),
    ),
    "name": _text_step("name", N_("What is the product called?"), max_len=MAX_NAME),
    "sector": Step(_prompt_sector, _answer_sector),
    "description": _text_step(
        "description",
        N_(
            "Describe the product in a sentence or two: what it is, how it is made, "
            "what makes it special."
        ),
        max_len=MAX_DESCRIPTION,
        min_len=MIN_DESCRIPTION,
    ),
    "price": Step(
        _prompt_price,
        typed_answer(
            parse_price,
            N_(
                "I couldn't read that as a price. Type an amount between Rp 1 and "
                "Rp 1.000.000.000, for example 25000, Rp 25.000, 25rb or 1,5 jt."
            ),
            _store_price,
            prompt,
        ),
    ),
    "unit": Step(_prompt_unit, _answer_unit),
    "min_order": _amount_step(
        "min_order", N_("What is the minimum order, in {unit}? For example 10.")
    ),
    "capacity": _amount_step(
        "capacity", N_("How many {unit} can you make in a month? For example 500.")
    ),
    "materials": _text_step(
        "materials",
        N_("What are the main materials? For example: tempe, coconut oil, salt."),
        max_len=MAX_MATERIALS,
    ),
    "shelf_life": Step(
        _prompt_shelf_life,
        typed_answer(
            parse_duration_days,
            N_("Please give a number with hari, minggu, bulan or tahun, e.g. 6 bulan."),
            _store_shelf_life,
            prompt,
        ),
    ),
    "legal_docs": Step(_prompt_legal, checklist_answer(FLOW, _save_legal, prompt)),
    "photos": Step(_prompt_photos, _answer_photos),
    "card": Step(_prompt_card, _answer_card),
    "edit_pick": Step(_prompt_edit_pick, _answer_edit_pick),
    "remove_pick": Step(_prompt_remove_pick, _answer_remove_pick),
    "confirm": Step(_prompt_confirm, _answer_confirm),
}


async def _prompt_resume(ctx: Context) -> None:
    draft_id = ctx.data.get("draft_id")
    business = await get_business(ctx.session, owner_id=ctx.user.id)
    draft = (
        await get_product(ctx.session, product_id=draft_id, business_id=business.id)
        if isinstance(draft_id, int) and business
        else None
    )
    if draft is None or business is None:
        ctx.end_flow()
        await new_product(ctx)
        return
    name = draft.name or ctx.t("(no name yet)")
    ctx.reply(
        ctx.t(
            "You have an unfinished product, “{name}”. Continue it, or start a new one?", name=name
        ),
        buttons=[
            [
                button(ctx.t("▶️ Continue"), FLOW, "resume", "continue"),
                button(ctx.t("➕ Start new"), FLOW, "resume", "new"),
            ]
        ],
    )


async def _answer_resume(ctx: Context, event: Event) -> None:
    choice = pressed(event)
    business = await get_business(ctx.session, owner_id=ctx.user.id)
    if business is None:
        await _lost(ctx)
        return
    if choice == "continue":
        ctx.update_data(product_id=ctx.data.get("draft_id"), draft_id=None)
        await advance(ctx)
    elif choice == "new":
        ctx.update_data(draft_id=None)
        await _start_new(ctx, business)
    else:
        await _refuse(ctx, ctx.t("Please press one of the buttons."))


_refuse, _not_understood = answers(prompt)
