"""The `kurasi` command."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Annotated

import typer

from bot.config import ConfigError, Settings, load_settings
from bot.logs import setup_logging

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


def main() -> None:
    cli()
