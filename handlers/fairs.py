"""Export fairs: admins add them (/pameran_baru, a form), producers see the ones for their
sector and say they are interested (/pameran), admins see who is (/pameran_peminat).
"""

from __future__ import annotations

from datetime import date
from typing import Any, ClassVar

from db.businesses import SECTORS, get_business
from db.fairs import (
    MAX_COUNTRY,
    MAX_DESCRIPTION,
    MAX_LINK,
    MAX_NAME,
    MAX_PLACE,
    FairData,
    add_interest,
    delete_fair,
    edit_fair,
    fair_values,
    find_stored,
    get_fair,
    import_fairs,
    interested_fair_ids,
    interested_users,
    remove_interest,
    sectors_in_order,
    upcoming_fairs,
    valid_link,
)
from db.models import Fair
from db.regions import get_region
from handlers.context import Context, button
from handlers.events import Button, Command, Text
from handlers.fairs_text import (
    FLOW,
    INTEREST,
    chunks,
    date_range_text,
    date_text,
    fair_text,
    interest_button,
    parse_date,
)
from handlers.features import Feature
from handlers.forms.engine import Field, Form, Skip, Step
from handlers.forms.inputs import ChecklistInput, TextInput
from handlers.i18n import N_
from handlers.labels import SECTOR_LABELS, sector_options
from handlers.payload import Payload
from handlers.render import Option

__all__ = ["FEATURE", "fair_text", "interest_button", "parse_date"]
MAX_SHOWN = 10  # fairs shown by /pameran, one message each
UNINTEREST = "uninterest"
CHANGE = "change"
DELETE = "delete"
CHANGE_PICK = "change_pick"
CHANGE_VALUE = "change_value"
DELETE_CONFIRM = "delete_confirm"


def _command_args(ctx: Context) -> str:
    event = ctx.incoming.event
    return event.args.strip() if isinstance(event, Command) else ""


# --- /pameran and the interest button ---------------------------------------------------


async def show_fairs(ctx: Context) -> None:
    """/pameran: upcoming fairs for the producer's sector (every fair without a business)."""
    t = ctx.t
    today = ctx.today
    business = await get_business(ctx.session, owner_id=ctx.user.id)
    sector = business.sector if business is not None and business.sector in SECTORS else None
    fairs = await upcoming_fairs(ctx.session, today=today, sector=sector)
    if not fairs:
        ctx.reply(
            t(
                "There are no upcoming export fairs for your sector right now. "
                "Have a look again later with /pameran."
            )
            if sector
            else t("There are no upcoming export fairs right now. Have a look again later.")
        )
        return
    header = (
        t("Upcoming export fairs for {sector}:", sector=t(SECTOR_LABELS[sector]))
        if sector
        else t("Upcoming export fairs:")
    )
    ctx.reply(header + "\n" + t("Press “I'm interested” under a fair to be put on its list."))
    mine = await interested_fair_ids(ctx.session, user_id=ctx.user.id)
    for fair in fairs[:MAX_SHOWN]:
        text = fair_text(t, fair, today=today)
        if fair.id in mine:
            text += "\n\n" + t("✅ You are on the list for this fair.")
        ctx.reply(text, buttons=_fair_buttons(ctx, fair.id, interested=fair.id in mine))
    if len(fairs) > MAX_SHOWN:
        ctx.reply(
            t("Those are the first {shown} of {total} fairs.", shown=MAX_SHOWN, total=len(fairs))
        )


def _fair_buttons(ctx: Context, fair_id: int, *, interested: bool) -> list[list[Button]]:
    """Under a fair: "I'm interested" or "Not interested any more"; for admins, also
    Edit and Delete."""
    t = ctx.t
    rows = [
        [button(t("❌ Not interested any more"), FLOW, UNINTEREST, str(fair_id))]
        if interested
        else [interest_button(t, fair_id)]
    ]
    if ctx.is_admin:
        rows.append(
            [
                button(t("✏️ Edit"), FLOW, CHANGE, str(fair_id)),
                button(t("🗑 Delete"), FLOW, DELETE, str(fair_id)),
            ]
        )
    return rows


