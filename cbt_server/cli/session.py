"""`cbt-server session create|list`: exam sessions (场次) and their rooms."""

from __future__ import annotations

from typing import Any

import click
from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server.cli.core import cli_actor, in_db, list_from_db, listing_command
from cbt_server.enrolment.sessions import (
    MAX_DURATION_MINUTES,
    MAX_SEATS,
    SessionSpec,
    create_session,
    list_sessions,
)
from cbt_server.exam.rules import MAX_RULE_MINUTES


@click.group("session")
def session_group() -> None:
    """Exam sessions (场次) and their rooms."""


@session_group.command("create")
@click.option("--code", required=True, help="Session code, e.g. 2026-DG3-01.")
@click.option("--blueprint", "blueprint_id", required=True, help="Blueprint id in the bank.")
@click.option("--room", "room_code", required=True, help="Room code; created if new.")
@click.option("--seats", type=click.IntRange(1, MAX_SEATS), help="Seats of a new room.")
@click.option("--room-name", default="", help="Display name of a new room.")
@click.option("--site", default="", help="Test site (考点) of a new room.")
@click.option(
    "--duration",
    "duration_minutes",
    type=click.IntRange(1, MAX_DURATION_MINUTES),
    help="Minutes (default: the blueprint's).",
)
@click.option("--title", default="", help="Title (default: the blueprint's).")
@click.option("--rows", type=click.IntRange(1, 50), help="Rows of seats in the room (seat plan).")
@click.option(
    "--cols",
    type=click.IntRange(1, 50),
    help="Seats per row; seat 1 is front left, numbered row by row. Without --rows/--cols "
    "the console derives a plan from the seat count.",
)
@click.option("--show-scores/--hide-scores", default=False, help="Show candidates their score.")
@click.option(
    "--scheduled-at",
    type=click.DateTime(["%Y-%m-%dT%H:%M%z", "%Y-%m-%dT%H:%M:%S%z"]),
    help="Planned start with offset, e.g. 2026-12-05T09:00+0800.",
)
@click.option(
    "--late-minutes",
    type=click.IntRange(0, MAX_RULE_MINUTES),
    help="Late admission: no first login later than this many minutes after the start "
    "(a proctor may still admit someone, with a reason). Default: no limit.",
)
@click.option(
    "--earliest-submit-minutes",
    "min_submit_minutes",
    type=click.IntRange(0, MAX_RULE_MINUTES),
    help="Earliest hand-in: candidates cannot submit before this many minutes after the "
    "start (auto-submit at the deadline always goes through). Default: any time.",
)
@click.option(
    "--calculator/--no-calculator",
    default=False,
    help="Offer a simple calculator on the exam page.",
)
@click.option(
    "--mode",
    type=click.Choice(["formal", "rehearsal"]),
    default="formal",
    show_default=True,
    help="formal (正式): the paper from a sealed package, results to the centre; "
    "rehearsal (试考): a paper from a bank file, marked 试考, results kept at the site.",
)
@click.pass_context
def create_command(ctx: click.Context, **fields: Any) -> None:
    """Create a scheduled session of BLUEPRINT in ROOM."""
    # The options are named as SessionSpec's fields.
    spec = SessionSpec(**fields)

    async def work(session: AsyncSession) -> str:
        exam = await create_session(session, spec, actor=cli_actor())
        return f"session {exam.code} created ({exam.duration_s // 60} minutes)"

    click.echo(in_db(ctx, work))


@listing_command(session_group)
def list_command(ctx: click.Context, as_json: bool) -> None:
    """List sessions with their room, candidates and state."""
    list_from_db(
        ctx,
        as_json,
        list_sessions,
        lambda r: (
            f"{r['code']}\t{r['state']}\t{r['room']} ({r['candidates']}/{r['seats']})\t"
            f"{r['duration_minutes']} min\t{r['title']}"
        ),
    )
