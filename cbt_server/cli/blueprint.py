"""`cbt-server blueprint import|list`: blueprints (组卷方案) into this server without a package.

Sealed packages (`cbt-server package import`) carry blueprints with their items; this is for a
centre that issues items and blueprints as separate plain files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server.cli.core import CliError, in_db, list_from_db, listing_command, pick
from cbt_server.item_store import list_blueprints, store_blueprint
from item_bank.blueprint import BlueprintError, load_blueprint
from item_bank.model import Blueprint


@click.group("blueprint")
def blueprint_group() -> None:
    """Paper blueprints (组卷方案)."""


@blueprint_group.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
def import_command(ctx: click.Context, files: tuple[Path, ...]) -> None:
    """Check and store blueprint FILES (YAML or JSON); any bad file stores none."""
    loaded: list[Blueprint] = []
    problems: list[str] = []
    for path in files:
        try:
            loaded.append(load_blueprint(path))
        except BlueprintError as error:
            problems.append(str(error))
    if problems:
        raise CliError("nothing imported:\n" + "\n".join(problems))

    async def work(session: AsyncSession) -> None:
        for blueprint in loaded:
            await store_blueprint(session, blueprint)

    in_db(ctx, work)
    for blueprint in loaded:
        click.echo(f"blueprint {blueprint.id}: {blueprint.item_count} items")


@listing_command(blueprint_group)
def list_command(ctx: click.Context, as_json: bool) -> None:
    """List stored blueprints."""

    async def rows(session: AsyncSession) -> list[dict[str, Any]]:
        found = await list_blueprints(session)
        return [pick(r, "id", "title", "occupation", "level") for r in found]

    list_from_db(
        ctx,
        as_json,
        rows,
        lambda row: f"{row['id']}\t{row['occupation']}\t{row['level']}\t{row['title']}",
    )