async def _uninterest(ctx: Context, value: str) -> None:
    t = ctx.t
    fair = await get_fair(ctx.session, fair_id=int(value)) if value.isdigit() else None
    if fair is None:
        ctx.reply(t("That fair is no longer on the list."))
    elif await remove_interest(ctx.session, fair_id=fair.id, user_id=ctx.user.id):
        ctx.reply(
            t("Done: you are no longer on the list for “{name}”.", name=fair.name),
            buttons=[interest_button(t, fair.id)],
        )
    else:
        ctx.reply(t("You were not on the list for “{name}”.", name=fair.name))
    if ctx.flow is not None:
        ctx.reprompt()


async def _interest(ctx: Context, value: str) -> None:
    t = ctx.t
    fair = await get_fair(ctx.session, fair_id=int(value)) if value.isdigit() else None
    if fair is None:
        ctx.reply(t("That fair is no longer on the list."))
    elif fair.end_date < ctx.today:
        ctx.reply(t("“{name}” is already over.", name=fair.name))
    elif await add_interest(ctx.session, fair_id=fair.id, user_id=ctx.user.id, now=ctx.now):
        ctx.reply(
            t(
                "✅ Noted: you are interested in “{name}”. The Kurasi team can see you on "
                "the list for this fair.",
                name=fair.name,
            ),
            buttons=[button(t("❌ Not interested any more"), FLOW, UNINTEREST, str(fair.id))],
        )
    else:
        ctx.reply(t("You are already on the list for “{name}”.", name=fair.name))
    if ctx.flow is not None:
        ctx.reprompt()


# --- /pameran_peminat -------------------------------------------------------------------


async def show_interested(ctx: Context) -> None:
    """/pameran_peminat [id]: who is interested, per upcoming fair or for one fair."""
    t = ctx.t
    arg = _command_args(ctx)
    if arg:
        fair = await get_fair(ctx.session, fair_id=int(arg)) if arg.isdigit() else None
        if fair is None:
            ctx.reply(
                t("There is no fair {id}.", id=arg)
                if arg.isdigit()
                else t(
                    "Send /pameran_peminat alone for every upcoming fair, or with a fair "
                    "number, e.g. /pameran_peminat 3."
                )
            )
            return
        fairs = [fair]
    else:
        fairs = await upcoming_fairs(ctx.session, today=ctx.today)
        if not fairs:
            ctx.reply(t("There are no upcoming fairs. Add one with /pameran_baru."))
            return
    for fair in fairs:
        for chunk in chunks(await _interested_lines(ctx, fair)):
            ctx.reply(chunk)


async def _interested_lines(ctx: Context, fair: Fair) -> list[str]:
    t = ctx.t
    people = await interested_users(ctx.session, fair_id=fair.id)
    lines = [
        f"#{fair.id} · {fair.name} · {date_range_text(t, fair.start_date, fair.end_date)}",
        t("Interested producers: {n}", n=len(people)) if people else t("No one is interested yet."),
    ]
    for i, (user, business) in enumerate(people, start=1):
        name = (business.name if business else None) or user.display_name or t("(no name)")
        region = get_region(business.region_code) if business and business.region_code else None
        phone = (business.phone if business else None) or user.phone or "—"
        lines.append(f"{i}. {name} — {region.label if region else '—'} — {phone}")
    return lines


# --- /pameran_baru: the form -------------------------------------------------------------

DATE_REFUSAL = N_(
    "I couldn't read that as a date. Please type it as year-month-day or "
    "day-month-year, for example 2027-04-21 or 21-04-2027."
)


def _day(record: dict[str, Any], key: str) -> date | None:
    value = record.get(key)
    return date.fromisoformat(value) if isinstance(value, str) else None


