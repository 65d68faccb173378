"""Products: /produk_baru (the form), /produk (the list) and what its buttons open.

`form` is the guided flow, `card` the producer's card, `media` the photo collection,
`submit` sending to the curators and taking back.
"""

from __future__ import annotations

from db.businesses import get_business
from db.models import Business, Product, ProductStatus
from db.products import copy_as_draft, find_draft, get_product, list_products
from db.reviews import latest_review
from handlers.features.buttons import ProductButton
from handlers.features.common import MENU
from handlers.features.product.card import FLOW, back_row, load, next_step, status_text
from handlers.features.product.form import FORM, RESUME
from handlers.features.product.submit import at_limit, open_product, withdraw
from handlers.i18n import N_
from handlers.kit.context import Context, button
from handlers.kit.feature import Feature, Surface
from handlers.kit.payload import Payload

__all__ = ["FEATURE", "FLOW"]
S = ProductStatus


async def registered_business(ctx: Context) -> Business | None:
    business = await get_business(ctx.session, owner_id=ctx.user.id)
    if business is None or business.registered_at is None:
        ctx.reply(ctx.t("First, let's register your business — it takes about three minutes."))
        ctx.redirect("start")
        return None
    return business


async def new_product(ctx: Context) -> None:
    """/produk_baru: continue the open draft, or start a new product."""
    business = await registered_business(ctx)
    if business is None:
        return
    draft = await find_draft(ctx.session, business_id=business.id)
    if draft is not None:
        await FORM.open(ctx, RESUME, draft_id=draft.id)
        return
    await FORM.start_new(ctx, business)


async def list_my_products(ctx: Context) -> None:
    """/produk: every product with its status, each openable."""
    business = await registered_business(ctx)
    if business is None:
        return
    products = await list_products(ctx.session, business_id=business.id)
    new = button(ctx.t("➕ New product"), MENU, "main", "new_product")
    if not products:
        ctx.reply(
            ctx.t("You have no products yet. Send /produk_baru to add your first one."),
            buttons=[new],
        )
        return
    t = ctx.t
    lines = [t("Your products:")]
    buttons = []
    for i, product in enumerate(products, start=1):
        name = product.name or t("(no name yet)")
        review = await latest_review(ctx.session, product_id=product.id)
        step = await next_step(ctx, product, review)
        lines.append(f"{i}. {name} — {status_text(ctx, product)}\n   {step}")
        buttons.append(ProductButton("open", product.id).button(f"{i}. {name[:30]}"))
    buttons.append(new)
    ctx.reply("\n".join(lines), buttons=buttons)


async def copy_product(ctx: Context, product: Product, business: Business) -> None:
    """A rejected product's answers and photos as a new draft, opened on its card."""
    if await at_limit(ctx, business, [back_row(ctx)]):
        return
    new = await copy_as_draft(ctx.session, product=product, business=business, now=ctx.now)
    ctx.reply(ctx.t("A new draft with the same answers and photos. Change what you need."))
    await open_product(ctx, new)


async def on_list_button(ctx: Context, payload: Payload) -> None:
    business = await registered_business(ctx)
    if business is None:
        return
    pressed = ProductButton.read(payload)
    product = (
        await get_product(ctx.session, product_id=pressed.product_id, business_id=business.id)
        if pressed is not None
        else None
    )
    if pressed is None or product is None:
        ctx.reply(ctx.t("That product no longer exists."))
        await list_my_products(ctx)
    elif pressed.step == "open":
        await open_product(ctx, product)
    elif pressed.step == "edit":
        await open_product(ctx, product, edit=True)
    elif pressed.step == "copy":
        await copy_product(ctx, product, business)
    elif pressed.step == "withdraw":
        await withdraw(ctx, product)
    else:
        ctx.reply(ctx.t("That button is no longer valid."))


async def resume_hint(ctx: Context) -> str:
    """/batal's hint: /produk_baru resumes a draft; a product sent back for revision is
    opened again from /produk."""
    draft = await load(ctx, ctx.data.get("product_id"))
    if draft is not None and draft.product.status == S.revision_requested:
        return ctx.t(
            "open “{name}” in /produk to carry on with your changes",
            name=draft.product.name or ctx.t("(no name yet)"),
        )
    return ctx.t("send /produk_baru to carry on with your product")


FEATURE = Feature(
    commands={
        "produk_baru": new_product,
        "new_product": new_product,
        "produk": list_my_products,
        "products": list_my_products,
    },
    buttons={ProductButton.flow: on_list_button},
    forms=(FORM,),
    entries={"new_product": new_product, "products": list_my_products},
    hints={FLOW: resume_hint},
    surface=(
        Surface(
            "produk_baru",
            help={"producer": N_("add a product for curation")},
            aliases=("new_product",),
            words=("produk baru", "new product"),
            word=N_("new product"),
            menu=N_("Add a product"),
            rank=20,
        ),
        Surface(
            "produk",
            help={"producer": N_("your products and their curation status")},
            aliases=("products",),
            words=("produk", "products", "produk saya", "my products"),
            word=N_("products"),
            menu=N_("My products and their curation status"),
            rank=30,
        ),
    ),
)
