"""The route table: commands, button payloads and open flows, each to the handler that owns it.

Every channel calls `dispatch` with a filled-in `Context`; nothing here knows which channel.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from handlers import (
    admin,
    broadcast,
    common,
    fairs,
    mydata,
    product,
    registration,
    reminders,
    review,
)
from handlers.context import Context
from handlers.events import ButtonPress, Command
from handlers.i18n import N_
from handlers.payload import Payload

Handler = Callable[[Context], Awaitable[None]]
ButtonHandler = Callable[[Context, Payload], Awaitable[None]]

# Indonesian names first; English aliases so an English speaker's guess works too.
COMMANDS: dict[str, Handler] = {
    "start": registration.start,
    "profil": registration.show_profile,
    "profile": registration.show_profile,
    "produk_baru": product.new_product,
    "new_product": product.new_product,
    "produk": product.list_my_products,
    "products": product.list_my_products,
    "datasaya": mydata.export_my_data,
    "mydata": mydata.export_my_data,
    "hapusdata": mydata.ask_erase,
    "deletedata": mydata.ask_erase,
    "kurator_tambah": review.curator_add,
    "kurator_hapus": review.curator_remove,
    "kurator": review.curator_list,
    "pameran": fairs.show_fairs,
    "fairs": fairs.show_fairs,
    "pameran_baru": fairs.new_fair,
    "newfair": fairs.new_fair,
    "pameran_peminat": fairs.show_interested,
    "fairinterest": fairs.show_interested,
    "pengingat": reminders.show,
    "reminders": reminders.show,
    "bahasa": common.choose_language,
    "language": common.choose_language,
    "batal": common.cancel,
    "cancel": common.cancel,
    "bantuan": common.show_help,
    "help": common.show_help,
    "siaran": broadcast.start,
    "broadcast": broadcast.start,
    "siaran_daftar": broadcast.list_recent,
    "broadcasts": broadcast.list_recent,
    "admin_tambah": admin.admin_add,
    "admin_hapus": admin.admin_remove,
    "admin": admin.admin_list,
}

# Shown in the client's command menu (setMyCommands), in this order.
MENU_COMMANDS: tuple[tuple[str, str], ...] = (
    ("start", N_("Start or return to the menu")),
    ("produk_baru", N_("Add a product")),
    ("produk", N_("My products and their curation status")),
    ("profil", N_("Your business profile")),
    ("pameran", N_("Upcoming export fairs")),
    ("pengingat", N_("Choose which reminders you get")),
    ("bahasa", N_("Language: Bahasa Indonesia / English")),
    ("batal", N_("Stop the current step (answers are kept)")),
    ("datasaya", N_("Download the data Kurasi holds about you")),
    ("hapusdata", N_("Delete your data")),
    ("bantuan", N_("Help")),
)

BUTTONS: dict[str, ButtonHandler] = {
    "menu": common.on_menu_button,
    "lang": common.on_language_button,
    registration.FLOW: registration.on_button,
    product.FLOW: product.on_button,
    product.LIST: product.on_list_button,
    mydata.FLOW: mydata.on_button,
    fairs.FLOW: fairs.on_button,
    reminders.FLOW: reminders.on_button,
    broadcast.FLOW: broadcast.on_button,
    broadcast.CONTROL: broadcast.on_control,
}

FLOWS: dict[str, Handler] = {
    registration.FLOW: registration.on_event,
    product.FLOW: product.on_event,
    mydata.FLOW: mydata.on_event,
    fairs.FLOW: fairs.on_event,
    broadcast.FLOW: broadcast.on_event,
}

# Review chats (Telegram groups): curators' commands.
GROUP_COMMANDS: dict[str, Handler] = {
    "antrian": review.queue,
    "queue": review.queue,
    "statistik_saya": review.my_stats,
    "mystats": review.my_stats,
    "kurator_tambah": review.curator_add,
    "kurator_hapus": review.curator_remove,
    "kurator": review.curator_list,
}

# The access rule, once: these commands answer admins only, in any chat.
ADMIN_ONLY = frozenset(
    {
        "kurator_tambah",
        "kurator_hapus",
        "kurator",
        "pameran_baru",
        "newfair",
        "pameran_peminat",
        "fairinterest",
        *("siaran", "broadcast", "siaran_daftar", "broadcasts"),
        *("admin_tambah", "admin_hapus", "admin"),
    }
)

PROMPTS: dict[str, Handler] = {
    registration.FLOW: registration.prompt,
    product.FLOW: product.prompt,
    mydata.FLOW: mydata.prompt,
    fairs.FLOW: fairs.prompt,
    broadcast.FLOW: broadcast.prompt,
}


async def reprompt(ctx: Context) -> None:
    """Ask the open flow's current question again."""
    if ctx.flow in PROMPTS:
        await PROMPTS[ctx.flow](ctx)


async def dispatch(ctx: Context) -> None:
    event = ctx.incoming.event
    if ctx.incoming.chat_type != "private":
        await _dispatch_group(ctx)
        return
    if isinstance(event, Command):
        handler = COMMANDS.get(event.name)
        if handler is None:
            ctx.reply(ctx.t("I don't know that command."))
            await common.show_help(ctx)
            return
        if _refused(ctx, event):
            return
        await handler(ctx)
        return
    if isinstance(event, ButtonPress):
        payload = Payload.unpack(event.payload)
        button_handler = BUTTONS.get(payload.flow) if payload else None
        if payload is None or button_handler is None:
            ctx.reply(ctx.t("That button is no longer valid."))
            await (reprompt(ctx) if ctx.flow else common.nudge(ctx))
            return
        await button_handler(ctx, payload)
        return
    flow = FLOWS.get(ctx.flow or "")
    if flow is None:
        if ctx.flow is not None:
            ctx.end_flow()  # a flow that no longer exists (after an upgrade)
        await common.nudge(ctx)
        return
    await flow(ctx)


async def _dispatch_group(ctx: Context) -> None:
    """Groups are review chats; in any other group the bot stays silent."""
    if not review.is_review_chat(ctx):
        return
    event = ctx.incoming.event
    if isinstance(event, Command):
        handler = GROUP_COMMANDS.get(event.name)
        if handler is not None and not _refused(ctx, event):
            await handler(ctx)
    elif isinstance(event, ButtonPress):
        await review.on_group_button(ctx, event)
    else:
        await review.on_group_message(ctx)


def _refused(ctx: Context, command: Command) -> bool:
    if command.name in ADMIN_ONLY and not ctx.is_admin:
        t = ctx.t if ctx.incoming.chat_type == "private" else review.group_t(ctx)
        ctx.reply(t("Sorry, /{command} is for admins only.", command=command.name))
        return True
    return False
