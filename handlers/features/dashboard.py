"""/dasbor: an admin asks for the web dashboard and gets a one-time login link (private
chat only: the link is the key, so it never goes into a group)."""

from __future__ import annotations

from datetime import timedelta

from db.dashboard import issue_link
from handlers.i18n import N_
from handlers.kit.context import Context
from handlers.kit.feature import Feature, Surface

LOGIN_PATH = "/dasbor/masuk"


async def start(ctx: Context) -> None:
    t = ctx.t
    base = ctx.settings.dashboard_url
    if base is None:
        ctx.reply(t("The web dashboard is not switched on (dashboard.enabled in the config)."))
        return
    minutes = ctx.settings.dashboard_link_minutes
    secret = await issue_link(
        ctx.session, user_id=ctx.user.id, now=ctx.now, ttl=timedelta(minutes=minutes)
    )
    link = f"{base}{LOGIN_PATH}?t={secret}"
    ctx.reply(
        t(
            "Your dashboard link, for you only: it opens once and is valid for {n} minutes.\n"
            "{link}",
            n=minutes,
            link=link,
        )
    )


FEATURE = Feature(
    commands={"dasbor": start, "dashboard": start},
    admin_only=frozenset({"dasbor", "dashboard"}),
    surface=(
        Surface(
            "dasbor",
            help={"admin": N_("the web dashboard (a one-time login link)")},
            aliases=("dashboard",),
            shown=lambda settings: settings.dashboard_url is not None,
            rank=68,
        ),
    ),
)
