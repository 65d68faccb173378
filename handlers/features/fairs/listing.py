"""Upcoming export fairs as producers see them (/pameran) and say they are interested, and
who is (/pameran_peminat, for admins). The buttons under a fair come back through the fair
form's flow (handlers/features/fairs/), whatever conversation is open."""

from __future__ import annotations

from db import fairs as stored
from db.businesses import SECTORS, get_business
from handlers.features.fairs.text import (
    UNINTEREST,
    admin_buttons,
    chunks,
    date_range_text,
    fair_text,
    interest_button,
)
from handlers.i18n import N_
from handlers.kit.context import Context
from handlers.kit.events import Command
from handlers.kit.forms.dates import date_text
from handlers.kit.labels import SECTOR_LABELS, region_label

MAX_SHOWN = 10  # fairs shown by /pameran, one message each
GONE = N_("That fair is no longer on the list.")


# --- /pameran and the interest button ---------------------------------------------------


async def show_fairs(ctx: Context) -> None:
    """/pameran: upcoming fairs for the producer's sector (every fair without a business)."""
    t = ctx.t
    business = await get_business(ctx.session, owner_id=ctx.user.id)
    sector = business.sector if business is not None and business.sector in SECTORS else None
    fairs = await stored.upcoming_fairs(ctx.session, today=ctx.today, sector=sector)
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
    mine = await stored.interested_fair_ids(ctx.session, user_id=ctx.user.id)
    for fair in fairs[:MAX_SHOWN]:
        text = fair_text(t, fair, today=ctx.today)
        if fair.id in mine:
            text += "\n\n" + t("✅ You are on the list for this fair.")
        deadline = fair.registration_deadline
        closed = deadline is not None and deadline < ctx.today and fair.id not in mine
        rows = [] if closed else [[interest_button(t, fair.id, interested=fair.id in mine)]]
        ctx.reply(text, buttons=rows + ([admin_buttons(t, fair.id)] if ctx.is_admin else []))
    if len(fairs) > MAX_SHOWN:
        ctx.reply(
            t("Those are the first {shown} of {total} fairs.", shown=MAX_SHOWN, total=len(fairs))
        )


async def interest(ctx: Context, step: str, fair_id: int | None) -> None:
    """ "I'm interested" (or, with UNINTEREST, taking it back), whatever conversation is open."""
    t = ctx.t
    fair = await stored.get_fair(ctx.session, fair_id=fair_id) if fair_id is not None else None
    if fair is None:
        ctx.reply(t(GONE))
    elif step == UNINTEREST:
        if await stored.remove_interest(ctx.session, fair_id=fair.id, user_id=ctx.user.id):
            text = t("Done: you are no longer on the list for “{name}”.", name=fair.name)
            ctx.reply(text, buttons=[interest_button(t, fair.id)])
        else:
            ctx.reply(t("You were not on the list for “{name}”.", name=fair.name))
    elif fair.end_date < ctx.today:
        ctx.reply(t("“{name}” is already over.", name=fair.name))
    elif fair.registration_deadline is not None and fair.registration_deadline < ctx.today:
        ctx.reply(
            t(
                "Registration for “{name}” closed on {date}, so interest can no longer be "
                "noted. /pameran shows the fairs still open.",
                name=fair.name,
                date=date_text(t, fair.registration_deadline),
            )
        )
    elif await stored.add_interest(ctx.session, fair_id=fair.id, user_id=ctx.user.id, now=ctx.now):
        text = t(
            "✅ Noted: you are interested in “{name}”. The Kurasi team can see you on "
            "the list for this fair.",
            name=fair.name,
        )
        ctx.reply(text, buttons=[interest_button(t, fair.id, interested=True)])
    else:
        ctx.reply(t("You are already on the list for “{name}”.", name=fair.name))
    if ctx.flow is not None:
        ctx.reprompt()


# --- /pameran_peminat -------------------------------------------------------------------


async def show_interested(ctx: Context) -> None:
    """/pameran_peminat [id]: who is interested, per upcoming fair or for one fair."""
    t = ctx.t
    event = ctx.incoming.event
    arg = event.args.strip() if isinstance(event, Command) else ""
    if arg:
        fair = await stored.get_fair(ctx.session, fair_id=int(arg)) if arg.isdigit() else None
        fairs = [fair] if fair is not None else []
        if fair is None:
            ctx.reply(
                t("There is no fair {id}.", id=arg)
                if arg.isdigit()
                else t(
                    "Send /pameran_peminat alone for every upcoming fair, or with a fair "
                    "number, e.g. /pameran_peminat 3."
                )
            )
    else:
        fairs = await stored.upcoming_fairs(ctx.session, today=ctx.today)
        if not fairs:
            ctx.reply(t("There are no upcoming fairs. Add one with /pameran_baru."))
    for fair in fairs:
        people = await stored.interested_users(ctx.session, fair_id=fair.id)
        lines = [
            f"#{fair.id} · {fair.name} · {date_range_text(t, fair.start_date, fair.end_date)}",
            t("Interested producers: {n}", n=len(people))
            if people
            else t("No one is interested yet."),
        ]
        for i, (user, business) in enumerate(people, start=1):
            name = (business.name if business else None) or user.display_name or t("(no name)")
            region = region_label(business.region_code if business else None) or "—"
            phone = (business.phone if business else None) or user.phone or "—"
            lines.append(f"{i}. {name} — {region} — {phone}")
        for chunk in chunks(lines):
            ctx.reply(chunk)
