"""Export fairs: admins add them (/pameran_baru, a form) and change or delete one from the
buttons under it; producers see theirs and say they are interested (/pameran), admins see
who is (/pameran_peminat): handlers/features/fairs/listing.py."""

from __future__ import annotations

from datetime import date
from typing import Any, ClassVar

from db import fairs as stored
from db.fairs import MAX_COUNTRY, MAX_DESCRIPTION, MAX_LINK, MAX_NAME, MAX_PLACE, FairData
from db.models import Fair
from handlers.features.fairs.listing import GONE, interest, show_fairs, show_interested
from handlers.features.fairs.text import (
    CHANGE,
    DELETE,
    FAIR_CANCELLED,
    FAIR_CHANGED,
    FLOW,
    INTEREST,
    UNINTEREST,
    FairButton,
    admin_buttons,
    fair_text,
    interest_button,
)
from handlers.i18n import N_
from handlers.kit.context import Context
from handlers.kit.feature import Feature, Surface
from handlers.kit.forms.dates import DateInput, date_text, day_of, parse_date
from handlers.kit.forms.engine import Field, Form, Skip, Spec, Step, choices
from handlers.kit.forms.inputs import ChecklistInput, TextInput
from handlers.kit.labels import sector_options
from handlers.kit.payload import Payload

__all__ = ["FEATURE", "fair_text", "interest_button", "parse_date"]
DAYS = ("start_date", "end_date", "registration_deadline")
CHANGE_PICK = "change_pick"
DELETE_CONFIRM = "delete_confirm"


# --- /pameran_baru: the form -------------------------------------------------------------


def _link(text: str) -> str | None:
    link = text.strip()
    if "://" not in link and "." in link:
        link = "https://" + link  # "inacraft.co.id" is what people type
    return link if stored.valid_link(link) else None


def _description(text: str) -> str | None:
    cleaned = text.strip()
    return cleaned if 0 < len(cleaned) <= MAX_DESCRIPTION else None


FIELDS: tuple[Field[dict[str, Any]], ...] = (
    Field(
        "name",
        N_("Name"),
        N_("What is the fair called? For example: INACRAFT 2027."),
        TextInput(max_len=MAX_NAME),
    ),
    Field(
        "place",
        N_("Place"),
        N_("Where is it held? For example: JCC Senayan, Jakarta."),
        TextInput(max_len=MAX_PLACE),
    ),
    Field(
        "country",
        N_("Country"),
        N_("In which country? Type it, or press the button."),
        TextInput(max_len=MAX_COUNTRY, suggest=lambda ctx: ["Indonesia"], snap=True),
    ),
    Field(
        "start_date",
        N_("Start"),
        N_("On which day does it start? For example 21 Apr 2027, 21-04-2027 or 2027-04-21."),
        DateInput(
            not_past=N_("That day has already passed. Give the day the fair starts, from today on.")
        ),
    ),
    Field(
        "end_date",
        N_("End"),
        N_("On which day does it end? For example 2027-04-25 or 25-04-2027."),
        DateInput(
            not_before=("start_date", N_("The fair can't end before it starts ({date}).")),
            not_past=N_("That day has already passed, so producers would never see this fair."),
        ),
    ),
    Field(
        "registration_deadline",
        N_("Registration deadline"),
        N_(
            "When does registration close? For example 2027-03-01 or 01-03-2027, "
            "or press “No deadline”."
        ),
        DateInput(
            not_after=(
                "start_date",
                N_("Registration has to close on or before the first day ({date})."),
            )
        ),
        skip=Skip(N_("No deadline")),
    ),
    Field(
        "sectors",
        N_("Sectors"),
        N_("Which sectors is it for? Tap to tick or untick, then “Done”; or choose “All sectors”."),
        ChecklistInput(
            choices=lambda ctx, r: sector_options(ctx),
            start=lambda ctx, r: list(r.get("sectors") or []),  # a stored fair's, when changed
            refusal=N_("Please tap the sectors, or type e.g. “food, fashion”."),
            toggled=N_("Tap each sector the fair is for, then “Done”."),
            all_label=N_("🌐 All sectors"),
        ),
    ),
    Field(
        "link",
        N_("Link"),
        N_("The fair's web page or registration link (starting with https://)? Or “Skip”."),
        TextInput(
            max_len=MAX_LINK,
            parse=_link,
            refusal=N_(
                "That doesn't look like a web address. Please send a link starting "
                "with https:// (at most {n} characters), or press “Skip”."
            ),
        ),
        skip=Skip(N_("Skip")),
    ),
    Field(
        "description",
        N_("Description"),
        lambda ctx, r: ctx.t(
            "A short description for producers (at most {n} characters)? Or “Skip”.",
            n=MAX_DESCRIPTION,
        ),
        TextInput(
            max_len=MAX_DESCRIPTION,
            parse=_description,
            refusal=N_("That is too long — at most {n} characters, please."),
        ),
        skip=Skip(N_("Skip")),
    ),
)


