"""The core of the `cbt-server` command: the root group and what every command group shares.

The group modules (cbt_server.cli.db, .user, .roster, ...) import this module and
nothing of each other; cbt_server.cli.main mounts them on the root group. User errors
(bad arguments, bad files, a refused action) print a one-line message and exit non-zero;
tracebacks are for bugs only.
"""

from __future__ import annotations

import asyncio
import getpass
import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import click
from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server.errors import DomainError
from cbt_server.settings import Settings, SettingsError, load_settings
from item_bank.cli import install_store_hook
from item_bank.clierror import CliError
from item_bank.model import Item

__all__ = [
    "CliError",
    "cli",
    "cli_actor",
    "in_db",
    "json_option",
    "list_from_db",
    "listing_command",
    "pick",
    "print_json",
    "print_listing",
    "run_in_db",
    "settings_from",
]

T = TypeVar("T")
Row = dict[str, Any]


def settings_from(ctx: click.Context) -> Settings:
    settings = ctx.find_object(Settings)
    if settings is None:  # pragma: no cover - the group callback always sets it
        raise CliError("settings not loaded")
    return settings


def run_in_db(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` in one transaction on a migrated database; domain errors become CliError."""
    from cbt_server.db.migrate import migrated

    async def go() -> T:
        async with migrated(settings) as sessionmaker, sessionmaker.begin() as session:
            return await work(session)

    try:
        return asyncio.run(go())
    except DomainError as error:
        raise CliError(error.message) from None
    except OSError as error:
        raise CliError(f"database unreachable: {error}") from None


def in_db(ctx: click.Context, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """`run_in_db` on the database of this command's settings."""
    return run_in_db(settings_from(ctx), work)


def cli_actor() -> str:
    """Who runs this command, for the audit log: 'cli:' and the operating-system user."""
    try:
        return f"cli:{getpass.getuser()}"[:128]
    except (KeyError, OSError):
        return "cli"


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")
"""The `--json` flag of every listing command."""


def listing_command(group: click.Group) -> Callable[[Callable[..., None]], click.Command]:
    """Make the decorated function GROUP's `list` command, given the context and `--json`."""

    def make(function: Callable[..., None]) -> click.Command:
        return group.command("list")(json_option(click.pass_context(function)))

    return make


def print_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False))


def print_listing(rows: Sequence[Row], as_json: bool, line: Callable[[Row], str]) -> None:
    """A listing: one JSON array with `--json`, else one text line per row."""
    if as_json:
        print_json(rows)
        return
    for row in rows:
        click.echo(line(row))


def list_from_db(
    ctx: click.Context,
    as_json: bool,
    rows_of: Callable[[AsyncSession], Awaitable[Sequence[Row]]],
    line: Callable[[Row], str],
) -> None:
    """A listing command's whole work: read the rows in one transaction, print them."""
    print_listing(in_db(ctx, rows_of), as_json, line)


def pick(thing: object, *names: str) -> Row:
    """These attributes of `thing` as a listing row, in this order."""
    return {name: getattr(thing, name) for name in names}


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--data-dir", envvar="CBT_DATA_DIR", help="Folder for SQLite, keys, credentials.")
@click.option("--database-url", envvar="CBT_DATABASE_URL", help="SQLAlchemy database URL.")
@click.pass_context
def cli(ctx: click.Context, data_dir: str | None, database_url: str | None) -> None:
    """CBT server: computer-based theory exams for vocational skill assessment."""
    try:
        ctx.obj = load_settings(data_dir=data_dir, database_url=database_url)
    except SettingsError as error:
        raise CliError(str(error)) from None
    install_store_hook(ctx, lambda items: store_in_server(ctx.obj, items))


def store_in_server(settings: Settings, items: list[Item]) -> None:
    """`cbt-server item-bank import` stores into this server's database: all items or none."""
    from cbt_server.content_crypto import ContentCipher
    from cbt_server.item_store import store_items

    cipher = ContentCipher.from_data_dir(settings.data_path)

    async def work(session: AsyncSession) -> None:
        await store_items(session, cipher, items)

    run_in_db(settings, work)
