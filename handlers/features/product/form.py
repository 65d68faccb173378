"""Product registration as a form: the card curators judge, filled on a phone, often
interrupted. Every answer is written to the product row at once (status draft), so leaving
keeps it and /produk_baru offers to continue."""

from __future__ import annotations

from typing import Any, ClassVar

from db.models import Business
from db.products import EDITABLE, ProductField, answered, create_product
from handlers.features import fields
from handlers.features.common import menu_buttons
from handlers.features.fields import PRODUCT_FIELD_LABELS, Draft
from handlers.features.product import card, media, numbers
from handlers.features.product.card import FLOW
from handlers.features.product.submit import CARD, CONFIRM, at_limit, open_product, submit
from handlers.i18n import N_
from handlers.kit.context import Context
from handlers.kit.events import MediaOut
from handlers.kit.forms.engine import EDIT_PICK, Field, Form, Spec, Step, choices
from handlers.kit.forms.photos import PhotosInput
from handlers.kit.labels import rupiah
from handlers.kit.parsing import Price
from handlers.kit.render import Option
from handlers.rules.precheck import precheck

F = ProductField
RESUME = "resume"
PHOTOS_SHOWN = "photos_shown"  # in the form's data: the photos the card last came with
REMOVE_PICK = "remove_pick"


# Each field as features/fields.py declares it, the assist's steps, then the photos, which
# this form collects with its own hooks.
FIELDS: tuple[Field[Draft], ...] = (
    *(spec.step for spec in fields.FIELDS if spec.step is not None),
    # Curator assist (issue 23): document numbers, HS heading, target markets.
    *numbers.FIELDS,
    Field(
        F.photos,
        PRODUCT_FIELD_LABELS[F.photos],
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
