"""Product registration as a form: the card curators judge, filled on a phone, often
interrupted. Every answer is written to the product row at once (status draft), so leaving
keeps it and /produk_baru offers to continue."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from db.models import Business
from db.products import EDITABLE, ProductField, answered, applies, create_product
from handlers.features.common import menu_buttons
from handlers.features.product import card, media, numbers
from handlers.features.product.card import FLOW, Draft
from handlers.features.product.submit import CARD, CONFIRM, at_limit, open_product, submit
from handlers.i18n import N_
from handlers.kit.context import Context
from handlers.kit.events import MediaOut
from handlers.kit.forms.answers import Ask
from handlers.kit.forms.engine import EDIT_PICK, Field, Form, Input, Skip, Spec, Step, choices
from handlers.kit.forms.inputs import ChoiceInput, QuantityInput, TextInput
from handlers.kit.forms.photos import PhotosInput
from handlers.kit.labels import (
    PRODUCT_FIELD_LABELS,
    legal_docs_input,
    rupiah,
    sector_input,
    unit_word,
)
from handlers.kit.parsing import Price, read_price
from handlers.kit.parsing.dates import read_duration_days
from handlers.kit.render import Option
from handlers.rules.precheck import precheck
from handlers.rules.units import FORM_UNITS

F = ProductField
UNITS = FORM_UNITS  # the unit vocabulary (handlers/units.py); a typed word is kept as typed
RESUME = "resume"
PHOTOS_SHOWN = "photos_shown"  # in the form's data: the photos the card last came with
REMOVE_PICK = "remove_pick"
WHOLE_NUMBER = N_("Please type a whole number, for example 100.")


def _with_unit(question: str) -> Callable[[Context, Draft], str]:
    return lambda ctx, d: ctx.t(question, unit=unit_word(ctx, d.product.unit or "pcs"))


def _sector(d: Draft) -> str:
    return d.product.sector or d.business.sector or "other"


def _for_sector(question: str, examples: dict[str, str]) -> Callable[[Context, Draft], str]:
    """A question whose examples fit the product's sector (no tempe for batik)."""
    return lambda ctx, d: ctx.t(
        question, examples=ctx.t(examples.get(_sector(d), examples["other"]))
    )


# What each sector makes things of, and what it sells by (the price question's example).
MATERIALS = {
    "food": N_("tempe, coconut oil, salt"),
    "fashion": N_("cotton cloth, natural dyes, batik wax"),
    "handicraft": N_("bamboo, rattan, pandan leaves"),
    "furniture": N_("teak wood, rattan, natural varnish"),
    "agribusiness": N_("arabica coffee beans, palm sugar"),
    "spa": N_("ginger, turmeric, virgin coconut oil"),
    "other": N_("wood, cloth, metal"),
}
UNIT_EXAMPLES = {
    "food": N_("pack"),
    "fashion": N_("piece of cloth"),
    "handicraft": N_("item"),
    "furniture": N_("unit"),
    "agribusiness": N_("kg"),
    "spa": N_("bottle"),
    "other": N_("pcs"),
}
PRICE_EXAMPLES = {
    "food": N_("25000, 25rb, Rp 15.000/pack or fifteen thousand"),
    "fashion": N_("350000, 350rb, Rp 350.000/piece or three hundred fifty thousand"),
    "handicraft": N_("75000, 75rb, Rp 75.000/piece or seventy-five thousand"),
    "furniture": N_("2500000, 2,5 jt, Rp 2.500.000/unit or two million"),
    "agribusiness": N_("120000, 120rb, Rp 120.000/kg or one hundred twenty thousand"),
    "spa": N_("45000, 45rb, Rp 45.000/bottle or forty-five thousand"),
    "other": N_("25000, 25rb, Rp 25.000/pcs or twenty-five thousand"),
}


def _field(name: ProductField, ask: Ask[Draft], input_: Input[Draft], **kw: Any) -> Field[Draft]:
    return Field(name, PRODUCT_FIELD_LABELS[name], ask, input_, **kw)  # shown on the card


