"""Product registration as a form: the card curators judge, filled on a phone, often
interrupted. Every answer is written to the product row at once (status draft), so leaving
keeps it and /produk_baru offers to continue."""

from __future__ import annotations

from typing import Any, ClassVar

from db.models import Business
from db.products import EDITABLE, ProductField, count_products, create_product
from handlers.common import menu_buttons
from handlers.context import Context
from handlers.events import Document, Event, Photo, Text
from handlers.forms.engine import (
    EDIT_PICK,
    NOT_UNDERSTOOD,
    Field,
    Form,
    Got,
    Input,
    Outcome,
    Refuse,
    Skip,
    Step,
)
from handlers.forms.inputs import ChecklistInput, ChoiceInput, CustomInput, QuantityInput, TextInput
from handlers.i18n import N_
from handlers.labels import PRODUCT_FIELD_LABELS, legal_options, rupiah, sector_options
from handlers.parsing import Price, Refused, parse_duration_days, read_price, refusal_text
from handlers.precheck import precheck
from handlers.product import media
from handlers.product.card import (
    FLOW,
    Draft,
    card_with_warnings,
    field_text,
    load,
    warnings_text,
)
from handlers.product.card import media as card_media
from handlers.product.submit import CARD, CONFIRM, open_product, submit
from handlers.render import Option, choice_reply

F = ProductField
UNITS = ("pcs", "pack", "kg", "liter", "set", "box", "botol", "lusin")
RESUME = "resume"
REMOVE_PICK = "remove_pick"
WHOLE_NUMBER = N_("Please type a whole number, for example 100.")
PRICE_EXAMPLE = N_(
    "I couldn't read that as a price. Type an amount between Rp 1 and "
    "Rp 1.000.000.000, for example 25000, Rp 25.000, 25rb or 1,5 jt."
)


def _with_unit(question: str) -> Any:
    return lambda ctx, d: ctx.t(question, unit=d.product.unit or "pcs")


def _field(name: ProductField, ask: Any, input_: Any, **kw: Any) -> Field:
    return Field(
        name,
        PRODUCT_FIELD_LABELS[name],
        ask,
        input_,
        show=lambda ctx, d: field_text(ctx, d.product, name, d.photos),
        **kw,
    )


class PriceInput(Input):
    """A rupiah amount, digits or words; the unit too when typed with it ("Rp 15.000/bungkus").

    The value is a `Price`; its unit, when given, answers the unit question as well."""

    async def read(
        self, ctx: Context, form: Form, field: Field, record: Any, event: Event
    ) -> Outcome:
        if not isinstance(event, Text):
            return Refuse(ctx.t(NOT_UNDERSTOOD))
        price = read_price(event.text)
        if isinstance(price, Refused):
            return Refuse(refusal_text(ctx.t, price, not_a_number=PRICE_EXAMPLE))
        return Got(price)


