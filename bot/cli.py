"""The `kurasi` command."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import ConfigError, Settings, load_settings
from bot.logs import setup_logging

if TYPE_CHECKING:
    from db.models import Broadcast, User

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


def _fail(message: str, settings: Settings) -> NoReturn:
    """A start that cannot go on: one line saying why (secrets masked), exit code 2."""
    from bot.logs import Redactor

    typer.echo(Redactor(settings.secrets())(message), err=True)
    raise typer.Exit(2)


def _database_failed(settings: Settings, exc: BaseException) -> None:
    """Exit with one line when `exc` means the database could not be reached."""
    from db.engine import connection_problem, masked_url

    problem = connection_problem(exc)
    if problem is not None:
        _fail(f"database {masked_url(settings.database.url)} unreachable: {problem}", settings)


def _run_until_stopped(
    config: Path | None, main: Callable[[Settings], Coroutine[Any, Any, None]]
) -> None:
    """Run `main` until it returns or Ctrl-C; a start that cannot go on (a platform or the
    database out of reach) exits with one line saying why."""
    from bot.app import StartupError

    settings = _settings(config)
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(main(settings))
    except StartupError as exc:
        _fail(str(exc), settings)
    except Exception as exc:
        _database_failed(settings, exc)
        raise


@cli.command()
def run(config: ConfigOption = None) -> None:
    """Apply migrations and serve: Telegram when a token is configured, else the terminal."""
    from bot.app import serve

    _run_until_stopped(config, serve)


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

    try:
        revision = asyncio.run(go())
    except Exception as exc:
        _database_failed(settings, exc)
        raise
    typer.echo(f"database at revision {revision}")


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


curator_cli = typer.Typer(no_args_is_help=True, help="Curators (by Telegram user id or @username).")
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

    try:
        return asyncio.run(go())
    except Exception as exc:
        _database_failed(settings, exc)
        raise


def _print_rows(
    config: Path | None,
    rows: Callable[[AsyncSession], Awaitable[list[tuple[str, ...]]]],
    *,
    empty: str,
) -> None:
    """A listing: one tab-separated line per row, or `empty` when there is none."""
    lines = ["\t".join(row) for row in _with_session(_settings(config), rows)]
    typer.echo("\n".join(lines) if lines else empty)


CuratorArgument = Annotated[
    str,
    typer.Argument(
        metavar="USER",
        help="The curator's Telegram user id, or @username if they have written to the bot.",
        show_default=False,
    ),
]


def _who(user: User | None, external_id: str) -> str:
    """12345 (Siti Aminah, @siti): how the CLI names a person."""
    if user is None:
        return external_id
    names = [n for n in (user.display_name, f"@{user.username}" if user.username else None) if n]
    return f"{external_id} ({', '.join(names)})" if names else external_id


async def _curator_target(session: AsyncSession, who: str) -> tuple[str, User | None]:
    """The Telegram user id `who` names, and their user row when they have written."""
    from db.users import resolve_person

    found = await resolve_person(session, channel="telegram", who=who)
    if found is None:
        typer.echo(
            f"nobody called {who} has written to the bot yet: ask them to send /start to the "
            "bot, or give their numeric Telegram user id",
            err=True,
        )
        raise typer.Exit(1)
    return found


def _check_user_form(who: str) -> str:
    from db.users import person_form

    who = who.strip()
    if person_form(who) is None or who.startswith("-"):
        typer.echo(f"{who!r} is neither a Telegram user id (digits) nor an @username", err=True)
        raise typer.Exit(2)
    return who


@curator_cli.command("add")
def curator_add(
    user: CuratorArgument,
    chat: Annotated[
        int | None,
        typer.Option(
            "--chat",
            help="Only this review chat (one of [[review.chats]]; default: every review chat).",
        ),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Let a person curate in the review chats."""
    from db.base import utcnow
    from db.reviews import add_curator

    who = _check_user_form(user)
    settings = _settings(config)
    configured = [c.chat_id for c in settings.review.chats]
    if chat is not None and chat not in configured:
        listing = ", ".join(map(str, configured)) or "none (add [[review.chats]] to the config)"
        typer.echo(f"{chat} is not a configured review chat; configured: {listing}", err=True)
        raise typer.Exit(2)

    async def work(session: AsyncSession) -> tuple[str, bool]:
        external_id, known = await _curator_target(session, who)
        added = await add_curator(
            session,
            external_id=external_id,
            chat_id=str(chat) if chat is not None else None,
            added_by="cli",
            now=utcnow(),
        )
        return _who(known, external_id), added

    name, added = _with_session(settings, work)
    where = f"review chat {chat}" if chat is not None else "every review chat"
    typer.echo(f"{name} {'is now' if added else 'was already'} a curator in {where}")