FIELDS: tuple[Field[Draft], ...] = (
    _field(F.name, N_("What is the product called?"), TextInput(max_len=100, letters=True)),
    _field(
        F.sector,
        N_("Which sector is this product in?"),
        sector_input(lambda d: d.business.sector),
    ),
    _field(
        F.description,
        N_(
            "Describe the product in a sentence or two: what it is, how it is made, "
            "what makes it special."
        ),
        TextInput(max_len=1000, min_len=10),
    ),
    _field(
        F.description_en,
        N_(
            "Optional: the same description in English, for foreign buyers. It is shown on "
            "the export catalogue. Type it, or press “Skip”."
        ),
        TextInput(max_len=1000, min_len=10),
        skip=Skip(N_("Skip"), ""),
    ),
    _field(
        F.name_en,
        N_(
            "Optional: the product's name in English, for the export catalogue (e.g. Crispy "
            "Tempeh Chips). Type it, or press “Skip”."
        ),
        TextInput(max_len=100),
        skip=Skip(N_("Skip"), ""),
        applies=lambda d: applies(d.product, F.name_en),
    ),
    _field(
        F.price,
        _for_sector(
            N_("What is the price in rupiah, and per what? For example {examples}."),
            PRICE_EXAMPLES,
        ),
        TextInput(
            parse=read_price,
            refusal=N_(
                "I couldn't read that as a price. Type an amount between Rp 1 and "
                "Rp 1.000.000.000, for example 25000, Rp 25.000, 25rb or 1,5 jt."
            ),
        ),
    ),
    _field(
        F.unit,
        _for_sector(
            N_("The price is per what? Choose a unit or type it (e.g. {examples})."), UNIT_EXAMPLES
        ),
        ChoiceInput(
            choices=lambda ctx, d: [Option(u, unit_word(ctx, u), (u,)) for u in UNITS],
            refusal=N_("Please type the unit as one word, e.g. pcs, kg or pack."),
            columns=4,
            free_word=True,
        ),
    ),
    _field(
        F.min_order,
        _with_unit(N_("What is the minimum order, in {unit}? For example 10.")),
        QuantityInput(refusal=WHOLE_NUMBER),
    ),
    _field(
        F.capacity,
        _with_unit(N_("How many {unit} can you make in a month? For example 500.")),
        QuantityInput(refusal=WHOLE_NUMBER),
    ),
    _field(
        F.materials,
        _for_sector(N_("What are the main materials? For example: {examples}."), MATERIALS),
        TextInput(max_len=300),
    ),
    _field(
        F.shelf_life,
        N_("How long does it keep (shelf life)? For example 6 months, 1 year or 30 days."),
        TextInput(
            parse=read_duration_days,
            refusal=N_("Please give a number with days, weeks, months or years, e.g. 6 months."),
            too_large=N_(
                "That is longer than any shelf life I can record ({maximum} days, 10 years): "
                "please check the number, e.g. 2 years."
            ),
        ),
        applies=lambda d: applies(d.product, F.shelf_life),
    ),
    _field(
        F.legal_docs,
        N_("Which legal documents apply to this product? Tap to tick or untick, then “Done”."),
        legal_docs_input(
            lambda ctx, d: list(d.product.legal_docs or d.business.legal_docs or []),
            sector=_sector,
        ),
    ),
    # Curator assist (issue 23): document numbers, HS heading, target markets.
    *numbers.FIELDS,
    _field(
        F.photos,
        N_(
            "Now the photos — they matter most to curators. Send 1 to {max} photos: the product "
            "itself and its label or packaging, in daylight on a plain background. You can send "
            "several at once."
        ),
        PhotosInput(
            photos=media.photos,
            known=media.known,
            add=media.add,
            remove=media.remove,
            too_many=N_("A product can have at most {max} photos. Remove one from the card first."),
            duplicate=N_("You already sent this photo for this product."),
        ),
        editable=False,
    ),
)