def _check_end(ctx: Context, record: dict[str, Any], value: str) -> str | None:
    t = ctx.t
    start, day = _day(record, "start"), date.fromisoformat(value)
    if start is not None and day < start:
        return t("The fair can't end before it starts ({date}).", date=date_text(t, start))
    if day < ctx.today:
        return t("That day has already passed, so producers would never see this fair.")
    return None


def _check_deadline(ctx: Context, record: dict[str, Any], value: str | None) -> str | None:
    t = ctx.t
    start = _day(record, "start")
    if value is not None and start is not None and date.fromisoformat(value) > start:
        return t(
            "Registration has to close on or before the first day ({date}).",
            date=date_text(t, start),
        )
    return None


def _iso(text: str) -> str | None:
    day = parse_date(text)
    return day.isoformat() if day else None


def _link(text: str) -> str | None:
    link = text.strip()
    if "://" not in link and "." in link:
        link = "https://" + link  # "inacraft.co.id" is what people type
    return link if valid_link(link) else None


def _description(text: str) -> str | None:
    cleaned = text.strip()
    return cleaned if 0 < len(cleaned) <= MAX_DESCRIPTION else None


def _date(name: str, label: str, ask: str, **kw: Any) -> Field:
    return Field(name, label, ask, TextInput(parse=_iso, refusal=DATE_REFUSAL), **kw)