@curator_cli.command("remove")
def curator_remove(user: CuratorArgument, config: ConfigOption = None) -> None:
    """Stop a person curating (in every chat)."""
    from db.reviews import remove_curator

    who = _check_user_form(user)
    settings = _settings(config)

    async def work(session: AsyncSession) -> tuple[str, int]:
        external_id, known = await _curator_target(session, who)
        return _who(known, external_id), await remove_curator(session, external_id=external_id)

    name, removed = _with_session(settings, work)
    typer.echo(f"{name} removed" if removed else f"{name} was not a curator")
    if not removed:
        raise typer.Exit(1)


@curator_cli.command("list")
def curator_list(config: ConfigOption = None) -> None:
    """Everyone who may curate, and where: id, name, @username, review chat."""
    from db.reviews import list_curators_named

    async def rows(session: AsyncSession) -> list[tuple[str, ...]]:
        return [
            (
                c.external_id,
                (u.display_name if u else None) or "-",
                f"@{u.username}" if u and u.username else "-",
                c.chat_id or "every review chat",
            )
            for c, u in await list_curators_named(session)
        ]

    _print_rows(config, rows, empty="no curators yet")


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

    async def rows(session: AsyncSession) -> list[tuple[str, ...]]:
        return [
            (
                str(f.id),
                f"{f.start_date}..{f.end_date}",
                f.name,
                f.place,
                f.country,
                ";".join(f.sectors) or "all sectors",
            )
            for f in await list_fairs(session)
        ]

    _print_rows(config, rows, empty="no fairs yet")


def _cleared(value: str | None) -> str | None:
    """An option's value for a column; "-" empties an optional column."""
    return "" if value is not None and value.strip() == "-" else value


def _told(count: int) -> str:
    return f"told {count} interested producer{'' if count == 1 else 's'}"


@fairs_cli.command("edit")
def fairs_edit(
    fair_id: Annotated[int, typer.Argument(help="The fair's id (see `kurasi fairs list`).")],
    name: Annotated[str | None, typer.Option(help="New name.")] = None,
    place: Annotated[str | None, typer.Option(help="New place.")] = None,
    country: Annotated[str | None, typer.Option(help="New country.")] = None,
    start: Annotated[
        str | None, typer.Option(help="First day: 2027-04-21, 21/04/2027 or 21-04-2027.")
    ] = None,
    end: Annotated[str | None, typer.Option(help="Last day, in the same forms.")] = None,
    deadline: Annotated[
        str | None, typer.Option(help='Registration deadline; "-" for none announced.')
    ] = None,
    sectors: Annotated[
        str | None, typer.Option(help='Sector codes separated by ";"; "-" for every sector.')
    ] = None,
    link: Annotated[str | None, typer.Option(help='Web address; "-" for none.')] = None,
    description: Annotated[str | None, typer.Option(help='Description; "-" for none.')] = None,
    config: ConfigOption = None,
) -> None:
    """Change a fair; producers interested in it are told when its dates or place change."""
    from db.base import utcnow
    from db.fairs import FairChange, edit_fair
    from handlers.features.fairs.text import FAIR_CHANGED

    given = {
        "name": name,
        "place": place,
        "country": country,
        "start_date": start,
        "end_date": end,
        "registration_deadline": _cleared(deadline),
        "sectors": _cleared(sectors),
        "link": _cleared(link),
        "description": _cleared(description),
    }
    changes = {column: value for column, value in given.items() if value is not None}
    if not changes:
        typer.echo("nothing to change: give at least one option (see --help)", err=True)
        raise typer.Exit(2)
    settings = _settings(config)
    result = _with_session(
        settings,
        lambda session: edit_fair(
            session, fair_id=fair_id, changes=changes, now=utcnow(), notice_kind=FAIR_CHANGED
        ),
    )
    if result is None:
        typer.echo(f"no fair {fair_id} (see `kurasi fairs list`)", err=True)
        raise typer.Exit(1)
    if not isinstance(result, FairChange):
        for problem in result:
            typer.echo(problem, err=True)
        typer.echo(f"fair {fair_id} not changed", err=True)
        raise typer.Exit(1)
    if not result.changed:
        typer.echo(f"fair {fair_id}: nothing changed")
        return
    typer.echo(f"fair {fair_id} changed: {', '.join(result.changed)}; {_told(len(result.told))}")