FIELDS = (
    _field(F.name, N_("What is the product called?"), TextInput(max_len=100)),
    _field(
        F.sector,
        N_("Which sector is this product in?"),
        ChoiceInput(
            choices=lambda ctx, d: sector_options(ctx, first=d.business.sector),
            refusal=N_("Please choose one of the sectors with the buttons."),
        ),
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
        F.price,
        N_(
            "What is the price in rupiah, and per what? For example 25000, 25rb, "
            "Rp 15.000/bungkus or lima belas ribu."
        ),
        PriceInput(),
    ),
    _field(
        F.unit,
        N_("The price is per what? Choose a unit or type it (e.g. bungkus)."),
        ChoiceInput(
            choices=lambda ctx, d: [Option(u, u) for u in UNITS],
            refusal=N_("Please type the unit as one word, e.g. pcs, kg or bungkus."),
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
        N_("What are the main materials? For example: tempe, coconut oil, salt."),
        TextInput(max_len=300),
    ),
    _field(
        F.shelf_life,
        N_("How long does it keep (shelf life)? For example 6 bulan, 1 tahun or 30 hari."),
        TextInput(
            parse=parse_duration_days,
            refusal=N_("Please give a number with hari, minggu, bulan or tahun, e.g. 6 bulan."),
        ),
        applies=lambda d: d.product.sector == "food",
    ),
    _field(
        F.legal_docs,
        N_("Which legal documents apply to this product? Tap to tick or untick, then “Done”."),
        ChecklistInput(
            choices=lambda ctx, d: legal_options(ctx),
            start=lambda ctx, d: list(d.product.legal_docs or d.business.legal_docs or []),
            refusal=N_("Please tap the documents you have, or type e.g. “PIRT, Halal”."),
            toggled=N_("Tap each document you have, then “Done”."),
            empty_done=N_("None of these"),
        ),
    ),
    _field(
        F.photos,
        "",
        CustomInput(prompter=media.ask_photos, reader=media.read_photos),
        editable=False,
    ),
)


class ProductForm(Form):
    flow: ClassVar[str] = FLOW
    fields: ClassVar[tuple[Field, ...]] = FIELDS
    summary_step: ClassVar[str] = CARD

    def __init__(self) -> None:
        super().__init__()
        self.steps = {
            RESUME: Step(self._resume_text, self._resume_options, self._resumed),
            REMOVE_PICK: Step(self._remove_text, self._remove_options, self._removed, 5),
            CONFIRM: Step(self._confirm_text, self._confirm_options, self._confirmed),
        }

    async def record(self, ctx: Context) -> Draft | None:
        """The product being written (or, while asking whether to continue it, the draft)."""
        return await load(ctx, ctx.data.get("product_id") or ctx.data.get("draft_id"))

    def answered(self, record: Draft, field: Field) -> bool:
        if field.name == F.photos:
            return bool(record.photos)
        column = F(field.name).column
        return getattr(record.product, column or "", None) is not None

    async def lost(self, ctx: Context) -> None:
        ctx.end_flow()
        ctx.reply(ctx.t("That product no longer exists."), buttons=menu_buttons(ctx))

    async def advance(self, ctx: Context) -> None:
        draft = await self.record(ctx)
        if draft is not None and draft.product.status not in EDITABLE:
            ctx.end_flow()
            await open_product(ctx, draft.product)
            return
        await super().advance(ctx)

    async def save(self, ctx: Context, record: Draft, field: Field, value: Any) -> bool:
        product = record.product
        if product.status not in EDITABLE:
            ctx.end_flow()
            ctx.reply(ctx.t("This product is with the curators now and can't be changed."))
            return False
        if field.name == F.price:
            price: Price = value
            value = price.amount
            if price.unit is not None:
                product.unit = price.unit
                shown = f"{rupiah(price.amount)} / {price.unit}"
            else:
                shown = rupiah(price.amount)
            ctx.reply(ctx.t("Price: {price} ✓", price=shown))
        column = F(field.name).column
        if column is not None:
            setattr(product, column, value)
        product.updated_at = ctx.now
        return True

    async def on_event(self, ctx: Context) -> None:
        if isinstance(ctx.incoming.event, Photo | Document):
            if ctx.step == CARD:
                ctx.goto(FLOW, F.photos)  # a photo sent to the card means "add this photo"
            elif ctx.step != F.photos:
                ctx.reply(
                    ctx.t("I will ask for photos at the end. Please answer this question first.")
                )
                await self.prompt(ctx)
                return
        await super().on_event(ctx)

    # --- the card (this form's summary) -----------------------------------------------

    def card_options(self, ctx: Context) -> list[Option]:
        t = ctx.t
        return [
            Option("edit", t("✏️ Edit a field")),
            Option("add_photos", t("🖼 Add photos")),
            Option("remove_photo", t("🗑 Remove a photo")),
            Option("save", t("💾 Save draft")),
            Option("submit", t("📤 Submit for curation")),
        ]

    async def ask_summary(self, ctx: Context, record: Draft) -> None:
        reply = choice_reply(
            ctx.capabilities,
            ctx.t,
            card_with_warnings(ctx, record),
            self.card_options(ctx),
            flow=FLOW,
            step=CARD,
        )
        ctx.reply(
            reply.text,
            buttons=reply.buttons,
            menu=reply.menu,
            media=card_media(ctx, record.photos),
        )

    def summary_actions(self, ctx: Context, record: Draft) -> list[Option]:
        return self.card_options(ctx)

    def edit_options(self, ctx: Context, record: Draft) -> list[Option]:
        if ctx.step == CARD:
            return []  # the card edits through its picker
        return super().edit_options(ctx, record)

    async def on_action(self, ctx: Context, record: Draft, action: str) -> None:
        if action == "save":
            ctx.end_flow()
            ctx.reply(
                ctx.t("Saved as a draft. Open it any time with /produk."),
                buttons=menu_buttons(ctx),
            )
            return
        if action == "submit":
            await submit(ctx, record, confirmed=False)
            return
        if action == "remove_photo" and not record.photos:
            action = "add_photos"
        step = {"edit": EDIT_PICK, "add_photos": F.photos, "remove_photo": REMOVE_PICK}[action]
        ctx.goto(FLOW, step)
        await self.prompt(ctx)

    # --- steps of its own -------------------------------------------------------------

    def _remove_text(self, ctx: Context, draft: Draft) -> str:
        return ctx.t("Which photo should go? (numbered as on the card)")

    def _remove_options(self, ctx: Context, draft: Draft) -> list[Option]:
        photos = [Option(str(p.id), str(p.position)) for p in draft.photos]
        return [*photos, Option("back", ctx.t("↩️ Back to the card"))]

    async def _removed(self, ctx: Context, draft: Draft, choice: str) -> None:
        if choice != "back":
            await media.remove(ctx, draft, int(choice))
        ctx.goto(FLOW, CARD)
        await self.prompt(ctx)

    def _confirm_text(self, ctx: Context, draft: Draft) -> str:
        t = ctx.t
        warnings = warnings_text(ctx, precheck(draft.facts))
        return f"{t('Curators will probably ask about this:')}\n{warnings}\n\n" + t(
            "Fixing it first saves a round. Submit anyway?"
        )

    def _confirm_options(self, ctx: Context, draft: Draft) -> list[Option]:
        return [Option("yes", ctx.t("📤 Submit anyway")), Option("no", ctx.t("✏️ Fix first"))]

    async def _confirmed(self, ctx: Context, draft: Draft, choice: str) -> None:
        if choice == "yes":
            await submit(ctx, draft, confirmed=True)
            return
        ctx.goto(FLOW, CARD)
        await self.prompt(ctx)

    def _resume_text(self, ctx: Context, draft: Draft) -> str:
        return ctx.t(
            "You have an unfinished product, “{name}”. Continue it, or start a new one?",
            name=draft.product.name or ctx.t("(no name yet)"),
        )

    def _resume_options(self, ctx: Context, draft: Draft) -> list[Option]:
        return [Option("continue", ctx.t("▶️ Continue")), Option("new", ctx.t("➕ Start new"))]

    async def _resumed(self, ctx: Context, draft: Draft, choice: str) -> None:
        if choice == "continue":
            ctx.update_data(product_id=draft.product.id, draft_id=None)
            await self.advance(ctx)
        else:
            ctx.update_data(draft_id=None)
            await self.start_new(ctx, draft.business)

    async def start_new(self, ctx: Context, business: Business) -> None:
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
        ctx.update_data(product_id=product.id, editing=False, album=None)
        ctx.reply(
            ctx.t(
                "Let's add a product. A few short questions, then photos. "
                "You can stop any time with /batal; it is kept as a draft."
            )
        )
        await self.advance(ctx)


FORM = ProductForm()
