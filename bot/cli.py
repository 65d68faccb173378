"""The `kurasi` command."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import ConfigError, Settings, load_settings
from bot.logs import setup_logging

if TYPE_CHECKING:
    from db.models import Broadcast

T = TypeVar("T")

cli = typer.Typer(no_args_is_help=True, add_completion=False, help="Kurasi curation chatbot.")
db_cli = typer.Typer(no_args_is_help=True, help="Database schema.")
cli.add_typer(db_cli, name="db")

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="TOML config file (default: $KURASI_CONFIG, else ./config.toml when present).",
        show_default=False,
    ),
]


def _settings(config: Path | None) -> Settings:
    try:
        settings = load_settings(config)
    except ConfigError as exc:
        typer.echo(f"config error: {exc}", err=True)
        raise typer.Exit(2) from None
    setup_logging(
        level=settings.log.level, json=settings.log.json_format, secrets=settings.secrets()
    )
    return settings


@cli.command()
def run(config: ConfigOption = None) -> None:
    """Apply migrations and serve: Telegram when a token is configured, else the terminal."""
    from bot.app import serve

    settings = _settings(config)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(settings))


@db_cli.command("upgrade")
def db_upgrade(config: ConfigOption = None) -> None:
    """Apply all migrations to the configured database."""
    from db.engine import make_engine
    from db.migrate import current_revision, upgrade

    settings = _settings(config)

    async def go() -> str | None:
        engine = make_engine(settings.database.url)
        try:
            await upgrade(engine)
            return await current_revision(engine)
        finally:
            await engine.dispose()

    typer.echo(f"database at revision {asyncio.run(go())}")


i18n_cli = typer.Typer(no_args_is_help=True, help="Translation catalogs.")
cli.add_typer(i18n_cli, name="i18n")


@i18n_cli.command("update")
def i18n_update() -> None:
    """Extract the marked strings and merge them into bot/locales/*/LC_MESSAGES/kurasi.po."""
    from bot.i18n import source_locales_dir, update_catalogs

    locales_dir = source_locales_dir()
    for language, (added, removed) in update_catalogs(locales_dir).items():
        typer.echo(f"{language}: {added} added, {removed} removed")
    typer.echo(f"catalogs in {locales_dir}")


curator_cli = typer.Typer(no_args_is_help=True, help="Curators (by Telegram user id).")
cli.add_typer(curator_cli, name="curator")


def _with_session(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` in one transaction on a migrated database."""
    from db.engine import make_engine, make_sessionmaker
    from db.migrate import upgrade

    async def go() -> T:
        engine = make_engine(settings.database.url)
        try:
            await upgrade(engine)
            async with make_sessionmaker(engine)() as session, session.begin():
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.run(go())


@curator_cli.command("add")
def curator_add(
    user_id: Annotated[int, typer.Argument(help="The curator's Telegram user id.")],
    chat: Annotated[
        int | None,
        typer.Option("--chat", help="Only this review chat (default: every review chat)."),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Let a person curate in the review chats."""
    from db.base import utcnow
    from db.reviews import add_curator

    settings = _settings(config)
    added = _with_session(
        settings,
        lambda session: add_curator(
            session,
            external_id=str(user_id),
            chat_id=str(chat) if chat is not None else None,
            added_by="cli",
            now=utcnow(),
        ),
    )
    where = f"review chat {chat}" if chat is not None else "every review chat"
    typer.echo(f"{user_id} {'is now' if added else 'was already'} a curator in {where}")


@curator_cli.command("remove")
def curator_remove(
    user_id: Annotated[int, typer.Argument(help="The curator's Telegram user id.")],
    config: ConfigOption = None,
) -> None:
    """Stop a person curating (in every chat)."""
    from db.reviews import remove_curator

    settings = _settings(config)
    removed = _with_session(
        settings, lambda session: remove_curator(session, external_id=str(user_id))
    )
    typer.echo(f"{user_id} removed" if removed else f"{user_id} was not a curator")
    if not removed:
        raise typer.Exit(1)


@curator_cli.command("list")
def curator_list(config: ConfigOption = None) -> None:
    """Everyone who may curate, and where."""
    from db.reviews import list_curators

    settings = _settings(config)

    async def rows(session: AsyncSession) -> list[str]:
        return [
            f"{c.external_id}\t{c.chat_id or 'every review chat'}"
            for c in await list_curators(session)
        ]

    lines = _with_session(settings, rows)
    typer.echo("\n".join(lines) if lines else "no curators yet")


fairs_cli = typer.Typer(no_args_is_help=True, help="Export and trade fairs.")
cli.add_typer(fairs_cli, name="fairs")


@fairs_cli.command("import")
def fairs_import(
    file: Annotated[
        Path,
        typer.Argument(
            exists=True,
            dir_okay=False,
            help="CSV file with the header "
            "name,place,country,start_date,end_date,registration_deadline,sectors,link,description.",
        ),
    ],
    config: ConfigOption = None,
) -> None:
    """Add the fairs of a CSV file: all of them, or none when any row is bad."""
    from db.base import utcnow
    from db.fairs import find_stored, import_fairs, parse_fairs_csv

    settings = _settings(config)
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        typer.echo(f'{file}: not UTF-8 text; save the spreadsheet as "CSV UTF-8"', err=True)
        raise typer.Exit(1) from None
    rows, errors = parse_fairs_csv(text)

    async def work(session: AsyncSession) -> int:
        for row, fair in await find_stored(session, rows=rows):
            errors.append((row.line or 0, f"already stored as fair {fair.id} (same name and date)"))
        if errors:
            return 0
        return len(await import_fairs(session, rows=rows, created_by=None, now=utcnow()))

    imported = _with_session(settings, work) if not errors else 0
    if errors:
        for line, message in sorted(errors, key=lambda e: e[0]):
            typer.echo(f"line {line}: {message}", err=True)
        typer.echo(f"nothing imported: fix the rows above and import {file} again", err=True)
        raise typer.Exit(1)
    typer.echo(f"imported {imported} fair{'' if imported == 1 else 's'}")


@fairs_cli.command("list")
def fairs_list(config: ConfigOption = None) -> None:
    """Every fair, past ones too: id, dates, name, place, country, sectors."""
    from db.fairs import list_fairs

    settings = _settings(config)

    async def rows(session: AsyncSession) -> list[str]:
        return [
            "\t".join(
                (
                    str(f.id),
                    f"{f.start_date}..{f.end_date}",
                    f.name,
                    f.place,
                    f.country,
                    ";".join(f.sectors) or "all sectors",
                )
            )
            for f in await list_fairs(session)
        ]

    lines = _with_session(settings, rows)
    typer.echo("\n".join(lines) if lines else "no fairs yet")


def main() -> None:
    cli()


broadcast_cli = typer.Typer(no_args_is_help=True, help="Admin broadcasts to producers.")
cli.add_typer(broadcast_cli, name="broadcast")

BroadcastId = Annotated[int, typer.Argument(help="The broadcast's number (see `list`).")]


def _broadcast_line(b: Broadcast) -> str:
    when = (b.scheduled_at or b.created_at).strftime("%Y-%m-%d %H:%M UTC")
    first = (b.text.strip().splitlines() or ["-"])[0][:50]
    return f"{b.id}\t{b.state}\t{b.total}\t{when}\t{first}"


@broadcast_cli.command("list")
def broadcast_list(config: ConfigOption = None) -> None:
    """Recent broadcasts: id, state, recipients, when, first line."""
    from db.broadcasts import recent_broadcasts

    settings = _settings(config)

    async def rows(session: AsyncSession) -> list[str]:
        return [_broadcast_line(b) for b in await recent_broadcasts(session, limit=50)]

    lines = _with_session(settings, rows)
    typer.echo("\n".join(lines) if lines else "no broadcasts yet")


@broadcast_cli.command("show")
def broadcast_show(broadcast_id: BroadcastId, config: ConfigOption = None) -> None:
    """One broadcast's report: delivered, blocked, failed (with reasons), left."""
    from bot.i18n import translator
    from db.broadcasts import get_broadcast, report
    from handlers.broadcast import report_text

    settings = _settings(config)

    async def work(session: AsyncSession) -> str | None:
        b = await get_broadcast(session, broadcast_id)
        if b is None:
            return None
        return report_text(translator("en"), b, await report(session, b))

    text = _with_session(settings, work)
    if text is None:
        typer.echo(f"no broadcast {broadcast_id}", err=True)
        raise typer.Exit(1)
    typer.echo(text)


def _steer(broadcast_id: int, action: str, config: Path | None) -> None:
    from db.base import utcnow
    from db.broadcasts import audit, change_state

    settings = _settings(config)

    async def work(session: AsyncSession) -> str | None:
        now = utcnow()
        b = await change_state(session, broadcast_id, action, now=now)
        if b is None:
            return None
        await audit(
            session, action=f"broadcast_{action}", actor_user_id=None, detail="cli", now=now
        )
        return str(b.state)

    state = _with_session(settings, work)
    if state is None:
        typer.echo(f"broadcast {broadcast_id} cannot {action} now (or does not exist)", err=True)
        raise typer.Exit(1)
    typer.echo(f"broadcast {broadcast_id}: {state}")


@broadcast_cli.command("pause")
def broadcast_pause(broadcast_id: BroadcastId, config: ConfigOption = None) -> None:
    """Stop sending for now; `resume` continues where it stopped."""
    _steer(broadcast_id, "pause", config)


@broadcast_cli.command("resume")
def broadcast_resume(broadcast_id: BroadcastId, config: ConfigOption = None) -> None:
    """Continue a paused broadcast."""
    _steer(broadcast_id, "resume", config)


@broadcast_cli.command("cancel")
def broadcast_cancel(broadcast_id: BroadcastId, config: ConfigOption = None) -> None:
    """Stop a broadcast for good; nobody else receives it."""
    _steer(broadcast_id, "cancel", config)


@broadcast_cli.command("send")
def broadcast_send(
    text_file: Annotated[
        Path,
        typer.Option(
            "--text-file", exists=True, dir_okay=False, help="The message (UTF-8; HTML allowed)."
        ),
    ],
    photo: Annotated[
        Path | None, typer.Option("--photo", exists=True, dir_okay=False, help="One photo.")
    ] = None,
    sector: Annotated[
        list[str] | None, typer.Option("--sector", help="Sector code; repeat for several.")
    ] = None,
    regency: Annotated[
        list[str] | None,
        typer.Option("--regency", help='Regency or city ("Kab. Malang", 35.07); repeatable.'),
    ] = None,
    status: Annotated[
        list[str] | None,
        typer.Option("--status", help="approved, in_review, draft or no_product; repeatable."),
    ] = None,
    language: Annotated[list[str] | None, typer.Option("--language", help="id or en.")] = None,
    channel: Annotated[
        list[str] | None, typer.Option("--channel", help="telegram or whatsapp.")
    ] = None,
    html: Annotated[bool, typer.Option("--html", help="The text is Telegram HTML.")] = False,
    urgent: Annotated[bool, typer.Option("--urgent", help="Send in quiet hours too.")] = False,
    at: Annotated[
        str | None, typer.Option("--at", help='Start later: "YYYY-MM-DD HH:MM" (local time).')
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only print how many would receive it.")
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Queue a broadcast; the running bot (or `kurasi broadcast work`) sends it."""
    import shutil
    import uuid
    from zoneinfo import ZoneInfo

    from db.base import utcnow
    from db.broadcasts import STATUS_CHOICES, Audience, audit, count_audience, create_broadcast
    from db.businesses import SECTORS
    from db.regions import search_regions
    from handlers.broadcast import parse_when

    settings = _settings(config)
    problems: list[str] = []
    text = text_file.read_text(encoding="utf-8").strip()
    if not text:
        problems.append(f"{text_file} is empty")
    problems += [
        f"unknown sector {s!r}; sectors: {', '.join(SECTORS)}"
        for s in sector or []
        if s not in SECTORS
    ]
    problems += [
        f"unknown status {s!r}; statuses: {', '.join(STATUS_CHOICES)}"
        for s in status or []
        if s not in STATUS_CHOICES
    ]
    regions = []
    for name in regency or []:
        found = search_regions(name)
        exact = [r for r in found if name.strip().lower() in (r.label.lower(), r.code)]
        if exact or len(found) == 1:
            regions.append((exact or found)[0].code)
        else:
            options = ", ".join(r.label for r in found[:5]) or "none"
            problems.append(f"regency {name!r} is ambiguous or unknown (matches: {options})")
    now = utcnow()
    scheduled_at = None
    if at is not None:
        scheduled_at = parse_when(
            at.replace("T", " "), now=now, zone=ZoneInfo(settings.scheduler.timezone)
        )
        if scheduled_at is None or scheduled_at <= now:
            problems.append(f'--at {at!r}: give a future "YYYY-MM-DD HH:MM"')
    if problems:
        for problem in problems:
            typer.echo(problem, err=True)
        raise typer.Exit(2)
    audience = Audience(
        sectors=tuple(sector or ()),
        regions=tuple(regions),
        statuses=tuple(status or ()),
        languages=tuple(language or ()),
        channels=tuple(channel or ()),
    )

    async def work(session: AsyncSession) -> tuple[int, int | None]:
        count = await count_audience(session, audience)
        if dry_run:
            return count, None
        media_path = None
        if photo is not None:
            folder = settings.media.dir / "broadcasts"
            folder.mkdir(parents=True, exist_ok=True)
            media_path = folder / f"{uuid.uuid4().hex}{photo.suffix.lower()}"
            shutil.copyfile(photo, media_path)
        b = await create_broadcast(
            session,
            text=text,
            html=html,
            audience=audience,
            created_by=None,
            now=now,
            media_kind="photo" if photo else None,
            media_path=str(media_path.resolve()) if media_path else None,
            urgent=urgent,
            scheduled_at=scheduled_at,
        )
        await audit(
            session,
            action="broadcast_scheduled" if scheduled_at else "broadcast_sent",
            actor_user_id=None,
            detail=f"#{b.id} cli",
            now=now,
        )
        return count, b.id

    count, broadcast_id = _with_session(settings, work)
    if broadcast_id is None:
        typer.echo(f"{count} recipients (dry run: nothing queued)")
        return
    when = f"at {at}" if at else "now"
    typer.echo(f"broadcast {broadcast_id} queued for {count} recipients, starting {when}")


@broadcast_cli.command("work")
def broadcast_work(
    until_idle: Annotated[
        bool, typer.Option("--until-idle", help="Exit when nothing is left to send.")
    ] = False,
    config: ConfigOption = None,
) -> None:
    """A sender worker without the bot: several may run at once, on one database."""
    from bot.app import build

    settings = _settings(config)

    async def go() -> None:
        runtime = await build(settings)
        try:
            if until_idle:
                await runtime.sender.run_until_idle()
            else:
                await runtime.sender.run()
        finally:
            await runtime.close()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(go())