@fairs_cli.command("delete")
def fairs_delete(
    fair_id: Annotated[int, typer.Argument(help="The fair's id (see `kurasi fairs list`).")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    config: ConfigOption = None,
) -> None:
    """Delete a fair (cancelled); producers interested in it are told."""
    from db.base import utcnow
    from db.fairs import delete_fair, get_fair
    from handlers.features.fairs.text import FAIR_CANCELLED

    settings = _settings(config)
    if not yes:

        async def describe(session: AsyncSession) -> str | None:
            fair = await get_fair(session, fair_id=fair_id)
            return None if fair is None else f"{fair.name} ({fair.start_date}, {fair.place})"

        what = _with_session(settings, describe)
        if what is not None and not typer.confirm(f"Delete fair {fair_id}, {what}?"):
            typer.echo("nothing deleted")
            raise typer.Exit(1)
    result = _with_session(
        settings,
        lambda session: delete_fair(
            session, fair_id=fair_id, now=utcnow(), notice_kind=FAIR_CANCELLED
        ),
    )
    if result is None:
        typer.echo(f"no fair {fair_id} (see `kurasi fairs list`)", err=True)
        raise typer.Exit(1)
    typer.echo(f"fair {fair_id} deleted; {_told(len(result.told))}")


@cli.command("stats")
def stats_command(
    fmt: Annotated[
        str, typer.Option("--format", help="text (for people) or json (for programs).")
    ] = "text",
    lang: Annotated[str, typer.Option("--lang", help="id or en: the text's language.")] = "en",
    charts_dir: Annotated[
        Path | None,
        typer.Option("--charts", help="Also write the charts /statistik sends, as PNGs here."),
    ] = None,
    live: Annotated[
        bool,
        typer.Option(
            "--live",
            help="Compute the figures now (seconds on a large database) instead of reading "
            "the ones the running bot's scheduler stored, when those are at most two ticks old.",
        ),
    ] = False,
    config: ConfigOption = None,
) -> None:
    """The /statistik figures: clusters, statuses, decisions, timings, backlog, curators.

    Read from the snapshot the running bot stores at each scheduler tick when it is fresh
    ("Figures as of HH:MM"), else computed now."""
    import json

    from bot.i18n import translator
    from db.base import utcnow
    from handlers.features.stats import as_of_line, figures, stats_text
    from handlers.kit.context import LANGUAGES

    if fmt not in ("text", "json"):
        typer.echo("--format is text or json", err=True)
        raise typer.Exit(2)
    if lang not in LANGUAGES:
        typer.echo("--lang is id or en", err=True)
        raise typer.Exit(2)
    settings = _settings(config)
    zone = settings.scheduler.timezone
    stats, stored = _with_session(
        settings,
        lambda session: figures(
            session, now=utcnow(), timezone=zone, max_age=settings.stats_max_age, live=live
        ),
    )
    t = translator(lang)
    if fmt == "json":
        typer.echo(json.dumps(stats.to_json(), ensure_ascii=False, indent=2))
        if stored:  # JSON's generated_at says it too; stdout stays one JSON document
            typer.echo(as_of_line(t, stats), err=True)
    else:
        typer.echo(stats_text(t, stats, as_of=stored))
    if charts_dir is not None:
        from bot.charts import draw
        from handlers.features.stats import CHARTS

        charts_dir.mkdir(parents=True, exist_ok=True)
        for kind in CHARTS:
            (charts_dir / f"{kind}.png").write_bytes(draw(kind, stats, t))
        typer.echo(f"{len(CHARTS)} charts written to {charts_dir}", err=fmt == "json")


requirements_cli = typer.Typer(
    no_args_is_help=True, help="What destination markets ask (export readiness)."
)
cli.add_typer(requirements_cli, name="requirements")


@requirements_cli.command("import")
def requirements_import(
    file: Annotated[
        Path,
        typer.Argument(
            exists=True,
            dir_okay=False,
            help="CSV file with the header "
            "destination,sector,requirement,met_by,label_en,label_id,source.",
        ),
    ],
    config: ConfigOption = None,
) -> None:
    """Replace the market requirements with a CSV file's: all of it, or nothing when any
    row is bad."""
    from db.requirements import parse, replace_requirements

    settings = _settings(config)
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        typer.echo(f'{file}: not UTF-8 text; save the spreadsheet as "CSV UTF-8"', err=True)
        raise typer.Exit(1) from None
    rows, errors = parse(text)
    if not errors and not rows:
        errors.append((2, "no requirements in the file"))
    if errors:
        for line, message in sorted(errors, key=lambda e: e[0]):
            typer.echo(f"line {line}: {message}", err=True)
        typer.echo(f"nothing imported: fix the rows above and import {file} again", err=True)
        raise typer.Exit(1)

    async def work(session: AsyncSession) -> int:
        return await replace_requirements(session, rows=rows)

    imported = _with_session(settings, work)
    typer.echo(f"imported {imported} requirement{'' if imported == 1 else 's'}")


@requirements_cli.command("list")
def requirements_list(config: ConfigOption = None) -> None:
    """The requirements in use (the shipped table until one is imported)."""
    from db.requirements import requirement_rows

    async def rows(session: AsyncSession) -> list[tuple[str, ...]]:
        return [
            (r.destination, r.sector, r.requirement, r.met_by, r.label_en, r.source)
            for r in await requirement_rows(session)
        ]

    _print_rows(config, rows, empty="no requirements")


export_cli = typer.Typer(
    help="Export the database (CSV/XLSX), or the approved products as a catalogue.",
    invoke_without_command=True,
)
cli.add_typer(export_cli, name="export")


@export_cli.callback()
def export_command(
    ctx: typer.Context,
    what: Annotated[
        str | None,
        typer.Option("--what", help="businesses, products, reviews or inquiries."),
    ] = None,
    fmt: Annotated[
        str | None,
        typer.Option("--format", help="csv or xlsx (default: from the --out file's name)."),
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="The file to write.")] = None,
    phones: Annotated[
        bool,
        typer.Option(
            "--phones",
            "--personal",
            help="Include owner names and phone numbers (businesses; audited with your user).",
        ),
    ] = False,
    semicolon: Annotated[
        bool,
        typer.Option(
            "--semicolon",
            help="CSV separated by ';', dates day first, digit strings kept as text: "
            "what Excel in an Indonesian locale opens right.",
        ),
    ] = False,
    lang: Annotated[str, typer.Option("--lang", help="id or en: headers and labels.")] = "id",
    raw: Annotated[
        bool, typer.Option("--raw", help="Column keys and codes instead of labels (programs).")
    ] = False,
    sector: Annotated[
        list[str] | None, typer.Option("--sector", help="Only this sector (repeatable).")
    ] = None,
    regency: Annotated[
        list[str] | None,
        typer.Option("--regency", help="Only this regency/city: code or name (repeatable)."),
    ] = None,
    status: Annotated[
        list[str] | None,
        typer.Option("--status", help="Only this status (repeatable; reviews: decision)."),
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="From this day (DD/MM/YYYY or ISO), local.")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="To this day, inclusive, local.")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Write one export file, streamed in batches (memory stays flat)."""
    if ctx.invoked_subcommand is not None:
        return
    import getpass

    from bot.i18n import translator
    from db.audit import audit_personal_export
    from db.base import utcnow
    from db.exports import (
        WHATS,
        FormatError,
        RawPresenter,
        Style,
        format_for,
        write_export,
    )
    from handlers.features.export.labels import FilterError, parse_filters, presenter
    from handlers.kit.context import LANGUAGES

    if what == "inquiries" and out is not None:
        try:
            _export_inquiries(_settings(config), format_for(out, fmt), out, phones=phones)
        except FormatError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(2) from None
        return
    if what not in WHATS or out is None:
        typer.echo(
            "usage: kurasi export --what businesses|products|reviews|inquiries "
            "--out FILE.xlsx|FILE.csv "
            "[--format csv|xlsx] [--semicolon] [--lang id|en] [--sector S] [--regency R] "
            "[--status S] [--since DAY] [--until DAY] [--phones]  "
            "(or: kurasi export catalogue --out DIR)",
            err=True,
        )
        raise typer.Exit(2)
    try:
        chosen = format_for(out, fmt)
    except FormatError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    if semicolon and chosen != "csv":
        typer.echo("--semicolon goes with a CSV file", err=True)
        raise typer.Exit(2)
    if phones and what != "businesses":
        typer.echo("--phones goes with --what businesses", err=True)
        raise typer.Exit(2)
    if lang not in LANGUAGES:
        typer.echo("--lang is id or en", err=True)
        raise typer.Exit(2)
    words = [
        *(f"sector:{v}" for v in sector or ()),
        *(f"regency:{v}" for v in regency or ()),
        *(f"status:{v}" for v in status or ()),
        *([f"from:{since}"] if since else []),
        *([f"to:{until}"] if until else []),
    ]
    try:
        typed = parse_filters(words, what)
    except FilterError as exc:
        typer.echo(translator("en")(exc.msgid, value=exc.value), err=True)
        raise typer.Exit(2) from None
    settings = _settings(config)
    zone = settings.scheduler.timezone
    filters = typed.filters(zone)
    style = Style(
        timezone=zone,
        presenter=RawPresenter() if raw else presenter(translator(lang)),
        delimiter=";" if semicolon else ",",
    )
    partial = out.with_name(out.name + ".part")
    try:
        person = f"cli user {getpass.getuser()}"
    except (KeyError, OSError):  # no name for this uid (a container)
        import os

        person = f"cli uid {os.getuid()}"

    async def work(session: AsyncSession) -> int:
        if phones:
            await audit_personal_export(
                session,
                actor_user_id=None,
                person=person,
                what=what,
                filters=filters,
                now=utcnow(),
            )
        with partial.open("wb") as fh:
            return await write_export(
                session, what=what, fmt=chosen, out=fh, phones=phones, filters=filters, style=style
            )

    try:
        count = _with_session(settings, work)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(out)  # a reader never sees half a file
    typer.echo(f"{count} {what} rows written to {out}")


def _export_inquiries(settings: Settings, fmt: str, out: Path, *, phones: bool) -> None:
    """Buyers' inquiries (with their e-mail addresses: for admins), streamed."""
    from db.inquiries import write_inquiries

    if phones:
        typer.echo("--phones goes with --what businesses", err=True)
        raise typer.Exit(2)
    partial = out.with_name(out.name + ".part")

    async def work(session: AsyncSession) -> int:
        with partial.open("wb") as fh:
            return await write_inquiries(session, fmt=fmt, out=fh)

    try:
        count = _with_session(settings, work)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(out)
    typer.echo(f"{count} inquiries rows written to {out}")