FIELDS = (
    Field(
        "name",
        N_("Name"),
        N_("What is the fair called? For example: INACRAFT 2027."),
        TextInput(max_len=MAX_NAME, short=N_("Please type a name.")),
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
    _date(
        "start",
        N_("Start"),
        N_("On which day does it start? For example 2027-04-21 or 21-04-2027."),
    ),
    _date(
        "end",
        N_("End"),
        N_("On which day does it end? For example 2027-04-25 or 25-04-2027."),
        check=_check_end,
    ),
    _date(
        "deadline",
        N_("Registration deadline"),
        N_(
            "When does registration close? For example 2027-03-01 or 01-03-2027, "
            "or press “No deadline”."
        ),
        skip=Skip(N_("No deadline")),
        check=_check_deadline,
    ),
    Field(
        "sectors",
        N_("Sectors"),
        N_("Which sectors is it for? Tap to tick or untick, then “Done”; or choose “All sectors”."),
        ChecklistInput(
            choices=lambda ctx, r: sector_options(ctx),
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


def fair_data(record: dict[str, Any]) -> FairData | None:
    try:
        return FairData(
            name=record["name"],
            place=record["place"],
            country=record["country"],
            start_date=date.fromisoformat(record["start"]),
            end_date=date.fromisoformat(record["end"]),
            registration_deadline=_day(record, "deadline"),
            sectors=sectors_in_order(record.get("sectors") or []),
            link=record.get("link"),
            description=record.get("description"),
        )
    except (KeyError, TypeError, ValueError):
        return None


CHANGEABLE = {
    "name": N_("Name"),
    "place": N_("Place"),
    "country": N_("Country"),
    "start_date": N_("Start"),
    "end_date": N_("End"),
    "registration_deadline": N_("Registration deadline"),
    "link": N_("Link"),
    "description": N_("Description"),
}


class FairForm(Form):
    flow: ClassVar[str] = FLOW
    fields: ClassVar[tuple[Field, ...]] = FIELDS

    def __init__(self) -> None:
        super().__init__()
        self.steps = {
            CHANGE_PICK: Step(self._change_text, self._change_options, self._change_chosen),
            DELETE_CONFIRM: Step(self._delete_text, self._delete_options, self._delete_chosen),
        }

    async def record(self, ctx: Context) -> dict[str, Any]:
        draft = ctx.data.get("fair")
        return draft if isinstance(draft, dict) else {}

    def answered(self, record: dict[str, Any], field: Field) -> bool:
        return field.name in record

    async def save(self, ctx: Context, record: dict[str, Any], field: Field, value: Any) -> bool:
        if field.name == "sectors":
            value = list(sectors_in_order([s for s in value if s in SECTORS]))
        ctx.update_data(fair={**record, field.name: value})
        return True

    async def on_button(self, ctx: Context, payload: Payload) -> None:
        if payload.step == INTEREST:  # under a fair, whatever conversation is open
            await _interest(ctx, payload.value)
            return
        if payload.step == UNINTEREST:
            await _uninterest(ctx, payload.value)
            return
        if payload.step in (CHANGE, DELETE):
            await self.open_change(ctx, payload.step, payload.value)
            return
        await super().on_button(ctx, payload)

    # --- an admin changes or deletes a stored fair ("Ubah" / "Hapus" under /pameran) ----

    async def open_change(self, ctx: Context, what: str, value: str) -> None:
        t = ctx.t
        if not ctx.is_admin:
            ctx.reply(t("Sorry, only admins can change fairs."))
            return
        fair = await get_fair(ctx.session, fair_id=int(value)) if value.isdigit() else None
        if fair is None:
            ctx.reply(t("That fair is no longer on the list."))
            return
        ctx.goto(FLOW, CHANGE_PICK if what == CHANGE else DELETE_CONFIRM)
        ctx.update_data(fair_id=fair.id, fair_name=fair.name)
        await self.prompt(ctx)

    def _change_text(self, ctx: Context, record: dict[str, Any]) -> str:
        return ctx.t("What should change in “{name}”?", name=ctx.data.get("fair_name", ""))

    def _change_options(self, ctx: Context, record: dict[str, Any]) -> list[Option]:
        t = ctx.t
        return [
            *(Option(column, t(label), (t(label),)) for column, label in CHANGEABLE.items()),
            Option("back", t("Cancel"), ("batal", "cancel")),
        ]

    async def _change_chosen(self, ctx: Context, record: dict[str, Any], choice: str) -> None:
        if choice not in CHANGEABLE:
            ctx.end_flow()
            ctx.reply(ctx.t("Nothing was changed."))
            return
        ctx.goto(FLOW, CHANGE_VALUE)
        ctx.update_data(column=choice)
        await self.prompt(ctx)

    def _delete_text(self, ctx: Context, record: dict[str, Any]) -> str:
        return ctx.t(
            "Delete “{name}”? Producers who said they are interested will be told it is cancelled.",
            name=ctx.data.get("fair_name", ""),
        )

    def _delete_options(self, ctx: Context, record: dict[str, Any]) -> list[Option]:
        t = ctx.t
        return [
            Option("yes", t("🗑 Yes, delete it"), ("ya", "yes", "hapus", "delete")),
            Option("no", t("Keep it"), ("tidak", "no")),
        ]

    async def _delete_chosen(self, ctx: Context, record: dict[str, Any], choice: str) -> None:
        fair_id = ctx.data.get("fair_id")
        ctx.end_flow()
        if choice != "yes" or not isinstance(fair_id, int):
            ctx.reply(ctx.t("Nothing was deleted."))
            return
        change = await delete_fair(ctx.session, fair_id=fair_id, now=ctx.now)
        if change is None:
            ctx.reply(ctx.t("That fair is no longer on the list."))
            return
        ctx.reply(
            ctx.t(
                "🗑 “{name}” is deleted. Interested producers told: {n}.",
                name=change.before.name,
                n=len(change.told),
            )
        )

    async def prompt(self, ctx: Context) -> None:
        if ctx.flow == FLOW and ctx.step == CHANGE_VALUE:
            column = str(ctx.data.get("column", ""))
            fair_id = ctx.data.get("fair_id")
            fair = (
                await get_fair(ctx.session, fair_id=fair_id) if isinstance(fair_id, int) else None
            )
            if fair is None or column not in CHANGEABLE:
                ctx.end_flow()
                ctx.reply(ctx.t("That fair is no longer on the list."))
                return
            now = fair_values(fair)[column] or "—"
            ctx.reply(
                ctx.t(
                    "Type the new {field} (now: {value}). Dates like 21-04-2027.",
                    field=ctx.t(CHANGEABLE[column]).lower(),
                    value=now,
                )
            )
            return
        await super().prompt(ctx)

    async def on_event(self, ctx: Context) -> None:
        if ctx.step != CHANGE_VALUE:
            await super().on_event(ctx)
            return
        event = ctx.incoming.event
        fair_id = ctx.data.get("fair_id")
        column = str(ctx.data.get("column", ""))
        if not isinstance(event, Text) or not isinstance(fair_id, int) or not ctx.is_admin:
            await self.prompt(ctx)
            return
        result = await edit_fair(
            ctx.session, fair_id=fair_id, changes={column: event.text.strip()}, now=ctx.now
        )
        if result is None:
            ctx.end_flow()
            ctx.reply(ctx.t("That fair is no longer on the list."))
        elif isinstance(result, list):
            ctx.reply(ctx.t("That was not accepted: {problems}", problems="; ".join(result)))
            await self.prompt(ctx)
        else:
            ctx.end_flow()
            if result.told:
                ctx.reply(
                    ctx.t(
                        "✅ Fair {id} is changed. Interested producers told: {n}.",
                        id=result.fair_id,
                        n=len(result.told),
                    ),
                    buttons=_fair_buttons(ctx, result.fair_id, interested=False)[1:],
                )

    def summary_heading(self, ctx: Context, record: dict[str, Any]) -> str:
        return ctx.t("Please check the fair:")

    def summary_text(self, ctx: Context, record: dict[str, Any]) -> str:
        data = fair_data(record)
        return fair_text(ctx.t, data) if data else ""

    def edit_options(self, ctx: Context, record: dict[str, Any]) -> list[Option]:
        return []  # short enough to answer again

    def summary_actions(self, ctx: Context, record: dict[str, Any]) -> list[Option]:
        return [
            Option("save", ctx.t("💾 Save"), ("simpan", "save")),
            Option("cancel", ctx.t("Cancel"), ("batal", "cancel")),
        ]

    async def ask_summary(self, ctx: Context, record: dict[str, Any]) -> None:
        if fair_data(record) is None:  # an answer went missing (an upgrade mid-flow)
            ctx.update_data(fair={})
            ctx.goto(FLOW, "name")
            await self.prompt(ctx)
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
        stored = await find_stored(ctx.session, rows=[data])
        if stored:
            ctx.reply(
                t(
                    "“{name}” starting {date} is already stored as fair {id}, so nothing new "
                    "was saved.",
                    name=data.name,
                    date=date_text(t, data.start_date),
                    id=stored[0][1].id,
                )
            )
            return
        (fair,) = await import_fairs(ctx.session, rows=[data], created_by=ctx.user.id, now=ctx.now)
        ctx.reply(
            t(
                "✅ Saved as fair {id}. Producers of its sectors see it with /pameran; "
                "/pameran_peminat {id} shows who is interested.",
                id=fair.id,
            )
        )


FORM = FairForm()


async def new_fair(ctx: Context) -> None:
    ctx.goto(FLOW, None)
    ctx.update_data(fair={})
    ctx.reply(
        ctx.t("Let's add an export fair. A few questions, then you check it before it is saved.")
    )
    await FORM.advance(ctx)


async def resume_hint(ctx: Context) -> str:
    if ctx.step in (CHANGE_PICK, CHANGE_VALUE, DELETE_CONFIRM):
        return ctx.t("nothing was changed; send /pameran to choose the fair again")
    return ctx.t("send /pameran_baru to start the fair again")


FEATURE = Feature(
    commands={
        "pameran": show_fairs,
        "fairs": show_fairs,
        "pameran_baru": new_fair,
        "newfair": new_fair,
        "pameran_peminat": show_interested,
        "fairinterest": show_interested,
    },
    admin_only=frozenset({"pameran_baru", "newfair", "pameran_peminat", "fairinterest"}),
    forms=(FORM,),
    hints={FLOW: resume_hint},
)
