"""Export fairs: admins add them, producers see the ones for their sector and say they are
interested, admins see who is.

/pameran_baru is a guided flow (admins only); /pameran and the "Saya tertarik" button work
whatever conversation is open; /pameran_peminat lists the interested producers per fair.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from db.businesses import SECTORS, get_business
from db.fairs import (
    MAX_COUNTRY,
    MAX_DESCRIPTION,
    MAX_LINK,
    MAX_NAME,
    MAX_PLACE,
    FairData,
    add_interest,
    find_stored,
    get_fair,
    import_fairs,
    interested_fair_ids,
    interested_users,
    sectors_in_order,
    upcoming_fairs,
    valid_link,
)
from db.models import Fair
from db.regions import get_region
from handlers.context import Context, Translate, button
from handlers.events import Button, ButtonPress, Command, Event
from handlers.i18n import N_
from handlers.labels import SECTOR_LABELS, match_label
from handlers.parsing import clean_text, is_no_answer, split_list
from handlers.payload import Payload
from handlers.steps import Step, answers, pressed, text_of

FLOW = "fair"
MAX_SHOWN = 10  # fairs shown by /pameran, one message each
MESSAGE_BUDGET = 3500  # characters per message, well under Telegram's 4096

MONTHS = (
    N_("Jan"),
    N_("Feb"),
    N_("Mar"),
    N_("Apr"),
    N_("May"),
    N_("Jun"),
    N_("Jul"),
    N_("Aug"),
    N_("Sep"),
    N_("Oct"),
    N_("Nov"),
    N_("Dec"),
)

_YMD_RE = re.compile(r"([0-9]{4})[-/.]([0-9]{1,2})[-/.]([0-9]{1,2})")
_DMY_RE = re.compile(r"([0-9]{1,2})[-/.]([0-9]{1,2})[-/.]([0-9]{4})")


# --- shared pieces (the fair reminders use them too) -------------------------------------


def parse_date(text: str) -> date | None:
    """2027-04-21, 21-04-2027, 21/04/2027 or 21.04.2027; None when not a real date."""
    s = text.strip()
    if m := _YMD_RE.fullmatch(s):
        year, month, day = (int(g) for g in m.groups())
    elif m := _DMY_RE.fullmatch(s):
        day, month, year = (int(g) for g in m.groups())
    else:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


def date_text(t: Translate, d: date) -> str:
    return f"{d.day} {t(MONTHS[d.month - 1])} {d.year}"


def date_range_text(t: Translate, start: date, end: date) -> str:
    """21–25 Apr 2027; 28 Sep – 2 Oct 2027; one date for a one-day fair."""
    if start == end:
        return date_text(t, start)
    if (start.year, start.month) == (end.year, end.month):
        return f"{start.day}–{date_text(t, end)}"
    if start.year == end.year:
        return f"{start.day} {t(MONTHS[start.month - 1])} – {date_text(t, end)}"
    return f"{date_text(t, start)} – {date_text(t, end)}"


def sectors_text(t: Translate, sectors: list[str] | tuple[str, ...]) -> str:
    if not sectors:
        return t("all sectors")
    return ", ".join(t(SECTOR_LABELS[s]) for s in sectors if s in SECTOR_LABELS)


def interest_button(t: Translate, fair_id: int) -> Button:
    return Button(label=t("I'm interested"), payload=Payload(FLOW, "interest", str(fair_id)).pack())


def fair_text(t: Translate, fair: Fair | FairData, *, today: date | None = None) -> str:
    """A fair as producers see it: name, dates, place, deadline, sectors, link."""
    lines = [
        f"🌏 {fair.name}",
        f"📅 {date_range_text(t, fair.start_date, fair.end_date)}",
        f"📍 {fair.place}, {fair.country}",
    ]
    deadline = fair.registration_deadline
    if deadline is None:
        lines.append(t("⏳ Registration deadline: not announced"))
    elif today is not None and deadline < today:
        lines.append(t("⏳ Registration closed on {date}", date=date_text(t, deadline)))
    else:
        lines.append(t("⏳ Register by {date}", date=date_text(t, deadline)))
    lines.append(t("🏷 Sectors: {sectors}", sectors=sectors_text(t, fair.sectors)))
    if fair.link:
        lines.append(f"🔗 {fair.link}")
    if fair.description:
        lines.append("")
        lines.append(fair.description)
    return "\n".join(lines)


def _chunks(lines: list[str]) -> list[str]:
    """Lines joined into messages that each stay within the budget."""
    chunks: list[str] = []
    current = ""
    for line in lines:
        if current and len(current) + 1 + len(line) > MESSAGE_BUDGET:
            chunks.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line
    if current:
        chunks.append(current)
    return chunks


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
        ctx.reply(text, buttons=[interest_button(t, fair.id)])
    if len(fairs) > MAX_SHOWN:
        ctx.reply(
            t("Those are the first {shown} of {total} fairs.", shown=MAX_SHOWN, total=len(fairs))
        )


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
            )
        )
    else:
        ctx.reply(t("You are already on the list for “{name}”.", name=fair.name))
    if ctx.flow is not None:
        from handlers import reprompt  # the flow table lives in handlers/__init__

        await reprompt(ctx)


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
        for chunk in _chunks(await _interested_lines(ctx, fair)):
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


# --- /pameran_baru: the guided flow -----------------------------------------------------


async def new_fair(ctx: Context) -> None:
    ctx.goto(FLOW, "name")
    ctx.update_data(fair={}, sectors=[])
    ctx.reply(
        ctx.t("Let's add an export fair. A few questions, then you check it before it is saved.")
    )
    await prompt(ctx)


async def prompt(ctx: Context) -> None:
    step = STEPS.get(ctx.step or "")
    if step is None:
        ctx.end_flow()
        return
    await step.prompt(ctx)


async def on_event(ctx: Context) -> None:
    step = STEPS.get(ctx.step or "")
    if step is None:
        ctx.end_flow()
        return
    await step.answer(ctx, ctx.incoming.event)


async def on_button(ctx: Context, payload: Payload) -> None:
    if payload.step == "interest":
        await _interest(ctx, payload.value)
        return
    step = STEPS.get(payload.step)
    if ctx.flow != FLOW or payload.step != ctx.step or step is None:
        ctx.reply(ctx.t("That button is from an earlier step."))
        if ctx.flow is not None:
            from handlers import reprompt

            await reprompt(ctx)
        return
    await step.answer(ctx, ButtonPress(payload.value))


def _draft(ctx: Context) -> dict[str, Any]:
    draft = ctx.data.get("fair")
    return draft if isinstance(draft, dict) else {}


async def _keep(ctx: Context, next_step: str, **values: Any) -> None:
    ctx.update_data(fair={**_draft(ctx), **values})
    ctx.goto(FLOW, next_step)
    await prompt(ctx)


def _stored_date(ctx: Context, key: str) -> date | None:
    value = _draft(ctx).get(key)
    return date.fromisoformat(value) if isinstance(value, str) else None


def _text_step(
    key: str, question: str, next_step: str, *, max_len: int, suggestions: tuple[str, ...] = ()
) -> Step:
    async def ask(ctx: Context) -> None:
        ctx.reply(ctx.t(question), buttons=[button(s, FLOW, key, s) for s in suggestions])

    async def answer(ctx: Context, event: Event) -> None:
        raw = pressed(event) or text_of(event)
        if raw is None:
            await _not_understood(ctx)
            return
        value = clean_text(raw, max_len=max_len)
        if value is None:
            await _refuse(
                ctx,
                ctx.t("That is too long — at most {n} characters, please.", n=max_len)
                if raw.strip()
                else ctx.t("I can't read that here. Please answer with a short text message."),
            )
            return
        await _keep(ctx, next_step, **{key: value})

    return Step(ask, answer)


def _date_step(key: str, question: str, next_step: str, *, optional: bool = False) -> Step:
    async def ask(ctx: Context) -> None:
        buttons = [button(ctx.t("No deadline"), FLOW, key, "none")] if optional else []
        ctx.reply(ctx.t(question), buttons=buttons)

    async def answer(ctx: Context, event: Event) -> None:
        t = ctx.t
        text = text_of(event)
        if optional and (pressed(event) == "none" or (text is not None and is_no_answer(text))):
            await _keep(ctx, next_step, **{key: None})
            return
        if text is None:
            await _not_understood(ctx)
            return
        day = parse_date(text)
        if day is None:
            await _refuse(
                ctx,
                t(
                    "I couldn't read that as a date. Please type it as year-month-day or "
                    "day-month-year, for example 2027-04-21 or 21-04-2027."
                ),
            )
            return
        start = _stored_date(ctx, "start")
        if key == "end" and start is not None and day < start:
            await _refuse(
                ctx, t("The fair can't end before it starts ({date}).", date=date_text(t, start))
            )
            return
        if key == "end" and day < ctx.today:
            await _refuse(
                ctx,
                t("That day has already passed, so producers would never see this fair."),
            )
            return
        if key == "deadline" and start is not None and day > start:
            await _refuse(
                ctx,
                t(
                    "Registration has to close on or before the first day ({date}).",
                    date=date_text(t, start),
                ),
            )
            return
        await _keep(ctx, next_step, **{key: day.isoformat()})

    return Step(ask, answer)


def _sector_rows(ctx: Context, chosen: list[str]) -> list[list[Button]]:
    t = ctx.t
    items = [
        button(("✅ " if code in chosen else "▫️ ") + t(label), FLOW, "sectors", code)
        for code, label in SECTOR_LABELS.items()
    ]
    rows = [items[i : i + 2] for i in range(0, len(items), 2)]
    rows.append(
        [
            button(t("🌐 All sectors"), FLOW, "sectors", "all"),
            button(t("Done ✓"), FLOW, "sectors", "done"),
        ]
    )
    return rows


def _chosen(ctx: Context) -> list[str]:
    chosen = ctx.data.get("sectors")
    return [s for s in chosen if s in SECTORS] if isinstance(chosen, list) else []


async def _prompt_sectors(ctx: Context) -> None:
    ctx.reply(
        ctx.t(
            "Which sectors is it for? Tap to tick or untick, then “Done”; or choose “All sectors”."
        ),
        buttons=_sector_rows(ctx, _chosen(ctx)),
    )


async def _answer_sectors(ctx: Context, event: Event) -> None:
    t = ctx.t
    choice = pressed(event)
    text = text_of(event)
    chosen = _chosen(ctx)
    if choice in SECTORS:
        chosen = [s for s in chosen if s != choice] if choice in chosen else [*chosen, choice]
        ctx.update_data(sectors=list(sectors_in_order(chosen)))
        ctx.reply(
            t("Tap each sector the fair is for, then “Done”."),
            buttons=_sector_rows(ctx, _chosen(ctx)),
            edit=True,
        )
        return
    if choice == "all" or (text is not None and text.strip().lower() in {"all", "semua"}):
        sectors: list[str] = []
    elif choice == "done":
        sectors = chosen  # nothing ticked: every sector
    elif text is not None:
        typed = [match_label(ctx, item, SECTOR_LABELS) for item in split_list(text)]
        if not typed or None in typed:
            await _refuse(ctx, t("Please tap the sectors, or type e.g. “food, fashion”."))
            return
        sectors = [s for s in typed if s is not None]
    else:
        await _not_understood(ctx)
        return
    ctx.update_data(sectors=[])
    await _keep(ctx, "link", sectors=list(sectors_in_order(sectors)))


def _skip_step(key: str, next_step: str) -> Step:
    """Link and description: optional, with a Skip button."""

    async def ask(ctx: Context) -> None:
        t = ctx.t
        question = (
            t("The fair's web page or registration link (starting with https://)? Or “Skip”.")
            if key == "link"
            else t(
                "A short description for producers (at most {n} characters)? Or “Skip”.",
                n=MAX_DESCRIPTION,
            )
        )
        ctx.reply(question, buttons=[button(t("Skip"), FLOW, key, "skip")])

    async def answer(ctx: Context, event: Event) -> None:
        t = ctx.t
        text = text_of(event)
        if pressed(event) == "skip" or (
            text is not None and (is_no_answer(text) or text.strip().lower() in {"skip", "lewati"})
        ):
            await _keep(ctx, next_step, **{key: None})
            return
        if text is None:
            await _not_understood(ctx)
            return
        if key == "link":
            link = text.strip()
            if "://" not in link and "." in link:
                link = "https://" + link  # "inacraft.co.id" is what people type
            if not valid_link(link):
                await _refuse(
                    ctx,
                    t(
                        "That doesn't look like a web address. Please send a link starting "
                        "with https:// (at most {n} characters), or press “Skip”.",
                        n=MAX_LINK,
                    ),
                )
                return
            await _keep(ctx, next_step, link=link)
            return
        description = text.strip()
        if len(description) > MAX_DESCRIPTION:
            await _refuse(
                ctx, t("That is too long — at most {n} characters, please.", n=MAX_DESCRIPTION)
            )
            return
        await _keep(ctx, next_step, description=description or None)

    return Step(ask, answer)


def _fair_data(ctx: Context) -> FairData | None:
    draft = _draft(ctx)
    try:
        return FairData(
            name=draft["name"],
            place=draft["place"],
            country=draft["country"],
            start_date=date.fromisoformat(draft["start"]),
            end_date=date.fromisoformat(draft["end"]),
            registration_deadline=_stored_date(ctx, "deadline"),
            sectors=sectors_in_order(draft.get("sectors") or []),
            link=draft.get("link"),
            description=draft.get("description"),
        )
    except (KeyError, TypeError, ValueError):
        return None


async def _prompt_confirm(ctx: Context) -> None:
    data = _fair_data(ctx)
    if data is None:
        ctx.goto(FLOW, "name")  # an answer went missing (an upgrade mid-flow): start over
        await prompt(ctx)
        return
    t = ctx.t
    ctx.reply(
        t("Please check the fair:") + "\n\n" + fair_text(t, data),
        buttons=[
            [
                button(t("💾 Save"), FLOW, "confirm", "save"),
                button(t("Cancel"), FLOW, "confirm", "cancel"),
            ]
        ],
    )


async def _answer_confirm(ctx: Context, event: Event) -> None:
    t = ctx.t
    choice = pressed(event)
    if choice == "cancel":
        ctx.end_flow()
        ctx.reply(t("Cancelled — the fair was not saved."))
        return
    if choice != "save":
        await _refuse(ctx, t("Please press one of the buttons."))
        return
    data = _fair_data(ctx)
    if data is None or not ctx.is_admin:
        ctx.end_flow()
        ctx.reply(t("Sorry, only admins can add fairs. To see upcoming fairs, send /pameran."))
        return
    ctx.end_flow()
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


STEPS: dict[str, Step] = {
    "name": _text_step(
        "name",
        N_("What is the fair called? For example: INACRAFT 2027."),
        "place",
        max_len=MAX_NAME,
    ),
    "place": _text_step(
        "place",
        N_("Where is it held? For example: JCC Senayan, Jakarta."),
        "country",
        max_len=MAX_PLACE,
    ),
    "country": _text_step(
        "country",
        N_("In which country? Type it, or press the button."),
        "start",
        max_len=MAX_COUNTRY,
        suggestions=("Indonesia",),
    ),
    "start": _date_step(
        "start", N_("On which day does it start? For example 2027-04-21 or 21-04-2027."), "end"
    ),
    "end": _date_step(
        "end", N_("On which day does it end? For example 2027-04-25 or 25-04-2027."), "deadline"
    ),
    "deadline": _date_step(
        "deadline",
        N_(
            "When does registration close? For example 2027-03-01 or 01-03-2027, "
            "or press “No deadline”."
        ),
        "sectors",
        optional=True,
    ),
    "sectors": Step(_prompt_sectors, _answer_sectors),
    "link": _skip_step("link", "description"),
    "description": _skip_step("description", "confirm"),
    "confirm": Step(_prompt_confirm, _answer_confirm),
}


_refuse, _not_understood = answers(prompt)
