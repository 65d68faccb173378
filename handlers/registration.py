"""Producer onboarding: language, privacy consent, then the business profile step by step.

Every answer is written to the business row at once, so leaving (/batal, a restart, days of
silence) keeps it; the profile counts as registered only after the producer presses Save.
The same flow serves /profil: the summary's edit buttons jump to one field and come back.
"""

from __future__ import annotations

from db.businesses import (
    PROFILE_FIELDS,
    SECTORS,
    complete_registration,
    get_business,
    get_or_create_business,
    missing_fields,
)
from db.models import Business
from db.regions import get_region, search_regions
from handlers.common import language_buttons, menu_buttons
from handlers.context import LANGUAGES, Context, button
from handlers.events import ButtonPress, Contact, Event, Text
from handlers.i18n import N_
from handlers.labels import (
    SECTOR_LABELS,
    checklist_answer,
    legal_buttons,
    legal_text,
    match_label,
    sector_buttons,
    thousands,
)
from handlers.parsing import (
    clean_text,
    is_no_answer,
    parse_nib,
    parse_phone,
    parse_quantity,
    split_list,
)
from handlers.payload import Payload
from handlers.steps import Step, answers, pressed, text_of

FLOW = "reg"
MAX_NAME = 100
MAX_COUNTRY = 60
MAX_COUNTRIES = 20
MAX_REGION_CHOICES = 8

FIELD_LABELS = {
    "name": N_("Business name"),
    "owner_name": N_("Owner"),
    "phone": N_("Phone"),
    "region": N_("Regency/city"),
    "sector": N_("Sector"),
    "nib": N_("NIB"),
    "legal_docs": N_("Legal documents"),
    "capacity": N_("Monthly capacity"),
    "export": N_("Export experience"),
}
UNITS = ("pcs", "pack", "kg", "liter", "set", "lusin", "box", "meter")
YES_WORDS = {
    "ya", "iya", "setuju", "saya setuju", "ok", "oke", "yes", "agree", "i agree", "y",
}  # fmt: skip


# --- entry points -----------------------------------------------------------------------


async def start(ctx: Context) -> None:
    """/start: the next thing this person has not done yet."""
    if ctx.flow == FLOW:
        await prompt(ctx)
        return
    if ctx.user.language is None:
        ctx.goto(FLOW, "language")
        await prompt(ctx)
        return
    if ctx.user.consented_at is None:
        ctx.goto(FLOW, "privacy")
        await prompt(ctx)
        return
    business = await get_business(ctx.session, owner_id=ctx.user.id)
    if business is not None and business.registered_at is not None:
        ctx.reply(
            ctx.t("Welcome back, {name}! What would you like to do?", name=business.name),
            buttons=menu_buttons(ctx),
        )
        return
    if business is not None and len(missing_fields(business)) < len(PROFILE_FIELDS):
        ctx.reply(ctx.t("Welcome back! Let's continue your registration where you left off."))
    await advance(ctx)


async def show_profile(ctx: Context) -> None:
    """/profil: the profile with edit buttons, or the unfinished registration."""
    business = await get_business(ctx.session, owner_id=ctx.user.id)
    if business is None or business.registered_at is None or ctx.user.consented_at is None:
        ctx.reply(ctx.t("You have not finished registering your business yet."))
        await start(ctx)
        return
    ctx.goto(FLOW, "summary")
    await prompt(ctx)


async def on_event(ctx: Context) -> None:
    """Anything sent while this flow is open, other than a button press."""
    step = STEPS.get(ctx.step or "")
    if step is None:
        await advance(ctx)
        return
    await step.answer(ctx, ctx.incoming.event)


async def on_button(ctx: Context, payload: Payload) -> None:
    if ctx.flow != FLOW or payload.step != ctx.step:
        ctx.reply(ctx.t("That button is from an earlier step."))
        if ctx.flow is not None:
            from handlers import reprompt

            await reprompt(ctx)
        else:
            await start(ctx)
        return
    await STEPS[payload.step].answer(ctx, ButtonPress(payload.value))


