"""`cbt-server centre examiner …`: the examiner and supervisor registers, cross-assigned."""

from __future__ import annotations

from datetime import datetime

import click
from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server.centre import examiners
from cbt_server.cli.core import cli_actor, in_db


@click.group("examiner")
def examiner_group() -> None:
    """Examiners (考评员) and quality supervisors (质量督导员), assigned across sites."""


@examiner_group.command("add")
@click.option("--code", required=True, help="The person's register number.")
@click.option("--name", required=True, help="Name.")
@click.option("--role", type=click.Choice(examiners.ROLES), default="examiner", show_default=True)
@click.option("--home-site", help="The site the person belongs to (never assigned there).")
@click.pass_context
def examiner_add(
    ctx: click.Context, code: str, name: str, role: str, home_site: str | None
) -> None:
    """Add a person to the register."""

    async def work(db: AsyncSession) -> None:
        await examiners.add_examiner(db, code, name, role, home_site, actor=cli_actor())

    in_db(ctx, work)
    click.echo(f"{role} {code!r} added")


@examiner_group.command("assign")
@click.option("--code", required=True, help="The person.")
@click.option("--site", required=True, help="The site whose session it is.")
@click.option("--session", required=True, help="The session code (场次).")
@click.option("--date", "exam_date", required=True, type=click.DateTime(["%Y-%m-%d"]))
@click.option("--leader", is_flag=True, help="As examiner leader (考评组长).")
@click.pass_context
def examiner_assign(
    ctx: click.Context, code: str, site: str, session: str, exam_date: datetime, leader: bool
) -> None:
    """Assign a person to a site's session; refused for their own site (交叉委派), after
    two failed duty checks, or when they are elsewhere that day."""
    day = exam_date.date()

    async def work(db: AsyncSession) -> None:
        await examiners.assign(db, code, site, session, day, leader=leader, actor=cli_actor())

    in_db(ctx, work)
    click.echo(f"{code} assigned to {site} {session} on {day}")


@examiner_group.command("failed-check")
@click.option("--code", required=True, help="The person.")
@click.option("--reason", required=True, help="What the duty check found.")
@click.pass_context
def examiner_failed_check(ctx: click.Context, code: str, reason: str) -> None:
    """Record a failed duty check (at two the person is dismissed)."""

    async def work(db: AsyncSession) -> int:
        return await examiners.record_failed_check(db, code, reason, actor=cli_actor())

    count = in_db(ctx, work)
    dismissed = " — dismissed" if count >= examiners.DISMISSED_AFTER else ""
    click.echo(f"{code}: {count} failed duty check(s){dismissed}")