class ProductForm(Form[Draft]):
    flow: ClassVar[str] = FLOW
    fields = FIELDS
    summary_step: ClassVar[str] = CARD  # the card, whose "Edit a field" opens the picker
    edits_on_summary: ClassVar[bool] = False
    saves_in_place: ClassVar[bool] = True  # an answer is a product attribute
    intro: ClassVar[str | None] = N_(
        "Let's add a product. A few short questions, then photos. "
        "You can stop any time with /batal; it is kept as a draft."
    )
    actions: ClassVar[tuple[Spec, ...]] = (
        ("edit", N_("✏️ Edit a field")),
        ("add_photos", N_("🖼 Add photos")),
        ("remove_photo", N_("🗑 Remove a photo")),
        ("export", N_("🌏 HS code & markets")),
        ("save", N_("💾 Save draft")),
        ("submit", N_("📤 Submit for curation")),
    )

    def __init__(self) -> None:
        super().__init__()
        resume = choices(("continue", N_("▶️ Continue")), ("new", N_("➕ Start new")))
        confirm = choices(("yes", N_("📤 Submit anyway")), ("no", N_("✏️ Fix first")))
        self.steps = {
            RESUME: Step(_resume_text, resume, self._resumed),
            REMOVE_PICK: Step(
                N_("Which photo should go? (numbered as on the card)"),
                _remove_options,
                self._removed,
                columns=5,
            ),
            CONFIRM: Step(_confirm_text, confirm, self._confirmed),
        }

    async def record(self, ctx: Context) -> Draft | None:
        """The product being written (or, while asking whether to continue it, the draft)."""
        return await card.load(ctx, ctx.data.get("product_id") or ctx.data.get("draft_id"))

    def answered(self, record: Draft, field: Field[Draft]) -> bool:
        if field.name in numbers.NAMES:
            return numbers.answered(record.product, field.name)
        return answered(record.product, field.name, photo_count=len(record.photos))

    async def lost(self, ctx: Context) -> None:
        ctx.end_flow()
        ctx.reply(ctx.t("That product no longer exists."), buttons=menu_buttons(ctx))

    async def advance(self, ctx: Context) -> None:
        draft = await self.load(ctx)
        if draft is not None and draft.product.status not in EDITABLE:
            ctx.end_flow()
            await open_product(ctx, draft.product)
            return
        await super().advance(ctx)

    async def save(self, ctx: Context, record: Draft, field: Field[Draft], value: Any) -> bool:
        product = record.product
        if product.status not in EDITABLE:
            ctx.end_flow()
            ctx.reply(ctx.t("This product is with the curators now and can't be changed."))
            return False
        if field.name in numbers.NAMES:
            await numbers.save(ctx, record, field.name, value)
            product.updated_at = ctx.now
            if field.name == numbers.HS_FIELD and ctx.data.get("export_chain"):
                ctx.update_data(export_chain=False)  # the HS heading, then the markets
                await self.edit(ctx, numbers.MARKETS_FIELD)
                return False
            return True
        if isinstance(value, Price):  # its unit, when typed with it, answers that too
            product.unit = value.unit or product.unit
            shown = rupiah(value.amount) + (f" / {value.unit}" if value.unit else "")
            ctx.reply(ctx.t("Price: {price} ✓", price=shown))
            value = value.amount
        if (column := F(field.name).column) is not None:
            setattr(product, column, value)
        product.updated_at = ctx.now
        return True

    # --- the card (this form's summary) -----------------------------------------------

    def summary_heading(self, ctx: Context, record: Draft) -> str:
        return ""

    def summary_text(self, ctx: Context, record: Draft) -> str:
        return card.card_with_warnings(ctx, record)

    def summary_media(self, ctx: Context, record: Draft) -> tuple[MediaOut, ...]:
        """The photos, with the card's first showing or when they changed: asked again
        (after an edit, /bantuan), the card comes as text alone, its photos just above."""
        shown = [p.id for p in record.photos]
        if ctx.data.get(PHOTOS_SHOWN) == shown:
            return ()
        ctx.update_data(**{PHOTOS_SHOWN: shown})
        return card.media(ctx, record.photos)

    async def on_action(self, ctx: Context, record: Draft, action: str) -> None:
        if action == "save":
            ctx.end_flow()
            text = ctx.t("Saved as a draft. Open it any time with /produk.")
            ctx.reply(text, buttons=menu_buttons(ctx))
        elif action == "submit":
            await submit(ctx, record, confirmed=False)
        elif action == "edit":
            await self.go(ctx, EDIT_PICK)
        elif action == "export":
            chain = record.product.sector is not None
            ctx.update_data(export_chain=chain)
            await self.edit(ctx, numbers.HS_FIELD if chain else numbers.MARKETS_FIELD)
        else:
            removing = action == "remove_photo" and record.photos
            await self.go(ctx, REMOVE_PICK if removing else F.photos)

    # --- steps of its own -------------------------------------------------------------

    async def _removed(self, ctx: Context, draft: Draft, choice: str) -> None:
        if choice != "back":
            await media.remove(ctx, draft, int(choice))
        await self.go(ctx, CARD)

    async def _confirmed(self, ctx: Context, draft: Draft, choice: str) -> None:
        if choice == "yes":
            await submit(ctx, draft, confirmed=True)
        else:
            await self.go(ctx, CARD)

    async def _resumed(self, ctx: Context, draft: Draft, choice: str) -> None:
        if choice == "continue":
            ctx.update_data(product_id=draft.product.id, draft_id=None)
            await self.advance(ctx)
        else:
            await self.start_new(ctx, draft.business)

    async def start_new(self, ctx: Context, business: Business) -> None:
        if await at_limit(ctx, business):
            ctx.end_flow()
            return
        product = await create_product(ctx.session, business=business, now=ctx.now)
        await self.start(ctx, product_id=product.id)


def _remove_options(ctx: Context, draft: Draft) -> list[Option]:
    photos = [Option(str(p.id), str(p.position)) for p in draft.photos]
    return [*photos, Option("back", ctx.t("↩️ Back to the card"))]


def _confirm_text(ctx: Context, draft: Draft) -> str:
    warnings = card.warnings_text(ctx, precheck(draft.facts))
    heading = ctx.t("Curators will probably ask about this:")
    fix_first = ctx.t("Fixing it first saves a round. Submit anyway?")
    return f"{heading}\n{warnings}\n\n{fix_first}"


def _resume_text(ctx: Context, draft: Draft) -> str:
    return ctx.t(
        "You have an unfinished product, “{name}”. Continue it, or start a new one?",
        name=draft.product.name or ctx.t("(no name yet)"),
    )


FORM = ProductForm()
