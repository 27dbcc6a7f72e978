"""`cbt-server db upgrade`: the database schema."""

from __future__ import annotations

import click
from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server.cli.core import in_db


@click.group("db")
def db_group() -> None:
    """Database schema."""


@db_group.command("upgrade")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    """Apply all migrations."""
    from cbt_server.db.migrate import head_revision

    async def noop(_: AsyncSession) -> None:
        return None

    in_db(ctx, noop)
    click.echo(f"database at revision {head_revision()}")
