"""The `cbt` command: one entry point with sub-commands for every role's chores.

User errors (bad arguments, bad files, a refused action) print a one-line message and
exit non-zero; tracebacks are for bugs only.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click
from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server.errors import DomainError
from cbt_server.settings import Settings, SettingsError, load_settings
from item_bank.model import Item

T = TypeVar("T")


class CliError(click.ClickException):
    """A user-facing failure: message printed as 'error: ...', exit code 1."""

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


def settings_from(ctx: click.Context) -> Settings:
    settings = ctx.find_object(Settings)
    if settings is None:  # pragma: no cover - the group callback always sets it
        raise CliError("settings not loaded")
    return settings


def run_in_db(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` in one transaction on a migrated database; domain errors become CliError."""
    from cbt_server.db.engine import make_engine, make_sessionmaker
    from cbt_server.db.migrate import upgrade

    async def go() -> T:
        engine = make_engine(
            settings.effective_database_url, sqlite_synchronous=settings.sqlite_synchronous
        )
        try:
            await upgrade(engine)
            async with make_sessionmaker(engine).begin() as session:
                return await work(session)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(go())
    except DomainError as error:
        raise CliError(error.message) from None
    except OSError as error:
        raise CliError(f"database unreachable: {error}") from None


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
    from item_bank.cli import install_store_hook

    install_store_hook(ctx, lambda items: store_in_server(ctx.obj, items))


def store_in_server(settings: Settings, items: list[Item]) -> None:
    """`cbt item-bank import` stores into this server's database: all items or none."""
    from cbt_server.content_crypto import ContentCipher
    from cbt_server.item_store import store_items

    cipher = ContentCipher.from_data_dir(settings.data_path)

    async def work(session: AsyncSession) -> None:
        await store_items(session, cipher, items)

    run_in_db(settings, work)


@cli.command()
@click.option("--host", envvar="CBT_HOST", help="Listen address [127.0.0.1].")
@click.option("--port", envvar="CBT_PORT", type=click.IntRange(0, 65535), help="Port [8080].")
@click.option("--workers", type=click.IntRange(1, 64), help="Processes (PostgreSQL only).")
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None, workers: int | None) -> None:
    """Run the exam server."""
    from cbt_server.serve import run_server

    try:
        settings = settings_from(ctx).replace(
            **{k: v for k, v in {"host": host, "port": port, "workers": workers}.items() if v}
        )
        if settings.workers > 1 and settings.is_sqlite:
            raise SettingsError("--workers > 1 needs PostgreSQL (set CBT_DATABASE_URL)")
    except SettingsError as error:
        raise CliError(str(error)) from None
    run_server(settings)


@cli.command()
@click.option("--host", envvar="CBT_HOST", help="Listen address [127.0.0.1].")
@click.option("--port", envvar="CBT_PORT", type=click.IntRange(0, 65535), help="Port [8080].")
@click.option("--reset", is_flag=True, help="Delete the demo database first.")
@click.option("--no-serve", is_flag=True, help="Prepare the demo data and exit.")
@click.pass_context
def demo(
    ctx: click.Context, host: str | None, port: int | None, reset: bool, no_serve: bool
) -> None:
    """Load the demo exam (session DEMO-01, 30 candidates) and run the server."""
    from cbt_server.demo import prepare_demo
    from cbt_server.serve import run_server

    settings = settings_from(ctx).replace(
        **{k: v for k, v in {"host": host, "port": port}.items() if v}
    )
    try:
        credentials_path = prepare_demo(settings, reset=reset)
    except DomainError as error:
        raise CliError(error.message) from None
    click.echo(f"demo credentials written to {credentials_path}")
    if not no_serve:
        run_server(settings)


@cli.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    """Apply all migrations."""
    from cbt_server.db.migrate import head_revision

    async def noop(_: AsyncSession) -> None:
        return None

    run_in_db(settings_from(ctx), noop)
    click.echo(f"database at revision {head_revision()}")


@cli.group()
def token() -> None:
    """API tokens for the city centre and lab agents."""


@token.command("create")
@click.option("--name", required=True, help="Who the token is for, e.g. city-centre.")
@click.option("--scope", required=True, type=click.Choice(["results:read", "lab:report"]))
@click.pass_context
def token_create(ctx: click.Context, name: str, scope: str) -> None:
    """Create a token; its secret is printed once and never stored."""
    from cbt_server.tokens import create_token

    async def work(session: AsyncSession) -> str:
        return (await create_token(session, name, scope)).secret

    click.echo(run_in_db(settings_from(ctx), work))


@token.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def token_list(ctx: click.Context, as_json: bool) -> None:
    """List tokens (never their secrets)."""
    from cbt_server.tokens import list_tokens

    async def work(session: AsyncSession) -> list[dict[str, Any]]:
        return [
            {
                "name": t.name,
                "scope": t.scope,
                "created_at": t.created_at.isoformat(),
                "last_used_at": t.last_used_at.isoformat() if t.last_used_at else None,
                "revoked": t.revoked_at is not None,
            }
            for t in await list_tokens(session)
        ]

    rows = run_in_db(settings_from(ctx), work)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False))
        return
    for row in rows:
        state = "revoked" if row["revoked"] else "active"
        click.echo(f"{row['name']}\t{row['scope']}\t{state}\tcreated {row['created_at']}")


@token.command("revoke")
@click.argument("name")
@click.pass_context
def token_revoke(ctx: click.Context, name: str) -> None:
    """Revoke the token called NAME."""
    from cbt_server.tokens import revoke_token

    async def work(session: AsyncSession) -> None:
        await revoke_token(session, name)

    run_in_db(settings_from(ctx), work)
    click.echo(f"token {name!r} revoked")


def _mount_subgroups() -> None:
    """Attach the sub-command groups that live next to the code they drive."""
    from cbt_server.auth.cli import audit_group, user_group
    from cbt_server.blueprint_cli import blueprint_group
    from cbt_server.centre.cli import centre_group
    from cbt_server.package_cli import package_group
    from cbt_server.roster import roster_group
    from cbt_server.session_admin import session_group
    from item_bank.cli import item_bank_group

    for group in (
        item_bank_group,
        package_group,
        blueprint_group,
        session_group,
        roster_group,
        user_group,
        audit_group,
        centre_group,
    ):
        cli.add_command(group)


def main(argv: list[str] | None = None) -> int:
    """Console entry point: run the CLI, turning user errors into messages and exit codes."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    _mount_subgroups()
    try:
        outcome = cli.main(args=argv, prog_name="cbt", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 130
    except click.ClickException as error:
        error.show()
        return error.exit_code
    except click.exceptions.Exit as done:
        return done.exit_code
    return outcome if isinstance(outcome, int) else 0


if __name__ == "__main__":
    sys.exit(main())