@export_cli.command("catalogue")
def export_catalogue(
    out: Annotated[Path, typer.Option("--out", help="Directory for catalogue.json and photos.")],
    config: ConfigOption = None,
) -> None:
    """Every approved product as a static site (listing, sector and detail pages in four
    languages, photos, sitemap.xml) with catalogue.json (+ its JSON Schema). A folder built
    before is brought up to date: only what changed is rewritten, what is gone is removed."""
    from bot.catalogue import write_catalogue
    from db.base import utcnow
    from db.media_store import MediaStore

    settings = _settings(config)
    store = MediaStore(settings.media.dir)
    count = _with_session(
        settings,
        lambda session: write_catalogue(
            session,
            store,
            out,
            now=utcnow(),
            settings=settings.catalogue,
            thumbs=settings.media.dir / "thumbs",
        ),
    )
    typer.echo(f"{count} approved products written to {out / 'catalogue.json'} and {out}/")


def main() -> None:
    cli()


broadcast_cli = typer.Typer(no_args_is_help=True, help="Admin broadcasts to producers.")
cli.add_typer(broadcast_cli, name="broadcast")

BROADCAST_CHANNELS = ("telegram", "whatsapp")  # where producers are reached
BroadcastId = Annotated[int, typer.Argument(help="The broadcast's number (see `list`).")]


