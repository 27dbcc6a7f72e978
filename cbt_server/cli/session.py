"""`cbt-server session create|list`: exam sessions (场次) and their rooms."""

from __future__ import annotations

from typing import Any

import click
from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server.cli.core import cli_actor, in_db, list_from_db, listing_command
from cbt_server.enrolment.practice import renew_code
from cbt_server.enrolment.sessions import (
    MAX_DURATION_MINUTES,
    MAX_SEATS,
    SessionSpec,
    create_session,
    list_sessions,
)
from cbt_server.exam.practice import new_code
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
    type=click.Choice(["formal", "rehearsal", "practice"]),
    default="formal",
    show_default=True,
    help="formal (正式): the paper from a sealed package, results to the centre; "
    "rehearsal (试考): a paper from a bank file, marked 试考, results kept at the site; "
    "practice (练习): self-service practice on a bank file's paper, open at once, "
    "keys shown, results kept at the site.",
)
@click.option(
    "--feedback",
    type=click.Choice(["item", "end"]),
    help="Practice: show right/wrong and the key after each item the candidate checks "
    "(item; the item is then locked) or after handing in (end, the default).",
)
@click.option(
    "--untimed",
    is_flag=True,
    default=False,
    help="Practice: no countdown and no deadline (instead of --duration).",
)
@click.option(
    "--practice-code",
    help="Practice: the code candidates log in with (6-32 letters or digits); default: "
    "a new random one, printed once (only its hash is stored).",
)
@click.option(
    "--no-practice-code",
    is_flag=True,
    default=False,
    help="Practice: no code; only rostered candidates (ticket + ID number) log in.",
)
@click.pass_context
def create_command(ctx: click.Context, **fields: Any) -> None:
    """Create a scheduled session of BLUEPRINT in ROOM."""
    # The options are named as SessionSpec's fields.
    no_code = fields.pop("no_practice_code")
    if fields["mode"] == "practice" and not no_code and fields["practice_code"] is None:
        fields["practice_code"] = new_code()
    spec = SessionSpec(**fields)

    async def work(session: AsyncSession) -> str:
        exam = await create_session(session, spec, actor=cli_actor())
        if exam.mode != "practice":
            return f"session {exam.code} created ({exam.duration_s // 60} minutes)"
        timing = "untimed" if exam.untimed else f"{exam.duration_s // 60} minutes"
        code = f"; practice code 练习码: {spec.practice_code}" if spec.practice_code else ""
        return (
            f"practice session {exam.code} created and open ({timing}, feedback "
            f"{exam.feedback}){code}"
        )

    click.echo(in_db(ctx, work))


@session_group.command("practice-code")
@click.argument("session_code")
@click.option(
    "--practice-code",
    help="The new code (6-32 letters or digits); default: a new random one. Printed once.",
)
@click.pass_context
def practice_code_command(ctx: click.Context, session_code: str, practice_code: str | None) -> None:
    """Give practice session SESSION_CODE a new practice code; the old one stops working."""
    code = practice_code or new_code()

    async def work(session: AsyncSession) -> str:
        exam = await renew_code(session, session_code, code, actor=cli_actor())
        return f"practice session {exam.code}: new practice code 练习码: {code}"

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
