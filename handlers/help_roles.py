"""/bantuan's extra sections: curators' commands to curators, admins' to admins."""

from __future__ import annotations

from db.reviews import find_curators
from handlers.context import Context, Translate
from handlers.i18n import N_


def curator_help(t: Translate) -> str:
    """What curators can do in a review chat, and the one rule for deciding."""
    return (
        t(
            "For curators, in a review chat:\n"
            "/ambil – take the oldest waiting product of this chat\n"
            "/antrian – the products waiting in this chat\n"
            "/statistik_saya – your decisions\n"
            "On a card: take it, score each criterion 1–3, then approve, revise or reject; "
            "an approval or a rejection can be undone for 30 seconds."
        )
        + "\n"
        + t(DECISION_RULE)
    )


# One rule for every verdict (handlers/review/decisions.py applies it).
DECISION_RULE = N_(
    "Until all seven criteria are scored, any decision needs a written reason for the "
    "producer. Scored: grade A or B approves; a lower grade needs a written reason to "
    "approve; a revision or a rejection needs a reason, picked or written."
)


async def role_help(ctx: Context) -> str:
    """The commands of the reader's roles beyond a producer's ("" for a producer)."""
    t = ctx.t
    sender = ctx.incoming.sender
    sections = []
    curator = await find_curators(
        ctx.session, channel=sender.channel, external_id=sender.external_id
    )
    if curator or ctx.is_admin:
        sections.append(curator_help(t))
    if ctx.is_admin:
        sections.append(
            t(
                "For admins:\n"
                "/pameran_baru – add an export fair\n"
                "/pameran – fairs, each with Edit and Delete\n"
                "/pameran_peminat – who is interested in each fair\n"
                "/statistik – statistics and charts\n"
                "/ekspor – export the data as CSV or XLSX\n"
                "/kurator_tambah, /kurator_hapus, /kurator – manage curators"
            )
        )
        if ctx.settings.dashboard_url is not None:
            sections[-1] += "\n" + t("/dasbor – the web dashboard (a one-time login link)")
    return "".join("\n\n" + s for s in sections)
