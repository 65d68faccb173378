"""/datasaya and /hapusdata: a producer's rights over their data (UU 27/2022)."""

from __future__ import annotations

import asyncio
import json

from db.privacy import erase_user, export_user_data
from handlers.features.common import menu_buttons
from handlers.i18n import N_
from handlers.kit.context import Context, button
from handlers.kit.events import Attachment
from handlers.kit.feature import Feature, SimpleFlow, Surface
from handlers.kit.payload import Payload

FLOW = "mydata"


async def export_my_data(ctx: Context) -> None:
    data = await export_user_data(ctx.session, user=ctx.user)
    data["exported_at"] = ctx.now.isoformat()
    body = json.dumps(data, ensure_ascii=False, indent=2).encode()
    ctx.reply(
        ctx.t(
            "Here is everything Kurasi stores about you and your business, as a JSON file. "
            "To correct something, use /profil or /produk; to delete it all, /hapusdata."
        ),
        attachment=Attachment(
            filename=f"kurasi-data-{ctx.now:%Y%m%d}.json", data=body, mime="application/json"
        ),
    )


async def ask_erase(ctx: Context) -> None:
    ctx.goto(FLOW, "confirm")
    await prompt(ctx)


async def prompt(ctx: Context) -> None:
    t = ctx.t
    ctx.reply(
        t(
            "This deletes your business profile, all your products and their photos, and "
            "your personal details from Kurasi. Products being curated are withdrawn. It "
            "cannot be undone. Delete everything?"
        ),
        buttons=[
            [
                button(t("🗑 Yes, delete everything"), FLOW, "confirm", "yes"),
                button(t("Cancel"), FLOW, "confirm", "no"),
            ]
        ],
    )


async def on_button(ctx: Context, payload: Payload) -> None:
    if ctx.flow != FLOW:
        ctx.reply(ctx.t("That button is from an earlier step."))
        return
    await _answer(ctx, payload.value)


async def on_event(ctx: Context) -> None:
    await _answer(ctx, None)


async def _answer(ctx: Context, choice: str | None) -> None:
    if choice == "yes":
        t = ctx.translator(ctx.language)  # the user row is about to go
        keys = await erase_user(ctx.session, user_id=ctx.user.id, now=ctx.now)
        ctx.signals.add("outbox")  # their cards leave the review chats
        store = ctx.media_store
        if store is not None and keys:

            async def delete_files() -> None:
                for key in keys:
                    await asyncio.to_thread(store.delete, key)

            ctx.after_commit.append(delete_files)
        ctx.reply(
            t(
                "Done: your data has been deleted. Thank you for using Kurasi. "
                "If you send /start again, you begin afresh."
            ),
            remove_keyboard=True,
        )
    elif choice == "no":
        ctx.end_flow()
        ctx.reply(ctx.t("Nothing was deleted."), buttons=menu_buttons(ctx))
    else:
        await prompt(ctx)


FEATURE = Feature(
    commands={
        "datasaya": export_my_data,
        "mydata": export_my_data,
        "hapusdata": ask_erase,
        "deletedata": ask_erase,
    },
    forms=(SimpleFlow(FLOW, on_event, on_button, prompt),),
    hints={FLOW: N_("nothing was deleted; send /hapusdata to ask again")},
    surface=(
        Surface(
            "datasaya",
            help={"producer": N_("download the data Kurasi holds about you")},
            aliases=("mydata",),
            words=("data saya", "my data"),
            word=N_("my data"),
            menu=N_("Download the data Kurasi holds about you"),
            rank=70,
        ),
        Surface(
            "hapusdata",
            help={"producer": N_("delete your data")},
            aliases=("deletedata",),
            words=("hapus data", "delete data"),
            word=N_("delete data"),
            menu=N_("Delete your data"),
            rank=75,
        ),
    ),
)