async def prompt(ctx: Context) -> None:
    step = STEPS.get(ctx.step or "")
    if step is None:
        await advance(ctx)
    else:
        await step.prompt(ctx)


# --- moving through the profile ---------------------------------------------------------


async def _business(ctx: Context) -> Business:
    return await get_or_create_business(ctx.session, owner_id=ctx.user.id, now=ctx.now)


async def advance(ctx: Context) -> None:
    """After an answer: back to the summary when editing, else the next unanswered field."""
    if ctx.user.language is None:
        ctx.goto(FLOW, "language")
    elif ctx.user.consented_at is None:
        ctx.goto(FLOW, "privacy")
    else:
        business = await _business(ctx)
        missing = missing_fields(business)
        if ctx.data.get("editing") or not missing:
            ctx.update_data(editing=False)
            ctx.goto(FLOW, "summary")
        else:
            ctx.goto(FLOW, missing[0])
    await prompt(ctx)


# --- language and consent ---------------------------------------------------------------


async def _prompt_language(ctx: Context) -> None:
    ctx.reply(
        "Selamat datang di Kurasi! 👋\nPilih bahasa / Choose your language:",
        buttons=language_buttons(FLOW, "language"),
    )


async def _answer_language(ctx: Context, event: Event) -> None:
    choice = pressed(event)
    text = (text_of(event) or "").strip().lower()
    if choice is None and text:
        if text in {"id", "indonesia", "bahasa indonesia", "bahasa", "indonesian"}:
            choice = "id"
        elif text in {"en", "english", "inggris", "bahasa inggris"}:
            choice = "en"
    if choice not in LANGUAGES:
        await _refuse(ctx, "Tekan salah satu tombol / Press one of the buttons.")
        return
    ctx.user.language = choice
    await advance(ctx)


async def _prompt_privacy(ctx: Context) -> None:
    t = ctx.t
    ctx.reply(
        t(
            "Before we start, about your data 🔒\n\n"
            "Kurasi stores what you tell it about your business and products (names, phone "
            "number, regency, legal documents, photos) so that certified curators can assess "
            "your products and the Kadin Jatim export platform can promote them. We use it "
            "only for curation, export promotion and fair announcements, and never sell it.\n\n"
            "Under Indonesia's Personal Data Protection Law (UU 27/2022) you may see, correct "
            "or delete your data at any time.\n\nDo you agree?"
        ),
        buttons=[
            [
                button(t("✅ I agree"), FLOW, "privacy", "yes"),
                button(t("❌ No"), FLOW, "privacy", "no"),
            ]
        ],
    )


async def _answer_privacy(ctx: Context, event: Event) -> None:
    choice = pressed(event)
    text = (text_of(event) or "").strip().lower().rstrip(".!")
    if choice is None and text:
        choice = "yes" if text in YES_WORDS else "no" if is_no_answer(text) else None
    if choice == "yes":
        ctx.user.consented_at = ctx.now
        ctx.reply(
            ctx.t(
                "Thank you! Let's register your business — about nine short questions. "
                "You can stop any time with /batal; your answers are kept."
            )
        )
        await advance(ctx)
    elif choice == "no":
        ctx.end_flow()
        ctx.reply(
            ctx.t(
                "Understood. I won't ask about your business. Send /start whenever you are ready."
            )
        )
    else:
        await _refuse(ctx, ctx.t("Please press “I agree” or “No”."))


# --- the profile fields -----------------------------------------------------------------


def _text_step(field: str, question: str, *, offer_own_name: bool = False) -> Step:
    async def ask(ctx: Context) -> None:
        buttons = []
        own = ctx.incoming.sender.display_name or ctx.user.display_name
        if offer_own_name and own and len(own) <= MAX_NAME:
            buttons = [button(own[:40], FLOW, field, "self")]
        ctx.reply(ctx.t(question), buttons=buttons)

    async def answer(ctx: Context, event: Event) -> None:
        raw = text_of(event)
        if pressed(event) == "self":
            raw = ctx.incoming.sender.display_name or ctx.user.display_name
        if raw is None:
            await _not_understood(ctx)
            return
        value = clean_text(raw, max_len=MAX_NAME)
        if value is None:
            message = (
                ctx.t("That is too long — at most {n} characters, please.", n=MAX_NAME)
                if raw.strip()
                else ctx.t("Please type a name.")
            )
            await _refuse(ctx, message)
            return
        setattr(await _business(ctx), field, value)
        await advance(ctx)

    return Step(ask, answer)