_TAG_RE = re.compile(r"<[^>]{0,200}>")


def _broadcast_row(b: Broadcast, zone: str) -> tuple[str, ...]:
    """A row as an admin reads it: the time in the configured zone, named ("10:00 WIB"),
    and the first line of the text as producers see it (no HTML tags)."""
    import html
    from zoneinfo import ZoneInfo

    when = (b.scheduled_at or b.created_at).astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M %Z")
    plain = html.unescape(_TAG_RE.sub("", b.text)) if b.html else b.text
    first = (plain.strip().splitlines() or ["-"])[0][:50]
    return str(b.id), str(b.state), str(b.total), when, first


@broadcast_cli.command("list")
def broadcast_list(config: ConfigOption = None) -> None:
    """Recent broadcasts: id, state, recipients, when (local time), first line."""
    from db.broadcasts import recent_broadcasts

    zone = _settings(config).scheduler.timezone

    async def rows(session: AsyncSession) -> list[tuple[str, ...]]:
        return [_broadcast_row(b, zone) for b in await recent_broadcasts(session, limit=50)]

    _print_rows(config, rows, empty="no broadcasts yet")


@broadcast_cli.command("show")
def broadcast_show(broadcast_id: BroadcastId, config: ConfigOption = None) -> None:
    """One broadcast's report: delivered, blocked, failed (with reasons), left."""
    from bot.i18n import translator
    from db.broadcasts import get_broadcast, report
    from handlers.features.broadcast import report_text

    settings = _settings(config)

    async def work(session: AsyncSession) -> str | None:
        b = await get_broadcast(session, broadcast_id=broadcast_id)
        if b is None:
            return None
        return report_text(translator("en"), b, await report(session, broadcast=b))

    text = _with_session(settings, work)
    if text is None:
        typer.echo(f"no broadcast {broadcast_id}", err=True)
        raise typer.Exit(1)
    typer.echo(text)


