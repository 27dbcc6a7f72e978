"""`cbt blueprint import|list`: blueprints (组卷方案) into this server without a package.

Sealed packages (`cbt package import`) carry blueprints with their items; this is for a
centre that issues items and blueprints as separate plain files.
"""

from __future__ import annotations

import json
from pathlib import Path

import click
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server.db import models
from cbt_server.item_store import store_blueprint
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
    from cbt_server.cli import CliError, run_in_db, settings_from

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

    run_in_db(settings_from(ctx), work)
    for blueprint in loaded:
        click.echo(f"blueprint {blueprint.id}: {blueprint.item_count} items")


@blueprint_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def list_command(ctx: click.Context, as_json: bool) -> None:
    """List stored blueprints."""
    from cbt_server.cli import run_in_db, settings_from

    async def work(session: AsyncSession) -> list[dict[str, object]]:
        rows = await session.scalars(select(models.Blueprint).order_by(models.Blueprint.id))
        return [
            {"id": r.id, "title": r.title, "occupation": r.occupation, "level": r.level}
            for r in rows
        ]

    rows = run_in_db(settings_from(ctx), work)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False))
        return
    for row in rows:
        click.echo(f"{row['id']}\t{row['occupation']}\t{row['level']}\t{row['title']}")
