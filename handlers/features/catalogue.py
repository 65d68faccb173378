"""After approval: may buyers contact the producer (yes/no, stored on the business), and an
optional English description and English name for the export catalogue."""

from __future__ import annotations

from dataclasses import dataclass

from db.models import Business, Product, ProductStatus
from handlers.i18n import N_
from handlers.kit.context import Context, Translate
from handlers.kit.events import Button, ButtonPress, Text
from handlers.kit.feature import Feature, SimpleFlow
from handlers.kit.parsing.text import clean_text, is_no_answer
from handlers.kit.payload import ButtonData, Payload
from handlers.kit.render import normalize

FLOW = "catalog"
MAX_DESCRIPTION = 1000
MAX_NAME = 100  # Product.name_en
DESCRIBE, NAME, SKIP = "en", "name", "skip"


@dataclass(frozen=True)
class ConsentButton(ButtonData, flow=FLOW, steps=("consent",)):
    """May buyers contact the producer: `answer` is "yes" or "no"."""

    step: str
    answer: str
    product_id: int


@dataclass(frozen=True)
class DescribeButton(ButtonData, flow=FLOW, steps=(DESCRIBE, NAME, SKIP)):
    """Write the approved product's English description (`en`) or name (`name`), or leave
    the name out (`skip`)."""

    step: str
    product_id: int


def approval_extras(
    t: Translate, product: Product, business: Business
) -> tuple[str, list[list[Button]]]:
    """Text and buttons appended to the producer's approval message."""
    lines = []
    rows: list[list[Button]] = []
    if business.contact_consent is None:
        lines.append(
            t(
                "May buyers who see your product in the public export catalogue contact you "
                "on WhatsApp?"
            )
        )
        rows.append(
            [
                ConsentButton("consent", "yes", product.id).button(t("✅ Yes, they may")),
                ConsentButton("consent", "no", product.id).button(t("No")),
            ]
        )
    if not product.description_en:
        lines.append(t("Tip: an English description helps foreign buyers. You can add one now."))
        rows.append(
            [DescribeButton(DESCRIBE, product.id).button(t("✍️ Add an English description"))]
        )
    elif not product.name_en:
        lines.append(t("Tip: an English name helps foreign buyers find it. You can add one now."))
        rows.append([DescribeButton(NAME, product.id).button(t("✍️ Add an English name"))])
    return "\n\n".join(lines), rows


async def _own_product(ctx: Context, product_id: object) -> tuple[Product, Business] | None:
    if not isinstance(product_id, int):
        return None
    product = await ctx.session.get(Product, product_id)
    if product is None:
        return None
    business = await ctx.session.get(Business, product.business_id)
    if business is None or business.owner_id != ctx.user.id:
        return None
    return product, business


async def on_button(ctx: Context, payload: Payload) -> None:
    t = ctx.t
    consent = ConsentButton.read(payload)
    if consent is not None and consent.answer in ("yes", "no"):
        choice = consent.answer
        owned = await _own_product(ctx, consent.product_id)
        if owned is None:
            ctx.reply(t("That button is no longer valid."))
            return
        owned[1].contact_consent = choice == "yes"
        ctx.reply(
            t("Thank you. Buyers will see a WhatsApp button on the catalogue.")
            if choice == "yes"
            else t("Understood. Your number will not be shown on the catalogue."),
            edit=True,
        )
        return
    describe = DescribeButton.read(payload)
    if describe is not None:
        owned = await _own_product(ctx, describe.product_id)
        if owned is None or owned[0].status != ProductStatus.approved:
            ctx.reply(t("That button is no longer valid."))
            return
        if describe.step == SKIP:
            await _skip_name(ctx)
            return
        ctx.goto(FLOW, describe.step)
        ctx.update_data(product_id=owned[0].id)
        await prompt(ctx)
        return
    ctx.reply(t("That button is no longer valid."))


async def prompt(ctx: Context) -> None:
    t = ctx.t
    if ctx.step == NAME:
        product_id = ctx.data.get("product_id")
        skip = DescribeButton(SKIP, product_id if isinstance(product_id, int) else 0)
        ctx.reply(
            t(
                "Optional: the product's name in English, for the export catalogue (e.g. Crispy "
                "Tempeh Chips). Type it, or press “Skip”."
            ),
            buttons=[[skip.button(t("Skip"))]],
        )
        return
    ctx.reply(
        t(
            "Write the product's description in English (up to {n} characters), or /batal.",
            n=MAX_DESCRIPTION,
        )
    )


async def on_event(ctx: Context) -> None:
    event = ctx.incoming.event
    text = event.text.strip() if isinstance(event, Text) else ""
    if not text:
        await prompt(ctx)
        return
    if ctx.step == NAME:
        await _typed_name(ctx, text)
        return
    if len(text) > MAX_DESCRIPTION:
        _too_long(ctx, text, MAX_DESCRIPTION)
        return
    product = await _answered_product(ctx)
    if product is None:
        return
    product.description_en = text
    ctx.reply(ctx.t("Saved. The English description is shown on the catalogue."))
    if not product.name_en:  # buyers search by name too: asked next, as the product form does
        ctx.goto(FLOW, NAME)
        ctx.update_data(product_id=product.id)
        await prompt(ctx)


async def _typed_name(ctx: Context, text: str) -> None:
    if is_no_answer(text) or normalize(text) in {"skip", "lewati"}:
        await _skip_name(ctx)
        return
    name = clean_text(text, max_len=MAX_NAME)
    if name is None:
        _too_long(ctx, text, MAX_NAME)
        return
    product = await _answered_product(ctx)
    if product is None:
        return
    product.name_en = name
    ctx.reply(ctx.t("Saved. Buyers abroad see it as “{name}” on the catalogue.", name=name))


def _too_long(ctx: Context, text: str, limit: int) -> None:
    ctx.reply(ctx.t("That is {n} characters; please keep it under {max}.", n=len(text), max=limit))


async def _answered_product(ctx: Context) -> Product | None:
    """The product the open question is about, the flow ended (None: it is gone)."""
    owned = await _own_product(ctx, ctx.data.get("product_id"))
    ctx.end_flow()
    if owned is None:
        ctx.reply(ctx.t("That product is no longer available."))
        return None
    return owned[0]


async def _skip_name(ctx: Context) -> None:
    was_asked = ctx.flow == FLOW and ctx.step == NAME
    ctx.end_flow()
    if isinstance(ctx.incoming.event, ButtonPress) and not was_asked:
        ctx.reply(ctx.t("That button is no longer valid."))
        return
    ctx.reply(ctx.t("Fine: the catalogue shows the name you gave."))


FEATURE = Feature(
    forms=(SimpleFlow(FLOW, on_event, on_button, prompt),),
    hints={FLOW: N_("open the product in /produk to add the English description later")},
)
