"""Review-chat commands (/antrian, /statistik_saya) and the admins' curator commands."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from db.models import Product, Verdict
from db.reviews import add_curator, decisions_since, list_curators, remove_curator, waiting
from db.users import users_by_external_ids
from handlers.features.common import person_argument
from handlers.features.review.access import chat_sectors, display_name, group_t
from handlers.features.review.assist import queue_line, triage_order
from handlers.features.review.card import age
from handlers.kit.context import Context, Translate
from handlers.kit.labels import sector_text

QUEUE_SHOWN = 20  # products listed per sector


def _t(ctx: Context) -> Translate:
    return ctx.t if ctx.incoming.chat_type == "private" else group_t(ctx)


async def queue(ctx: Context) -> None:
    """/antrian: waiting products per sector, oldest first with their age."""
    t = group_t(ctx)
    products = await waiting(ctx.session, sectors=chat_sectors(ctx) or None)
    if not products:
        ctx.reply(t("The queue is empty. 🎉"))
        return
    by_sector: dict[str, list[Product]] = defaultdict(list)
    for product in products:
        by_sector[product.sector or "other"].append(product)
    lines = [t("Waiting for a curator:")]
    for sector, items in by_sector.items():
        lines.append(f"\n{sector_text(t, sector)} ({len(items)})")
        for product in triage_order(items)[:QUEUE_SHOWN]:
            lines.append(
                f"• #{product.id} {product.name} — {age(t, product.submitted_at, ctx.now)}"
                f" · {queue_line(t, product)}"
            )
        if len(items) > QUEUE_SHOWN:
            lines.append(t("… and {n} more", n=len(items) - QUEUE_SHOWN))
    ctx.reply("\n".join(lines))


async def my_stats(ctx: Context) -> None:
    """/statistik_saya: this curator's decisions over the last seven days."""
    t = group_t(ctx)
    counts = await decisions_since(
        ctx.session, curator_user_id=ctx.user.id, since=ctx.now - timedelta(days=7)
    )
    ctx.reply(
        t(
            "{name}, your last 7 days: {approve} approved, {revise} revisions requested, "
            "{reject} rejected.",
            name=display_name(ctx),
            approve=counts[Verdict.approve],
            revise=counts[Verdict.revise],
            reject=counts[Verdict.reject],
        )
    )


async def curator_add(ctx: Context) -> None:
    """/kurator_tambah ID|@username — in a review chat: for that chat; in private: every chat."""
    t = _t(ctx)
    found = await person_argument(
        ctx,
        t(
            "Who? Use /kurator_tambah followed by a Telegram user id, or by @username "
            "if that person has already started the bot."
        ),
        t,
    )
    if found is None:
        return
    target, who = found
    chat_id = ctx.incoming.chat_id if ctx.incoming.chat_type == "group" else None
    added = await add_curator(
        ctx.session,
        external_id=target,
        chat_id=chat_id,
        added_by=ctx.user.external_id,
        now=ctx.now,
        channel=ctx.user.channel,
    )
    where = t("in this chat") if chat_id else t("in every review chat")
    ctx.reply(
        t("{who} is now a curator {where}.", who=who, where=where)
        if added
        else t("{who} is already a curator {where}.", who=who, where=where)
    )


async def curator_remove(ctx: Context) -> None:
    t = _t(ctx)
    found = await person_argument(
        ctx, t("Who? Use /kurator_hapus followed by a Telegram user id or @username."), t
    )
    if found is None:
        return
    target, who = found
    removed = await remove_curator(ctx.session, external_id=target, channel=ctx.user.channel)
    ctx.reply(
        t("{who} is no longer a curator.", who=who)
        if removed
        else t("{who} was not a curator.", who=who)
    )


async def curator_list(ctx: Context) -> None:
    t = _t(ctx)
    curators = await list_curators(ctx.session)
    if not curators:
        ctx.reply(t("No curators yet. Add one with /kurator_tambah."))
        return
    ids = [c.external_id for c in curators]
    names = {u.external_id: u for u in await users_by_external_ids(ctx.session, external_ids=ids)}
    lines = [t("Curators:")]
    for c in curators:
        user = names.get(c.external_id)
        who = (user.display_name if user and user.display_name else "") or c.external_id
        scope = c.chat_id or t("every review chat")
        lines.append(f"• {who} ({c.external_id}) — {scope}")
    ctx.reply("\n".join(lines))