def answers(fair: Fair) -> dict[str, Any]:
    """A stored fair as the form's record (days as ISO text, as DateInput keeps them)."""
    values = {f.name: getattr(fair, f.name) for f in FIELDS}
    return {k: v.isoformat() if isinstance(v, date) else v for k, v in values.items()}


def fair_data(record: dict[str, Any]) -> FairData | None:
    """The form's answers as a fair (None when one is missing, after an upgrade mid-flow)."""
    try:
        days = {name: day_of(record, name) for name in DAYS}
        sectors = stored.sectors_in_order(record.get("sectors") or [])
        fair = FairData(**{**record, **days, "sectors": sectors})
    except (TypeError, ValueError):
        return None
    return fair if fair.start_date and fair.end_date else None


class FairForm(Form[dict[str, Any]]):
    """A new fair, kept in the conversation until Save; and the steps that change or
    delete a stored one (opened by the buttons under it)."""

    flow: ClassVar[str] = FLOW
    fields = FIELDS
    data_key: ClassVar[str | None] = "fair"
    edits_on_summary: ClassVar[bool] = False  # short enough to answer again
    intro: ClassVar[str | None] = N_(
        "Let's add an export fair. A few questions, then you check it before it is saved."
    )
    actions: ClassVar[tuple[Spec, ...]] = (
        ("save", N_("💾 Save"), ("simpan", "save")),
        ("cancel", N_("Cancel"), ("batal", "cancel")),
    )

    def __init__(self) -> None:
        super().__init__()
        change = choices(
            *((f.name, f.label) for f in FIELDS),
            ("back", N_("Cancel"), ("batal", "cancel")),
        )
        delete = choices(
            ("yes", N_("🗑 Yes, delete it"), ("ya", "yes", "hapus", "delete")),
            ("no", N_("Keep it"), ("tidak", "no")),
        )
        self.steps = {
            CHANGE_PICK: Step(_change_text, change, self._change_chosen),
            DELETE_CONFIRM: Step(_delete_text, delete, _delete_chosen),
        }

    async def on_button(self, ctx: Context, payload: Payload) -> None:
        pressed = FairButton.read(payload)  # None for a garbled one: the fair is "gone"
        fair_id = pressed.fair_id if pressed is not None else None
        if payload.step in (INTEREST, UNINTEREST):  # under a fair, whatever is open
            await interest(ctx, payload.step, fair_id)
        elif payload.step in (CHANGE, DELETE):
            await self.open_change(ctx, payload.step, fair_id)
        else:
            await super().on_button(ctx, payload)

    # --- an admin changes or deletes a stored fair ("Ubah" / "Hapus" under /pameran) ----

    async def open_change(self, ctx: Context, what: str, fair_id: int | None) -> None:
        if not ctx.is_admin:
            ctx.reply(ctx.t("Sorry, only admins can change fairs."))
            return
        fair = await stored.get_fair(ctx.session, fair_id=fair_id) if fair_id is not None else None
        if fair is None:
            ctx.reply(ctx.t(GONE))
            return
        step = CHANGE_PICK if what == CHANGE else DELETE_CONFIRM
        await self.open(ctx, step, fair_id=fair.id, fair_name=fair.name, fair=answers(fair))

    async def _change_chosen(self, ctx: Context, record: dict[str, Any], choice: str) -> None:
        if choice in self.by_name:
            await self.edit(ctx, choice)  # the field's own question and input, as in a new fair
        else:
            ctx.end_flow()
            ctx.reply(ctx.t("Nothing was changed."))

    async def save(
        self, ctx: Context, record: dict[str, Any], field: Field[dict[str, Any]], value: Any
    ) -> bool:
        """A new fair's answer is kept until Save; a stored fair's is written at once."""
        fair_id = ctx.data.get("fair_id")
        if not isinstance(fair_id, int):
            return await super().save(ctx, record, field, value)
        if not ctx.is_admin:
            ctx.end_flow()
            ctx.reply(ctx.t("Sorry, only admins can change fairs."))
            return False
        changes = {field.name: stored.cell(value)}
        result = await stored.edit_fair(
            ctx.session, fair_id=fair_id, changes=changes, now=ctx.now, notice_kind=FAIR_CHANGED
        )
        if isinstance(result, list):
            await self.refuse(
                ctx, ctx.t("That was not accepted: {problems}", problems="; ".join(result))
            )
            return False
        ctx.end_flow()
        if result is None:
            ctx.reply(ctx.t(GONE))
            return False
        ctx.reply(
            ctx.t(
                "✅ Fair {id} is changed. Interested producers told: {n}.",
                id=result.fair_id,
                n=len(result.told),
            ),
            buttons=[admin_buttons(ctx.t, result.fair_id)],
        )
        return False

    async def back(self, ctx: Context, record: dict[str, Any]) -> None:
        if "fair_id" in ctx.data:  # changing a stored fair: back to choosing what changes
            await self.go(ctx, CHANGE_PICK)
        else:
            await super().back(ctx, record)

    # --- the new fair's summary ---------------------------------------------------------

    def summary_heading(self, ctx: Context, record: dict[str, Any]) -> str:
        return ctx.t("Please check the fair:")

    def summary_text(self, ctx: Context, record: dict[str, Any]) -> str:
        data = fair_data(record)
        return fair_text(ctx.t, data) if data else ""

    async def ask_summary(self, ctx: Context, record: dict[str, Any]) -> None:
        if fair_data(record) is None:  # an answer went missing (an upgrade mid-flow)
            ctx.update_data(fair={})
            await self.go(ctx, FIELDS[0].name)
            return
        await super().ask_summary(ctx, record)

    async def on_action(self, ctx: Context, record: dict[str, Any], action: str) -> None:
        t = ctx.t
        data = fair_data(record)
        ctx.end_flow()
        if action == "cancel":
            ctx.reply(t("Cancelled — the fair was not saved."))
            return
        if data is None or not ctx.is_admin:
            ctx.reply(t("Sorry, only admins can add fairs. To see upcoming fairs, send /pameran."))
            return
        if found := await stored.find_stored(ctx.session, rows=[data]):
            ctx.reply(
                t(
                    "“{name}” starting {date} is already stored as fair {id}, so nothing new "
                    "was saved.",
                    name=data.name,
                    date=date_text(t, data.start_date),
                    id=found[0][1].id,
                )
            )
            return
        rows, by = [data], ctx.user.id
        (fair,) = await stored.import_fairs(ctx.session, rows=rows, created_by=by, now=ctx.now)
        ctx.reply(
            t(
                "✅ Saved as fair {id}. Producers of its sectors see it with /pameran; "
                "/pameran_peminat {id} shows who is interested.",
                id=fair.id,
            )
        )


