"""`cbt-server token create|list|revoke`: API tokens for the city centre and lab agents."""

from __future__ import annotations

from typing import Any

import click
from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server.cli.core import in_db, list_from_db, listing_command, pick
from cbt_server.tokens import SCOPES


@click.group("token")
def token_group() -> None:
    """API tokens for the city centre and lab agents."""


@token_group.command("create")
@click.option("--name", required=True, help="Who the token is for, e.g. city-centre.")
@click.option("--scope", required=True, type=click.Choice(SCOPES))
@click.pass_context
def token_create(ctx: click.Context, name: str, scope: str) -> None:
    """Create a token; its secret is printed once and never stored."""
    from cbt_server.tokens import create_token

    async def work(session: AsyncSession) -> str:
        return (await create_token(session, name, scope)).secret

    click.echo(in_db(ctx, work))


@listing_command(token_group)
def token_list(ctx: click.Context, as_json: bool) -> None:
    """List tokens (never their secrets)."""
    from cbt_server.tokens import list_tokens

    async def rows(session: AsyncSession) -> list[dict[str, Any]]:
        return [
            {
                **pick(t, "name", "scope"),
                "created_at": t.created_at.isoformat(),
                "last_used_at": t.last_used_at.isoformat() if t.last_used_at else None,
                "revoked": t.revoked_at is not None,
            }
            for t in await list_tokens(session)
        ]

    def line(row: dict[str, Any]) -> str:
        state = "revoked" if row["revoked"] else "active"
        return f"{row['name']}\t{row['scope']}\t{state}\tcreated {row['created_at']}"

    list_from_db(ctx, as_json, rows, line)


@token_group.command("revoke")
@click.argument("name")
@click.pass_context
def token_revoke(ctx: click.Context, name: str) -> None:
    """Revoke the token called NAME."""
    from cbt_server.tokens import revoke_token

    in_db(ctx, lambda session: revoke_token(session, name))
    click.echo(f"token {name!r} revoked")
