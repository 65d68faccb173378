"""The `kurasi` command."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, NoReturn, TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import ConfigError, Settings, load_settings
from bot.logs import setup_logging

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


@cli.command()
def run(config: ConfigOption = None) -> None:
    """Apply migrations and serve: Telegram when a token is configured, else the terminal."""
    from bot.app import StartupError, serve

    settings = _settings(config)
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve(settings))
    except StartupError as exc:
        _fail(str(exc), settings)
    except Exception as exc:
        _database_failed(settings, exc)
        raise


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

    try:
        return asyncio.run(go())
    except Exception as exc:
        _database_failed(settings, exc)
        raise


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
