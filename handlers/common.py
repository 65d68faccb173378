"""Commands that work anywhere: help, cancel, language, the main menu, and the nudge."""

from __future__ import annotations

from db.businesses import get_business
from handlers.context import LANGUAGES, Context, button
from handlers.events import Button
from handlers.payload import Payload

LANGUAGE_NAMES = {"id": "Bahasa Indonesia", "en": "English"}


def menu_buttons(ctx: Context) -> list[list[Button]]:
    t = ctx.t
    return [
        [
            button(t("➕ New product"), "menu", "main", "new_product"),
            button(t("📦 My products"), "menu", "main", "products"),
        ],
        [
            button(t("👤 Business profile"), "menu", "main", "profile"),
            button(t("❓ Help"), "menu", "main", "help"),
        ],
    ]


def help_text(ctx: Context) -> str:
    return ctx.t(
        "Kurasi helps East Java producers get their products curated for export markets "
        "and hear about export fairs.\n\n"
        "Commands:\n"
        "/start – register your business or return to the menu\n"
        "/produk_baru – add a product for curation\n"
        "/produk – your products and their curation status\n"
        "/profil – see and edit your business profile\n"
        "/pameran – upcoming export fairs for your sector\n"
        "/pengingat – choose which reminders you get\n"
        "/datasaya – download the data Kurasi holds about you\n"
        "/hapusdata – delete your data\n"
        "/bahasa – choose Bahasa Indonesia or English\n"
        "/batal – stop what you are doing (your answers are kept)\n"
        "/bantuan – this help"
    )


async def show_help(ctx: Context) -> None:
    ctx.reply(help_text(ctx), buttons=menu_buttons(ctx))
    if ctx.flow is not None:
        from handlers import reprompt  # the flow table lives in handlers/__init__

        ctx.reply(ctx.t("We were in the middle of something — answer below, or /batal to stop."))
        await reprompt(ctx)


async def cancel(ctx: Context) -> None:
    if ctx.flow is None:
        ctx.reply(ctx.t("There is nothing to stop right now."), buttons=menu_buttons(ctx))
        return
    ctx.end_flow()
    ctx.reply(
        ctx.t(
            "Stopped. Everything you answered so far is kept — send /start to carry on "
            "where you left off."
        ),
        remove_keyboard=True,
    )


def language_buttons(flow: str = "lang", step: str = "pick") -> list[list[Button]]:
    return [[button(LANGUAGE_NAMES[code], flow, step, code) for code in LANGUAGES]]


async def choose_language(ctx: Context) -> None:
    ctx.reply("Pilih bahasa / Choose your language:", buttons=language_buttons())


async def on_language_button(ctx: Context, payload: Payload) -> None:
    if payload.value not in LANGUAGES:
        ctx.reply(ctx.t("That button is no longer valid."))
        return
    ctx.user.language = payload.value
    ctx.reply(ctx.t("Language set to English."), edit=True)
    if ctx.flow is not None:
        from handlers import reprompt

        await reprompt(ctx)
    else:
        ctx.reply(ctx.t("What would you like to do?"), buttons=menu_buttons(ctx))


async def on_menu_button(ctx: Context, payload: Payload) -> None:
    if payload.value == "help":
        await show_help(ctx)
    elif payload.value == "profile":
        from handlers.registration import show_profile

        await show_profile(ctx)
    elif payload.value == "new_product":
        from handlers.product import new_product

        await new_product(ctx)
    elif payload.value == "products":
        from handlers.product import list_my_products

        await list_my_products(ctx)
    else:
        ctx.reply(ctx.t("That button is no longer valid."), buttons=menu_buttons(ctx))


async def nudge(ctx: Context) -> None:
    """Input outside any conversation: never silence, always a way forward."""
    business = await get_business(ctx.session, owner_id=ctx.user.id)
    if business is None or business.registered_at is None:
        ctx.reply(
            ctx.t(
                "Hello! I am Kurasi, the curation assistant for East Java producers. "
                "Send /start to register your business."
            )
        )
        return
    ctx.reply(ctx.t("I didn't understand that. Here is what I can do:"), buttons=menu_buttons(ctx))
