"""`cbt user ...` (staff accounts and assignments) and `cbt audit verify`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server.accounts import ROLES
from cbt_server.cli import CliError, run_in_db, settings_from


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

    created = run_in_db(settings_from(ctx), work)
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

    async def work(session: AsyncSession) -> Any:
        return await assign(session, username, session_code, leader=leader)

    view = run_in_db(settings_from(ctx), work)
    what = "examiner leader of" if view.leader else "assigned to"
    click.echo(f"{view.username} ({view.role}) {what} {view.session_code}")


@user_group.command("unlock")
@click.option("--username", required=True)
@click.pass_context
def user_unlock(ctx: click.Context, username: str) -> None:
    """Lift a lockout after repeated failed logins."""
    from cbt_server import audit
    from cbt_server.db.models import User
    from cbt_server.errors import NotFound

    async def work(session: AsyncSession) -> None:
        user = await session.scalar(select(User).where(User.username == username))
        if user is None:
            raise NotFound(f"no user {username!r}")
        user.failed_logins, user.locked_until = 0, None
        await audit.record(session, "cli", "", "user.unlock", f"user:{user.username}")

    run_in_db(settings_from(ctx), work)
    click.echo(f"user {username!r} unlocked")


@user_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def user_list(ctx: click.Context, as_json: bool) -> None:
    """List staff accounts and their session assignments."""
    from cbt_server.auth.assignments import list_assignments
    from cbt_server.db.models import User

    async def work(session: AsyncSession) -> list[dict[str, Any]]:
        duties: dict[str, list[str]] = {}
        for view in await list_assignments(session):
            duties.setdefault(view.username, []).append(
                f"{view.session_code}{' (leader)' if view.leader else ''}"
            )
        users = await session.scalars(select(User).order_by(User.role, User.username))
        return [
            {
                "username": u.username,
                "display_name": u.display_name,
                "role": u.role,
                "disabled": u.disabled,
                "locked_until": u.locked_until.isoformat() if u.locked_until else None,
                "sessions": duties.get(u.username, []),
            }
            for u in users
        ]

    rows = run_in_db(settings_from(ctx), work)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False))
        return
    for row in rows:
        sessions = ", ".join(row["sessions"]) or "-"
        flags = " locked" if row["locked_until"] else ""
        flags += " disabled" if row["disabled"] else ""
        click.echo(f"{row['username']}\t{row['role']}\t{row['display_name']}\t{sessions}{flags}")


@click.group("audit")
def audit_group() -> None:
    """The tamper-evident audit log."""


@audit_group.command("verify")
@click.pass_context
def audit_verify(ctx: click.Context) -> None:
    """Check the hash chain of the whole log. Exit 0 when intact, 1 naming the first
    broken entry. Note the printed tail hash on paper: a later log must continue it."""
    from cbt_server.audit import ChainReport, verify_chain

    async def work(session: AsyncSession) -> ChainReport:
        return await verify_chain(session)

    report = run_in_db(settings_from(ctx), work)
    if not report.intact:
        raise CliError(
            f"audit log broken at entry {report.broken_id}: {report.problem} "
            f"({report.entries} entries before it are intact)"
        )
    click.echo(f"audit log intact: {report.entries} entries, tail {report.tail_hash}")
