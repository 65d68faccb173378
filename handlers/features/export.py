"""/ekspor: admins download the database as CSV and XLSX files (phone numbers on request)."""

from __future__ import annotations

import io

from db.exports import FORMATS, MIME, What, audit_phone_export, filename, write_export
from handlers.i18n import N_
from handlers.kit.context import Context, button
from handlers.kit.events import Attachment, Command
from handlers.kit.feature import Feature, Surface
from handlers.kit.payload import Payload

FLOW = "export"
CHOICES: dict[str, tuple[What, bool, str]] = {
    "businesses": ("businesses", False, N_("🏭 Businesses")),
    "phones": ("businesses", True, N_("📞 Businesses with phone numbers (logged)")),
    "products": ("products", False, N_("📦 Products with status, grade and scores")),
    "reviews": ("reviews", False, N_("🧾 Review history")),
}


async def start(ctx: Context) -> None:
    """/ekspor [what]: offer the exports, or send one named in the command."""
    t = ctx.t
    arg = ""
    if isinstance(ctx.incoming.event, Command):
        arg = ctx.incoming.event.args.strip().lower()
    aliases = {
        "bisnis": "businesses",
        "usaha": "businesses",
        "produk": "products",
        "kurasi": "reviews",
        "review": "reviews",
        "telepon": "phones",
    }
    choice = aliases.get(arg, arg)
    if choice in CHOICES:
        await _send(ctx, choice)
        return
    ctx.reply(
        t("Which export? Each comes as a CSV and an XLSX file."),
        buttons=[button(t(label), FLOW, "what", key) for key, (_w, _p, label) in CHOICES.items()],
    )


async def on_button(ctx: Context, payload: Payload) -> None:
    if not ctx.is_admin:  # a forged or forwarded button: the same rule as the command
        ctx.reply(ctx.t("Sorry, /{command} is for admins only.", command="ekspor"))
        return
    if payload.step != "what" or payload.value not in CHOICES:
        ctx.reply(ctx.t("That button is no longer valid."))
        return
    await _send(ctx, payload.value)


async def _send(ctx: Context, choice: str) -> None:
    what, phones, _label = CHOICES[choice]
    if phones:
        await audit_phone_export(
            ctx.session, actor_user_id=ctx.user.id, via=ctx.user.channel, now=ctx.now
        )
    count = 0
    for fmt in FORMATS:
        out = io.BytesIO()
        count = await write_export(ctx.session, what, fmt, out, phones=phones)
        ctx.reply(
            "",
            attachment=Attachment(
                filename=filename(what, fmt, today=ctx.today, phones=phones),
                data=out.getvalue(),
                mime=MIME[fmt],
            ),
        )
    note = (
        ctx.t("Phone numbers are included; this export was written to the audit trail.")
        if phones
        else ""
    )
    ctx.reply(ctx.t("{n} rows exported.", n=count) + (f"\n{note}" if note else ""))


FEATURE = Feature(
    commands={"ekspor": start, "export": start},
    admin_only=frozenset({"ekspor", "export"}),
    buttons={FLOW: on_button},
    surface=(
        Surface(
            "ekspor",
            help={"admin": N_("export the data as CSV or XLSX")},
            aliases=("export",),
            rank=65,
        ),
    ),
)
