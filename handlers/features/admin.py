"""Admin roles: /admin_tambah ID|@username, /admin_hapus ID|@username, /admin (list).

Admins named in the config (telegram.admin_ids) are permanent; the ones added here are
stored on their user row. Every change is in the audit trail.
"""

from __future__ import annotations

from db import admins
from db.audit import audit
from handlers.features.common import person_argument
from handlers.i18n import N_
from handlers.kit.context import Context
from handlers.kit.feature import Feature, Surface


async def admin_add(ctx: Context) -> None:
    found = await person_argument(
        ctx, ctx.t("Who? Use /admin_tambah followed by a Telegram user id or @username.")
    )
    if found is not None and await _change(ctx, found[0], admin=True):
        ctx.reply(ctx.t("{who} is now an admin.", who=found[1]))
    elif found is not None:
        ctx.reply(ctx.t("{who} is already an admin.", who=found[1]))


async def admin_remove(ctx: Context) -> None:
    found = await person_argument(
        ctx, ctx.t("Who? Use /admin_hapus followed by a Telegram user id or @username.")
    )
    if found is None:
        return
    external_id, who = found
    settings = ctx.settings
    if ctx.user.channel == settings.review_channel and external_id in settings.admin_ids:
        ctx.reply(ctx.t("{who} is an admin in the configuration; remove them there.", who=who))
    elif await _change(ctx, external_id, admin=False):
        ctx.reply(ctx.t("{who} is no longer an admin.", who=who))
    else:
        ctx.reply(ctx.t("{who} was not an admin.", who=who))


async def _change(ctx: Context, external_id: str, *, admin: bool) -> bool:
    """Store the role; an actual change goes into the audit trail."""
    changed = await admins.set_admin(
        ctx.session, channel=ctx.user.channel, external_id=external_id, admin=admin, now=ctx.now
    )
    if changed:
        await audit(
            ctx.session,
            action="admin_added" if admin else "admin_removed",
            actor_user_id=ctx.user.id,
            detail=f"{ctx.user.channel}:{external_id}",
            now=ctx.now,
        )
    return changed


async def admin_list(ctx: Context) -> None:
    lines = [ctx.t("Admins:")]
    for external_id in sorted(ctx.settings.admin_ids):
        lines.append(f"• {external_id} — " + ctx.t("permanent (configuration)"))
    for user in await admins.stored_admins(ctx.session):
        if (
            user.channel == ctx.settings.review_channel
            and user.external_id in ctx.settings.admin_ids
        ):
            continue
        name = user.display_name or ""
        handle = f" @{user.username}" if user.username else ""
        lines.append(f"• {user.external_id} {name}{handle}".rstrip() + " — " + ctx.t("added"))
    ctx.reply("\n".join(lines))


FEATURE = Feature(
    commands={"admin_tambah": admin_add, "admin_hapus": admin_remove, "admin": admin_list},
    admin_only=frozenset({"admin_tambah", "admin_hapus", "admin"}),
    surface=(
        Surface(
            "admin_tambah", help={"admin": N_("make someone an admin (ID or @username)")}, rank=90
        ),
        Surface("admin_hapus", help={"admin": N_("take someone's admin role away")}, rank=91),
        Surface("admin", help={"admin": N_("the admins")}, rank=92),
    ),
)
