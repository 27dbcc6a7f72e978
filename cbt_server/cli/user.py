"""`cbt-server user add|assign|unlock|list`: staff accounts and their session assignments."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server.accounts import ROLES
from cbt_server.cli.core import CliError, in_db, list_from_db, listing_command, pick


@click.group("user")
def user_group() -> None:
    """Staff accounts: lab administrators, proctors/examiners, quality supervisors."""


def _read_password(password_file: str | None) -> str:
    if password_file is None:
        value: str = click.prompt(
            "Password (at least 10 characters)", hide_input=True, confirmation_prompt=True
        )
        return value
    try:
        text = Path(password_file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise CliError(f"cannot read password file {password_file}: {error}") from None
    lines = text.splitlines()
    if not lines or not lines[0]:
        raise CliError(f"password file {password_file} is empty (the first line is the password)")
    return lines[0]


@user_group.command("add")
@click.option("--username", required=True, help="Login name (1 to 64 characters).")
@click.option("--role", required=True, type=click.Choice(ROLES), help="What the user may do.")
@click.option("--display-name", default="", help="Name shown on pages and signature lines.")
@click.option(
    "--password-file",
    type=click.Path(dir_okay=False),
    help="Read the password from the first line of this file instead of prompting.",
)
@click.pass_context
def user_add(
    ctx: click.Context, username: str, role: str, display_name: str, password_file: str | None
) -> None:
    """Create a staff account (the password is stored as an argon2 hash)."""
    from cbt_server import audit
    from cbt_server.accounts import create_user

    password = _read_password(password_file)

    async def work(session: AsyncSession) -> str:
        user = await create_user(session, username, password, role, display_name)
        await audit.record(
            session, "cli", "", "user.create", f"user:{user.username}", "", {"role": role}
        )
        return user.username

    created = in_db(ctx, work)
    click.echo(f"user {created!r} created with role {role}")


@user_group.command("assign")
@click.option("--username", required=True, help="A proctor or supervisor.")
@click.option("--session", "session_code", required=True, help="Exam session code.")
@click.option(
    "--leader/--no-leader",
    default=False,
    help="Make this proctor the examiner leader (考评组长) who signs the score summary. "
    "Assigning again without --leader removes the leadership.",
)
@click.pass_context
def user_assign(ctx: click.Context, username: str, session_code: str, leader: bool) -> None:
    """Assign a proctor or supervisor to an exam session."""
    from cbt_server.auth.assignments import assign

    view = in_db(ctx, lambda session: assign(session, username, session_code, leader=leader))
    what = "examiner leader of" if view.leader else "assigned to"
    click.echo(f"{view.username} ({view.role}) {what} {view.session_code}")


@user_group.command("unlock")
@click.option("--username", required=True)
@click.pass_context
def user_unlock(ctx: click.Context, username: str) -> None:
    """Lift every lock of an account after failed logins (from each address and
    account-wide) and forget its failure counts; takes effect at once on a running
    server."""
    from cbt_server.accounts import unlock_user

    in_db(ctx, lambda session: unlock_user(session, username))
    click.echo(f"user {username!r} unlocked")


@listing_command(user_group)
def user_list(ctx: click.Context, as_json: bool) -> None:
    """List staff accounts and their session assignments."""
    from cbt_server.accounts import address_locks, list_users
    from cbt_server.auth.assignments import list_assignments
    from cbt_server.auth.lockout import is_locked
    from cbt_server.db.types import utcnow

    async def rows(session: AsyncSession) -> list[dict[str, Any]]:
        now = utcnow()
        locks = await address_locks(session, now)
        duties: dict[str, list[str]] = {}
        for view in await list_assignments(session):
            duties.setdefault(view.username, []).append(
                f"{view.session_code}{' (leader)' if view.leader else ''}"
            )
        return [
            {
                **pick(u, "username", "display_name", "role", "disabled"),
                # locked everywhere until (null when not, or no longer, locked)
                "locked_until": u.locked_until.isoformat()
                if u.locked_until and is_locked(u.locked_until, now)
                else None,
                "locked_from": locks.get(u.id, []),  # addresses it is locked from
                "sessions": duties.get(u.username, []),
            }
            for u in await list_users(session)
        ]

    def line(row: dict[str, Any]) -> str:
        sessions = ", ".join(row["sessions"]) or "-"
        flags = " locked" if row["locked_until"] else ""
        flags += f" locked from {' '.join(row['locked_from'])}" if row["locked_from"] else ""
        flags += " disabled" if row["disabled"] else ""
        return f"{row['username']}\t{row['role']}\t{row['display_name']}\t{sessions}{flags}"

    list_from_db(ctx, as_json, rows, line)