async def _prompt_phone(ctx: Context) -> None:
    ctx.reply(
        ctx.t(
            "What phone number can buyers and curators reach the business on? "
            "Press the button to share this phone's number, or type it (e.g. 0812 3456 7890)."
        ),
        ask_contact=ctx.t("📱 Share my number"),
    )


async def _answer_phone(ctx: Context, event: Event) -> None:
    if isinstance(event, Contact):
        raw = event.phone
    elif isinstance(event, Text):
        raw = event.text
    else:
        await _not_understood(ctx)
        return
    phone = parse_phone(raw)
    if phone is None:
        await _refuse(
            ctx,
            ctx.t(
                "That doesn't look like an Indonesian phone number. "
                "Type it like 0812 3456 7890 or +62 812 3456 7890."
            ),
        )
        return
    business = await _business(ctx)
    business.phone = phone
    if isinstance(event, Contact) and event.is_own:
        ctx.user.phone = phone
    ctx.reply(ctx.t("Phone: {phone} ✓", phone=phone), remove_keyboard=True)
    await advance(ctx)


async def _prompt_region(ctx: Context) -> None:
    ctx.reply(
        ctx.t(
            "In which regency or city of East Java is the business? "
            "Type its name, e.g. Sidoarjo, Banyuwangi or Kota Malang."
        )
    )


async def _answer_region(ctx: Context, event: Event) -> None:
    code = pressed(event)
    if code is not None:
        region = get_region(code)
        if region is None:
            await _refuse(ctx, ctx.t("That button is no longer valid."))
            return
        (await _business(ctx)).region_code = region.code
        await advance(ctx)
        return
    query = text_of(event)
    if query is None:
        await _not_understood(ctx)
        return
    matches = search_regions(query[:200])
    if len(matches) == 1:
        (await _business(ctx)).region_code = matches[0].code
        ctx.reply(ctx.t("Regency/city: {region} ✓", region=matches[0].label))
        await advance(ctx)
    elif not matches:
        await _refuse(
            ctx,
            ctx.t(
                "I couldn't find “{query}” among East Java's regencies and cities. "
                "Check the spelling, e.g. Banyuwangi or Kota Surabaya.",
                query=query.strip()[:40],
            ),
        )
    elif len(matches) > MAX_REGION_CHOICES:
        await _refuse(ctx, ctx.t("Many places match that. Please type more of the name."))
    else:
        ctx.reply(
            ctx.t("Which one do you mean?"),
            buttons=[button(r.label, FLOW, "region", r.code) for r in matches],
        )


async def _prompt_sector(ctx: Context) -> None:
    ctx.reply(
        ctx.t("Which sector is the business in?"), buttons=sector_buttons(ctx, FLOW, "sector")
    )


async def _answer_sector(ctx: Context, event: Event) -> None:
    choice = pressed(event)
    text = text_of(event)
    if choice is None and text is not None:
        choice = match_label(ctx, text, SECTOR_LABELS)
    if choice not in SECTORS:
        await _refuse(ctx, ctx.t("Please choose one of the sectors with the buttons."))
        return
    (await _business(ctx)).sector = choice
    await advance(ctx)


async def _prompt_nib(ctx: Context) -> None:
    ctx.reply(
        ctx.t(
            "What is the business's NIB (Nomor Induk Berusaha from OSS, 13 digits)? "
            "If you don't have one yet, press the button."
        ),
        buttons=[button(ctx.t("Don't have one yet"), FLOW, "nib", "none")],
    )


async def _answer_nib(ctx: Context, event: Event) -> None:
    business = await _business(ctx)
    text = text_of(event)
    if pressed(event) == "none" or (text is not None and is_no_answer(text)):
        business.nib, business.has_nib = None, False
        await advance(ctx)
        return
    if text is None:
        await _not_understood(ctx)
        return
    nib = parse_nib(text)
    if nib is None:
        await _refuse(
            ctx,
            ctx.t(
                "An NIB has exactly 13 digits. Type the 13 digits, or press “Don't have one yet”."
            ),
        )
        return
    business.nib, business.has_nib = nib, True
    await advance(ctx)


