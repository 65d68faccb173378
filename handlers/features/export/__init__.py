"""/ekspor: admins download the database as XLSX and CSV files, filtered by sector, regency,
status and period; personal data (owner names, phone numbers) only on request, audited.

The update that asks is answered at once: the files are built by a background job
(`FlowSettings.exports`, bot/export_jobs.py) that shows its progress and sends them when
ready. Without one (tests, tools) they are built within the update.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from db.audit import audit_personal_export
from db.businesses import SECTORS
from db.export_requests import add_request
from db.exports import (
    MIME,
    Format,
    Style,
    What,
    filename,
    write_export,
)
from handlers.features.export.labels import FilterError, Typed, describe, parse_filters, presenter
from handlers.i18n import N_
from handlers.kit.context import Context, Translate
from handlers.kit.events import Attachment, Command
from handlers.kit.feature import Feature, Surface
from handlers.kit.labels import SECTOR_LABELS
from handlers.kit.payload import ButtonData, Payload

FLOW = "export"
CHOICES: dict[str, tuple[What, bool, str]] = {
    "businesses": ("businesses", False, N_("🏭 Businesses")),
    "phones": ("businesses", True, N_("📞 Businesses with owner names and phones (logged)")),
    "products": ("products", False, N_("📦 Products with status, grade and scores")),
    "reviews": ("reviews", False, N_("🧾 Review history with the curators' reasons")),
}
ALIASES = {
    "bisnis": "businesses",
    "usaha": "businesses",
    "produk": "products",
    "kurasi": "reviews",
    "review": "reviews",
    "ulasan": "reviews",
    "telepon": "phones",
    "pribadi": "phones",
    "personal": "phones",
}
ALL = "*"


@dataclass(frozen=True)
class WhatButton(ButtonData, flow=FLOW, steps=("what",)):
    """Which export (a key of CHOICES)."""

    step: str
    choice: str


@dataclass(frozen=True)
class SectorButton(ButtonData, flow=FLOW, steps=("go",), sep=":"):
    """The export and its sector (ALL: every sector)."""

    step: str
    choice: str
    sector: str


# What each job writes: XLSX, and CSV with ";" (what Excel in an Indonesian locale reads).
FILES: tuple[tuple[Format, str], ...] = (("xlsx", ","), ("csv", ";"))


@dataclass(frozen=True, slots=True)
class ExportJob:
    """One /ekspor request, everything the background job needs (no session objects)."""

    channel: str
    chat_id: str
    user_id: int
    language: str
    what: What
    personal: bool
    typed: Typed
    timezone: str
    files: tuple[tuple[Format, str], ...] = FILES
    request_id: int | None = None  # its stored request (db/export_requests.py)

    def spec(self) -> dict[str, Any]:
        """The job as JSON, stored with the request (everything but the request's id)."""
        typed = self.typed
        return {
            "channel": self.channel,
            "chat_id": self.chat_id,
            "user_id": self.user_id,
            "language": self.language,
            "what": self.what,
            "personal": self.personal,
            "timezone": self.timezone,
            "files": [list(f) for f in self.files],
            "sectors": list(typed.sectors),
            "regions": list(typed.regions),
            "statuses": list(typed.statuses),
            "first": typed.first.isoformat() if typed.first else None,
            "last": typed.last.isoformat() if typed.last else None,
        }

    @classmethod
    def from_spec(cls, spec: dict[str, Any], *, request_id: int) -> ExportJob:
        def day(value: object) -> date | None:
            return date.fromisoformat(value) if isinstance(value, str) else None

        typed = Typed(
            sectors=tuple(spec.get("sectors") or ()),
            regions=tuple(spec.get("regions") or ()),
            statuses=tuple(spec.get("statuses") or ()),
            first=day(spec.get("first")),
            last=day(spec.get("last")),
        )
        return cls(
            channel=spec["channel"],
            chat_id=spec["chat_id"],
            user_id=spec["user_id"],
            language=spec["language"],
            what=spec["what"],
            personal=bool(spec["personal"]),
            typed=typed,
            timezone=spec["timezone"],
            files=tuple((fmt, sep) for fmt, sep in spec.get("files") or FILES),
            request_id=request_id,
        )


def usage(t: Translate) -> str:
    return t(
        "Filters can be typed after the export's name, for example:\n"
        "/ekspor produk sektor:makanan wilayah:kab_malang status:disetujui "
        "dari:01/11/2026 sampai:30/11/2026"
    )


async def start(ctx: Context) -> None:
    """/ekspor [what] [filters]: offer the exports, or start the one named in the command."""
    t = ctx.t
    words: list[str] = []
    if isinstance(ctx.incoming.event, Command):
        words = ctx.incoming.event.args.split()[:12]
    if words:
        choice = ALIASES.get(words[0].lower(), words[0].lower())
        if choice not in CHOICES:
            ctx.reply(
                t("There is no export called {name}.", name=words[0][:40]) + "\n" + usage(t),
                buttons=_what_buttons(t),
            )
            return
        try:
            typed = parse_filters(words[1:], CHOICES[choice][0])
        except FilterError as exc:
            ctx.reply(t(exc.msgid, value=exc.value) + "\n" + usage(t))
            return
        await _begin(ctx, choice, typed)
        return
    ctx.reply(
        t("Which export? Each comes as an XLSX and a CSV file.") + "\n" + usage(t),
        buttons=_what_buttons(t),
    )


def _what_buttons(t: Translate) -> list[object]:
    return [WhatButton("what", key).button(t(label)) for key, (_w, _p, label) in CHOICES.items()]


async def on_button(ctx: Context, payload: Payload) -> None:
    t = ctx.t
    if not ctx.is_admin:  # a forged or forwarded button: the same rule as the command
        ctx.reply(t("Sorry, /{command} is for admins only.", command="ekspor"))
        return
    what = WhatButton.read(payload)
    if what is not None and what.choice in CHOICES:
        # One more choice: every row, or one sector (more filters are typed).
        choice = what.choice
        rows = [[SectorButton("go", choice, ALL).button(t("All sectors"))]]
        rows += [[SectorButton("go", choice, s).button(t(SECTOR_LABELS[s]))] for s in SECTORS]
        ctx.reply(t("Which sector?"), buttons=rows)
        return
    go = SectorButton.read(payload)
    if go is None or go.choice not in CHOICES or (go.sector != ALL and go.sector not in SECTORS):
        ctx.reply(t("That button is no longer valid."))
        return
    await _begin(ctx, go.choice, Typed(sectors=() if go.sector == ALL else (go.sector,)))


async def _begin(ctx: Context, choice: str, typed: Typed) -> None:
    what, personal, _label = CHOICES[choice]
    t = ctx.t
    if personal:
        user = ctx.user
        await audit_personal_export(
            ctx.session,
            actor_user_id=user.id,
            person=f"{user.channel} admin {user.external_id}",
            what=what,
            filters=typed.filters(ctx.settings.timezone),
            now=ctx.now,
        )
    note = (
        "\n"
        + t(
            "Owner names and phone numbers are included; "
            "this export was written to the audit trail."
        )
        if personal
        else ""
    )
    job = ExportJob(
        channel=ctx.user.channel,
        chat_id=ctx.incoming.chat_id,
        user_id=ctx.user.id,
        language=ctx.language,
        what=what,
        personal=personal,
        typed=typed,
        timezone=ctx.settings.timezone,
    )
    starter = ctx.settings.exports
    if starter is None:
        count = await build_inline(ctx, job)
        ctx.reply(t("{n} rows exported.", n=count) + note)
        return
    ctx.reply(
        t(
            "⏳ Preparing the {what} export ({filters}). The files come here when they are "
            "ready; you can go on meanwhile.",
            what=t(CHOICES[choice][2]),
            filters=describe(t, typed),
        )
        + note
    )

    # Stored with this update: a restart, or a crash, mid-export starts it again.
    request_id = await add_request(ctx.session, user_id=ctx.user.id, spec=job.spec(), now=ctx.now)
    job = replace(job, request_id=request_id)

    async def launch() -> None:  # after commit: the request and audit rows are stored first
        starter(job)

    ctx.after_commit.append(launch)


async def build_inline(ctx: Context, job: ExportJob) -> int:
    """The files within the update (no background runner configured)."""
    t = ctx.translator(job.language)
    filters = job.typed.filters(job.timezone)
    count = 0
    for fmt, delimiter in job.files:
        out = io.BytesIO()
        count = await write_export(
            ctx.session,
            what=job.what,
            fmt=fmt,
            out=out,
            phones=job.personal,
            filters=filters,
            style=Style(timezone=job.timezone, presenter=presenter(t), delimiter=delimiter),
        )
        ctx.reply(
            "",
            attachment=Attachment(
                filename=filename(job.what, fmt, today=ctx.today, phones=job.personal),
                data=out.getvalue(),
                mime=MIME[fmt],
            ),
        )
    return count


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