def _change_text(ctx: Context, record: dict[str, Any]) -> str:
    return ctx.t("What should change in “{name}”?", name=ctx.data.get("fair_name", ""))


def _delete_text(ctx: Context, record: dict[str, Any]) -> str:
    return ctx.t(
        "Delete “{name}”? Producers who said they are interested will be told it is cancelled.",
        name=ctx.data.get("fair_name", ""),
    )


async def _delete_chosen(ctx: Context, record: dict[str, Any], choice: str) -> None:
    fair_id = ctx.data.get("fair_id")
    ctx.end_flow()
    if choice != "yes" or not isinstance(fair_id, int):
        ctx.reply(ctx.t("Nothing was deleted."))
    elif (
        change := await stored.delete_fair(
            ctx.session, fair_id=fair_id, now=ctx.now, notice_kind=FAIR_CANCELLED
        )
    ) is None:
        ctx.reply(ctx.t(GONE))
    else:
        ctx.reply(
            ctx.t(
                "🗑 “{name}” is deleted. Interested producers told: {n}.",
                name=change.before.name,
                n=len(change.told),
            )
        )


FORM = FairForm()


async def resume_hint(ctx: Context) -> str:
    if "fair_id" in ctx.data:  # changing or deleting a stored fair
        return ctx.t("nothing was changed; send /pameran to choose the fair again")
    return ctx.t("send /pameran_baru to start the fair again")


ADMIN_COMMANDS = {
    "pameran_baru": FORM.start,
    "newfair": FORM.start,
    "pameran_peminat": show_interested,
    "fairinterest": show_interested,
}
FEATURE = Feature(
    commands={"pameran": show_fairs, "fairs": show_fairs, **ADMIN_COMMANDS},
    admin_only=frozenset(ADMIN_COMMANDS),
    forms=(FORM,),
    hints={FLOW: resume_hint},
    surface=(
        Surface(
            "pameran",
            help={
                "producer": N_("upcoming export fairs for your sector"),
                "admin": N_("fairs, each with Edit and Delete"),
            },
            aliases=("fairs",),
            words=("pameran", "fairs"),
            word=N_("fairs"),
            menu=N_("Upcoming export fairs"),
            rank=50,
        ),
        Surface(
            "pameran_baru",
            help={"admin": N_("add an export fair")},
            aliases=("newfair",),
            rank=45,
        ),
        Surface(
            "pameran_peminat",
            help={"admin": N_("who is interested in each fair")},
            aliases=("fairinterest",),
            rank=55,
        ),
    ),
)