async def _prompt_legal(ctx: Context) -> None:
    chosen = list(ctx.data.get("legal") or [])
    ctx.reply(
        ctx.t(
            "Which legal documents does the business have? Tap each one you have, then "
            "“Done”. (PIRT: home-industry food permit; BPOM: food and drug agency; "
            "Halal: BPJPH certificate; SNI: national standard; HKI: registered trademark.)"
        ),
        buttons=legal_buttons(ctx, FLOW, "legal_docs", chosen),
    )


async def _save_legal(ctx: Context, chosen: list[str]) -> None:
    (await _business(ctx)).legal_docs = chosen
    await advance(ctx)


async def _prompt_capacity(ctx: Context) -> None:
    ctx.reply(
        ctx.t(
            "How much can the business produce in a month? "
            "Type a number and a unit, e.g. 500 pcs or 200 kg."
        )
    )


async def _answer_capacity(ctx: Context, event: Event) -> None:
    text = text_of(event)
    if text is None:
        await _not_understood(ctx)
        return
    parsed = parse_quantity(text)
    if parsed is None:
        await _refuse(ctx, ctx.t("Please type a whole number and a unit, for example 500 pcs."))
        return
    amount, unit = parsed
    if unit is None:
        ctx.update_data(capacity_amount=amount)
        ctx.goto(FLOW, "capacity_unit")
        await prompt(ctx)
        return
    await _save_capacity(ctx, amount, unit)


async def _save_capacity(ctx: Context, amount: int, unit: str) -> None:
    business = await _business(ctx)
    business.capacity_amount, business.capacity_unit = amount, unit
    ctx.update_data(capacity_amount=None)
    await advance(ctx)


async def _prompt_capacity_unit(ctx: Context) -> None:
    amount = ctx.data.get("capacity_amount")
    items = [button(u, FLOW, "capacity_unit", u) for u in UNITS]
    ctx.reply(
        ctx.t(
            "{amount} of what? Choose a unit or type it (e.g. bungkus).",
            amount=thousands(amount) if isinstance(amount, int) else amount,
        ),
        buttons=[items[i : i + 4] for i in range(0, len(items), 4)],
    )


async def _answer_capacity_unit(ctx: Context, event: Event) -> None:
    amount = ctx.data.get("capacity_amount")
    if not isinstance(amount, int):
        ctx.goto(FLOW, "capacity")
        await prompt(ctx)
        return
    unit = pressed(event) or text_of(event)
    if unit is None:
        await _not_understood(ctx)
        return
    unit = unit.strip().lower()
    if not unit.isalpha() or len(unit) > 20:
        await _refuse(ctx, ctx.t("Please type the unit as one word, e.g. pcs, kg or bungkus."))
        return
    await _save_capacity(ctx, amount, unit)


async def _prompt_export(ctx: Context) -> None:
    ctx.reply(
        ctx.t(
            "Has the business exported before? If so, type the countries "
            "(e.g. Malaysia, Japan). If not, press the button."
        ),
        buttons=[button(ctx.t("Not yet"), FLOW, "export", "none")],
    )


async def _answer_export(ctx: Context, event: Event) -> None:
    text = text_of(event)
    if pressed(event) == "none" or (text is not None and is_no_answer(text)):
        (await _business(ctx)).export_markets = []
        await advance(ctx)
        return
    if text is None:
        await _not_understood(ctx)
        return
    countries = split_list(text)
    if not countries:
        await _refuse(ctx, ctx.t("Please type the countries, e.g. Malaysia, Japan."))
        return
    if len(countries) > MAX_COUNTRIES or any(len(c) > MAX_COUNTRY for c in countries):
        await _refuse(
            ctx,
            ctx.t(
                "That is too long. List up to {n} countries, separated by commas.",
                n=MAX_COUNTRIES,
            ),
        )
        return
    (await _business(ctx)).export_markets = countries
    await advance(ctx)


