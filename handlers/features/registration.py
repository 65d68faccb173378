"""Producer onboarding: language, privacy consent, then the business profile, as a form.

Every answer is written to the user or business row at once, so leaving (/batal, a restart,
days of silence) keeps it; the profile counts as registered only after the producer presses
Save. The same form serves /profil: the summary's edit buttons jump to a field and come back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from db.businesses import (
    PROFILE_FIELDS,
    answered,
    complete_registration,
    get_business,
    get_or_create_business,
    missing_fields,
)
from db.models import Business, User
from handlers.features.common import LANGUAGE_NAMES, menu_buttons
from handlers.i18n import N_
from handlers.kit.context import LANGUAGES, Context
from handlers.kit.feature import Feature, Surface
from handlers.kit.forms.engine import Field, Form, Skip, choices
from handlers.kit.forms.inputs import (
    ChoiceInput,
    ContactInput,
    QuantityInput,
    SearchInput,
    TextInput,
)
from handlers.kit.labels import (
    legal_docs_input,
    legal_question,
    legal_text,
    region_label,
    region_option,
    region_options,
    sector_input,
    sector_text,
    thousands,
)
from handlers.kit.parsing import parse_nib, parse_phone, split_list
from handlers.kit.render import Option

FLOW = "reg"
MAX_NAME = 100
MAX_COUNTRY = 60
MAX_COUNTRIES = 20
UNITS = ("pcs", "pack", "kg", "liter", "set", "lusin", "box", "meter")
YES_WORDS = ("ya", "iya", "setuju", "saya setuju", "ok", "oke", "yes", "agree", "i agree", "y")
NO_WORDS = ("tidak", "tdk", "no", "nggak", "gak", "tidak setuju", "n")


@dataclass
class Profile:
    """The form's record: the person (language, consent) and, once they consented, the
    business row their answers fill."""

    user: User
    business: Business | None


def _export_markets(text: str) -> list[str] | None:
    countries = split_list(text)
    if not countries or len(countries) > MAX_COUNTRIES:
        return None
    return None if any(len(c) > MAX_COUNTRY for c in countries) else countries


def _own_name(ctx: Context) -> list[str]:
    own = ctx.incoming.sender.display_name or ctx.user.display_name
    return [own] if own and len(own) <= MAX_NAME else []


def _b(record: Profile) -> Business:
    assert record.business is not None
    return record.business


FIELDS: tuple[Field[Profile], ...] = (
    Field(
        "language",
        N_("Language"),
        lambda ctx, p: "Selamat datang di Kurasi! 👋\nPilih bahasa / Choose your language:",
        ChoiceInput(
            choices=lambda ctx, p: [
                Option("id", LANGUAGE_NAMES["id"], ("id", "indonesia", "bahasa", "indonesian")),
                Option("en", LANGUAGE_NAMES["en"], ("en", "english", "inggris", "bahasa inggris")),
            ],
            refusal="Tekan salah satu tombol / Press one of the buttons.",
        ),
        editable=False,
    ),
    Field(
        "privacy",
        N_("Privacy"),
        N_(
            "Before we start, about your data 🔒\n\n"
            "Kurasi stores what you tell it about your business and products (names, phone "
            "number, regency, legal documents, photos) so that certified curators can assess "
            "your products and the Kadin Jatim export platform can promote them. We use it "
            "only for curation, export promotion and fair announcements, and never sell it.\n\n"
            "Under Indonesia's Personal Data Protection Law (UU 27/2022) you may see, correct "
            "or delete your data at any time.\n\nDo you agree?"
        ),
        ChoiceInput(
            choices=choices(("yes", N_("✅ I agree"), YES_WORDS), ("no", N_("❌ No"), NO_WORDS)),
            refusal=N_("Please press “I agree” or “No”."),
        ),
        editable=False,
    ),
    Field(
        "name",
        N_("Business name"),
        N_("What is the name of your business?"),
        TextInput(max_len=MAX_NAME, letters=True),
    ),
    Field(
        "owner_name",
        N_("Owner"),
        N_("What is the owner's full name?"),
        TextInput(max_len=MAX_NAME, suggest=_own_name),
    ),
    Field(
        "phone",
        N_("Phone"),
        N_(
            "What phone number can buyers and curators reach the business on? "
            "Press the button to share this phone's number, or type it (e.g. 0812 3456 7890)."
        ),
        ContactInput(
            parse=parse_phone,
            refusal=N_(
                "That doesn't look like an Indonesian phone number. "
                "Type it like 0812 3456 7890 or +62 812 3456 7890."
            ),
            typed_ask=N_(
                "What phone number can buyers and curators reach the business on? "
                "Type it, e.g. 0812 3456 7890."
            ),
            known_ask=N_(
                "What phone number can buyers and curators reach the business on?\n\n"
                "Use this number: {phone}?"
            ),
            confirm=N_("Phone: {phone} ✓"),
        ),
    ),
    Field(
        "region",
        N_("Regency/city"),
        N_(
            "In which regency or city of East Java is the business? "
            "Type its name, e.g. Sidoarjo, Banyuwangi or Kota Malang."
        ),
        SearchInput(
            search=region_options,
            get=region_option,
            not_found=N_(
                "I couldn't find “{query}” among East Java's regencies and cities. "
                "Check the spelling, e.g. Banyuwangi or Kota Surabaya."
            ),
            confirm=N_("Regency/city: {value} ✓"),
        ),
    ),
    Field(
        "sector",
        N_("Sector"),
        N_("Which sector is the business in?"),
        sector_input(),
    ),
    Field(
        "nib",
        N_("NIB"),
        N_(
            "What is the business's NIB (Nomor Induk Berusaha from OSS, 13 digits)? "
            "If you don't have one yet, press the button."
        ),
        TextInput(
            parse=parse_nib,
            refusal=N_(
                "An NIB has exactly 13 digits. Type the 13 digits, or press “Don't have one yet”."
            ),
        ),
        skip=Skip(N_("Don't have one yet")),
    ),
    Field(
        "legal_docs",
        N_("Legal documents"),
        lambda ctx, p: legal_question(ctx, _b(p).sector),  # only what the sector can hold
        legal_docs_input(
            lambda ctx, p: list(_b(p).legal_docs or []), sector=lambda p: _b(p).sector
        ),
    ),
    Field(
        "capacity",
        N_("Monthly capacity"),
        N_(
            "How much can the business produce in a month? "
            "Type a number and a unit, e.g. 500 pcs or 200 kg."
        ),
        QuantityInput(units=UNITS),
    ),
    Field(
        "export",
        N_("Export experience"),
        N_(
            "Has the business exported before? If so, type the countries "
            "(e.g. Malaysia, Japan). If not, press the button."
        ),
        TextInput(
            parse=_export_markets,
            refusal=N_(
                "Please type the countries, separated by commas (at most 20), e.g. Malaysia, Japan."
            ),
        ),
        skip=Skip(N_("Not yet"), []),
    ),
)


class Registration(Form[Profile]):
    flow: ClassVar[str] = FLOW
    fields = FIELDS

    async def record(self, ctx: Context) -> Profile:
        if ctx.user.language is None or ctx.user.consented_at is None:
            return Profile(ctx.user, None)
        business = await get_or_create_business(ctx.session, owner_id=ctx.user.id, now=ctx.now)
        return Profile(ctx.user, business)

    def answered(self, record: Profile, field: Field[Profile]) -> bool:
        if field.name == "language":
            return record.user.language in LANGUAGES
        if field.name == "privacy":
            return record.user.consented_at is not None
        return record.business is not None and answered(record.business, field.name)

    async def save(self, ctx: Context, record: Profile, field: Field[Profile], value: Any) -> bool:
        match field.name:
            case "language":
                ctx.user.language = value
            case "privacy" if value == "yes":
                ctx.user.consented_at = ctx.now
                ctx.reply(
                    ctx.t(
                        "Thank you! Let's register your business — about nine short questions. "
                        "You can stop any time with /batal; your answers are kept."
                    )
                )
            case "privacy":
                ctx.end_flow()
                ctx.reply(
                    ctx.t(
                        "Understood. I won't ask about your business. "
                        "Send /start whenever you are ready."
                    )
                )
                return False
            case "phone":
                phone, own = value
                _b(record).phone = phone
                ctx.user.phone = phone if own else ctx.user.phone
            case "region":
                _b(record).region_code = value
            case "nib":
                _b(record).nib, _b(record).has_nib = value, value is not None
            case "capacity":
                _b(record).capacity_amount, _b(record).capacity_unit = value
            case "export":
                _b(record).export_markets = value
            case _:
                setattr(_b(record), field.name, value)
        return True

    def values(self, ctx: Context, record: Profile) -> dict[str, str | None]:
        b, t = _b(record), ctx.t
        capacity = b.capacity_amount
        return {
            "name": b.name,
            "owner_name": b.owner_name,
            "phone": b.phone,
            "region": region_label(b.region_code),
            "sector": sector_text(t, b.sector) if b.sector else None,
            "nib": t("not yet") if b.has_nib is False else b.nib,
            "legal_docs": legal_text(t, b.legal_docs),
            "capacity": f"{thousands(capacity)} {b.capacity_unit}"
            if capacity is not None
            else None,
            "export": ", ".join(b.export_markets or [])
            or (t("not yet") if b.export_markets == [] else None),
        }

    def summary_heading(self, ctx: Context, record: Profile) -> str:
        if _b(record).registered_at is not None:
            return ctx.t("📋 Your business profile")
        return ctx.t("📋 Please check your answers")

    def summary_text(self, ctx: Context, record: Profile) -> str:
        registered = _b(record).registered_at is not None
        return (
            super().summary_text(ctx, record)
            + "\n\n"
            + ctx.t("Tap a field to change it.")
            + ("" if registered else "\n" + ctx.t("If everything is right, press Save."))
        )

    def summary_actions(self, ctx: Context, record: Profile) -> list[Option]:
        registered = _b(record).registered_at is not None
        return [
            Option("save", ctx.t("✅ Done") if registered else ctx.t("💾 Save"), ("simpan", "save"))
        ]

    async def on_action(self, ctx: Context, record: Profile, action: str) -> None:
        business = _b(record)
        was_registered = business.registered_at is not None
        missing = complete_registration(business, now=ctx.now)
        if missing:
            labels = ", ".join(ctx.t(self.by_name[f].label) for f in missing)
            ctx.reply(ctx.t("A few answers are still missing: {fields}.", fields=labels))
            await self.go(ctx, missing[0])
            return
        ctx.end_flow()
        if was_registered:
            ctx.reply(ctx.t("Your profile is up to date."), buttons=menu_buttons(ctx))
            return
        ctx.reply(
            ctx.t(
                "🎉 Your business {name} is registered! Curators will see this profile with "
                "every product you submit. Use /profil to see or change it.",
                name=business.name,
            ),
            buttons=menu_buttons(ctx),
        )


FORM = Registration()


async def start(ctx: Context) -> None:
    """/start: the next thing this person has not done yet."""
    if ctx.flow == FLOW:
        await FORM.prompt(ctx)
        return
    if ctx.user.language is not None and ctx.user.consented_at is not None:
        business = await get_business(ctx.session, owner_id=ctx.user.id)
        if business is not None and business.registered_at is not None:
            ctx.reply(
                ctx.t("Welcome back, {name}! What would you like to do?", name=business.name),
                buttons=menu_buttons(ctx),
            )
            return
        if business is not None and len(missing_fields(business)) < len(PROFILE_FIELDS):
            ctx.reply(ctx.t("Welcome back! Let's continue your registration where you left off."))
    await FORM.start(ctx)


async def show_profile(ctx: Context) -> None:
    """/profil: the profile with edit buttons, or the unfinished registration."""
    business = await get_business(ctx.session, owner_id=ctx.user.id)
    if business is None or business.registered_at is None or ctx.user.consented_at is None:
        ctx.reply(ctx.t("You have not finished registering your business yet."))
        await start(ctx)
        return
    await FORM.open(ctx, FORM.summary_step)


async def resume_hint(ctx: Context) -> str:
    """/batal's hint: a registered producer was changing the profile (/profil resumes it);
    anyone else was registering (/start resumes it)."""
    business = await get_business(ctx.session, owner_id=ctx.user.id)
    if business is not None and business.registered_at is not None:
        return ctx.t("send /profil to carry on with your profile")
    return ctx.t("send /start to carry on where you left off")


FEATURE = Feature(
    commands={"start": start, "profil": show_profile, "profile": show_profile},
    entries={"start": start, "profile": show_profile},
    forms=(FORM,),
    hints={FLOW: resume_hint},
    surface=(
        Surface(
            "start",
            help={"producer": N_("register your business or return to the menu")},
            words=("daftar", "register", "start", "mulai"),
            word=N_("register"),
            menu=N_("Start or return to the menu"),
            rank=10,
        ),
        Surface(
            "profil",
            help={"producer": N_("see and edit your business profile")},
            aliases=("profile",),
            words=("profil", "profile"),
            word=N_("profile"),
            menu=N_("Your business profile"),
            rank=40,
        ),
    ),
)