def _steer(broadcast_id: int, action: str, config: Path | None) -> None:
    from db.audit import audit
    from db.base import utcnow
    from db.broadcasts import change_state

    settings = _settings(config)

    async def work(session: AsyncSession) -> str | None:
        now = utcnow()
        b = await change_state(session, broadcast_id=broadcast_id, action=action, now=now)
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

    from db.audit import audit
    from db.base import utcnow
    from db.broadcasts import STATUS_CHOICES, Audience, count_audience, create_broadcast
    from db.businesses import SECTORS
    from db.regions import search_regions
    from handlers.features.broadcast import markup
    from handlers.kit.context import LANGUAGES
    from handlers.kit.parsing import parse_when

    settings = _settings(config)
    problems: list[str] = []
    text = text_file.read_text(encoding="utf-8").strip()
    if not text:
        problems.append(f"{text_file} is empty")
    elif (unsendable := markup.check(text, html=html)) is not None:
        # Checked for every channel before anything is queued (Telegram's HTML rules).
        problems.append(f"{text_file}{' (--html)' if html else ''}: {unsendable.english}")
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
    problems += [
        f"unknown language {x!r}; languages: {', '.join(LANGUAGES)}"
        for x in language or []
        if x not in LANGUAGES
    ]
    problems += [
        f"unknown channel {x!r}; channels: {', '.join(BROADCAST_CHANNELS)}"
        for x in channel or []
        if x not in BROADCAST_CHANNELS
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
            at.replace("T", " "),
            now=now,
            zone=ZoneInfo(settings.scheduler.timezone),
            roll_over=False,  # a day already past this year is a slip, not next year
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
        count = await count_audience(session, audience=audience)
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
    zone = ZoneInfo(settings.scheduler.timezone)
    when = f"at {scheduled_at.astimezone(zone):%Y-%m-%d %H:%M %Z}" if scheduled_at else "now"
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

    async def work(settings: Settings) -> None:
        runtime = await build(settings)
        try:
            if until_idle:
                await runtime.sender.run_until_idle()
            else:
                await runtime.sender.run()
        finally:
            await runtime.close()

    _run_until_stopped(config, work)
