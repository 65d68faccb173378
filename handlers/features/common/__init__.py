"""Commands that work anywhere: help, language, the main menu, and the nudge."""

from __future__ import annotations

from collections.abc import Mapping

from db.businesses import get_business
from db.users import person_form, resolve_person
from handlers.kit.context import LANGUAGES, Context, Translate, button
from handlers.kit.events import Button, Command, Text
from handlers.kit.payload import Payload
from handlers.kit.render import normalize

LANGUAGE_NAMES = {"id": "Bahasa Indonesia", "en": "English"}
MENU = "menu"
MENU_ENTRIES = ("new_product", "products", "profile", "fairs", "reminders", "language", "help")

# What people open a chat with: a registered producer is greeted and shown the menu.
GREETINGS = frozenset(
    {
        "halo", "hallo", "helo", "hai", "hay", "hi", "hello", "hey", "pagi", "siang", "sore",
        "malam", "selamat pagi", "selamat siang", "selamat sore", "selamat malam", "permisi",
        "assalamualaikum", "assalamu alaikum", "salam", "good morning", "good afternoon",
        "good evening", "halo kak", "hai kak", "halo min", "hi there",
    }
)  # fmt: skip
# Inside a flow a typed answer belongs to the flow (a product may be called "Profil"): only
# these words stop it.
INTERRUPTS = frozenset({"batal", "cancel", "menu"})


def word_command(text: Text, *, in_flow: bool, words: Mapping[str, str]) -> Command | None:
    """The command a plain word stands for ("Produk Baru" -> /produk_baru), if any: `words`
    maps each plain word (both languages) to its command, as the features declare them."""
    said = normalize(text.text)
    if in_flow and said not in INTERRUPTS:
        return None
    name = words.get(said)
    return Command(name=name) if name else None


def menu_buttons(ctx: Context) -> list[list[Button]]:
    """The main menu; where the app has no command menu (WhatsApp), everything is in it."""
    t = ctx.t
    rows = [
        [
            button(t("➕ New product"), MENU, "main", "new_product"),
            button(t("📦 My products"), MENU, "main", "products"),
        ],
        [
            button(t("👤 Business profile"), MENU, "main", "profile"),
            button(t("❓ Help"), MENU, "main", "help"),
        ],
    ]
    if not ctx.capabilities.command_menu:
        rows.insert(
            -1,
            [
                button(t("🗓 Export fairs"), MENU, "main", "fairs"),
                button(t("🔔 Reminders"), MENU, "main", "reminders"),
                button(t("🌐 Language"), MENU, "main", "language"),
            ],
        )
    return rows


async def show_menu(ctx: Context) -> None:
    """The word "menu": stop what is open (answers are kept) and show what can be done."""
    ctx.end_flow()
    ctx.redirect("start")


def language_buttons() -> list[list[Button]]:
    return [[button(LANGUAGE_NAMES[code], "lang", "pick", code) for code in LANGUAGES]]


async def choose_language(ctx: Context) -> None:
    ctx.reply("Pilih bahasa / Choose your language:", buttons=language_buttons())


async def on_language_button(ctx: Context, payload: Payload) -> None:
    if payload.value not in LANGUAGES:
        ctx.reply(ctx.t("That button is no longer valid."))
        return
    ctx.user.language = payload.value
    ctx.reply(ctx.t("Language set to English."), edit=True)
    if ctx.flow is not None:
        ctx.reprompt()
    else:
        ctx.reply(ctx.t("What would you like to do?"), buttons=menu_buttons(ctx))


async def on_menu_button(ctx: Context, payload: Payload) -> None:
    if payload.value in (*MENU_ENTRIES, "start"):
        ctx.redirect(payload.value)
    else:
        ctx.reply(ctx.t("That button is no longer valid."), buttons=menu_buttons(ctx))


async def nudge(ctx: Context) -> None:
    """Input outside any conversation: never silence, always a way forward (unless it
    answered a template: the messages it released, just sent, are the answer)."""
    if ctx.incoming.released:
        return
    business = await get_business(ctx.session, owner_id=ctx.user.id)
    if business is None or business.registered_at is None:
        t = ctx.t
        ctx.reply(
            t(
                "Hello! I am Kurasi, the curation assistant for East Java producers. "
                "Send /start (or type daftar) to register your business."
            ),
            buttons=[
                [button(t("📝 Register"), MENU, "main", "start")],
                [button(t("❓ Help"), MENU, "main", "help")],
            ],
        )
        return
    event = ctx.incoming.event
    if isinstance(event, Text) and normalize(event.text) in GREETINGS:
        ctx.reply(
            ctx.t("Hello, {name}! What would you like to do?", name=business.name),
            buttons=menu_buttons(ctx),
        )
        return
    ctx.reply(ctx.t("I didn't understand that. Here is what I can do:"), buttons=menu_buttons(ctx))


async def person_argument(
    ctx: Context, usage: str, t: Translate | None = None
) -> tuple[str, str] | None:
    """Whom a command's argument names ("ID" or "@username", read by db.users'
    resolve_person, as the CLI reads it): (their external id, the argument as typed). None
    once the usage, or "I don't know them yet", has been replied."""
    t = t or ctx.t
    event = ctx.incoming.event
    arg = (event.args if isinstance(event, Command) else "").strip()
    if person_form(arg) is None:
        ctx.reply(usage)
        return None
    found = await resolve_person(ctx.session, channel=ctx.user.channel, who=arg)
    if found is None:
        ctx.reply(t("I don't know {who} yet: they must start the bot first.", who=arg))
        return None
    return found[0], arg