# --- summary ----------------------------------------------------------------------------


def profile_text(ctx: Context, business: Business) -> str:
    t = ctx.t
    region = get_region(business.region_code or "")
    nib = t("not yet") if business.has_nib is False else business.nib or "—"
    capacity = (
        f"{thousands(business.capacity_amount)} {business.capacity_unit}"
        if business.capacity_amount is not None
        else "—"
    )
    values = {
        "name": business.name or "—",
        "owner_name": business.owner_name or "—",
        "phone": business.phone or "—",
        "region": region.label if region else "—",
        "sector": t(SECTOR_LABELS[business.sector]) if business.sector else "—",
        "nib": nib,
        "legal_docs": legal_text(ctx, business.legal_docs),
        "capacity": capacity,
        "export": (
            ", ".join(business.export_markets)
            if business.export_markets
            else (t("not yet") if business.export_markets == [] else "—")
        ),
    }
    lines = [f"{t(FIELD_LABELS[f])}: {values[f]}" for f in FIELD_LABELS]
    return "\n".join(lines)


async def _prompt_summary(ctx: Context) -> None:
    t = ctx.t
    business = await _business(ctx)
    registered = business.registered_at is not None
    heading = t("📋 Your business profile") if registered else t("📋 Please check your answers")
    edits = [button("✏️ " + t(FIELD_LABELS[f]), FLOW, "summary", f) for f in FIELD_LABELS]
    rows = [edits[i : i + 2] for i in range(0, len(edits), 2)]
    final = t("✅ Done") if registered else t("💾 Save")
    rows.append([button(final, FLOW, "summary", "save")])
    ctx.reply(
        f"{heading}\n\n{profile_text(ctx, business)}\n\n"
        + t("Tap a field to change it.")
        + ("" if registered else "\n" + t("If everything is right, press Save.")),
        buttons=rows,
    )


async def _answer_summary(ctx: Context, event: Event) -> None:
    choice = pressed(event)
    if choice in FIELD_LABELS:
        ctx.update_data(editing=True)
        ctx.goto(FLOW, choice)
        await prompt(ctx)
        return
    if choice != "save":
        await _refuse(ctx, ctx.t("Please tap a field to change it, or the button at the end."))
        return
    business = await _business(ctx)
    was_registered = business.registered_at is not None
    missing = complete_registration(business, now=ctx.now)
    if missing:
        ctx.goto(FLOW, missing[0])
        ctx.reply(
            ctx.t(
                "A few answers are still missing: {fields}.",
                fields=", ".join(ctx.t(FIELD_LABELS[f]) for f in missing),
            )
        )
        await prompt(ctx)
        return
    ctx.end_flow()
    if was_registered:
        ctx.reply(ctx.t("Your profile is up to date."), buttons=menu_buttons(ctx))
    else:
        ctx.reply(
            ctx.t(
                "🎉 Your business {name} is registered! Curators will see this profile with "
                "every product you submit. Use /profil to see or change it.",
                name=business.name,
            ),
            buttons=menu_buttons(ctx),
        )


STEPS: dict[str, Step] = {
    "language": Step(_prompt_language, _answer_language),
    "privacy": Step(_prompt_privacy, _answer_privacy),
    "name": _text_step("name", N_("What is the name of your business?")),
    "owner_name": _text_step(
        "owner_name", N_("What is the owner's full name?"), offer_own_name=True
    ),
    "phone": Step(_prompt_phone, _answer_phone),
    "region": Step(_prompt_region, _answer_region),
    "sector": Step(_prompt_sector, _answer_sector),
    "nib": Step(_prompt_nib, _answer_nib),
    "legal_docs": Step(_prompt_legal, checklist_answer(FLOW, _save_legal, prompt)),
    "capacity": Step(_prompt_capacity, _answer_capacity),
    "capacity_unit": Step(_prompt_capacity_unit, _answer_capacity_unit),
    "export": Step(_prompt_export, _answer_export),
    "summary": Step(_prompt_summary, _answer_summary),
}


_refuse, _not_understood = answers(prompt)
