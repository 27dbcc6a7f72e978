"""At a site: the examiners and supervisors the centre assigned, as staff accounts.

`cbt-server centre assignments pull` fetches `GET /centre/api/v1/assignments` with the
site's centre token and, in one transaction, makes each person a staff account (username:
their register code; a proctor for an examiner, a supervisor for a supervisor) assigned
to that one session, the examiner leader as leader. A site's proctors and supervisors
act only on the sessions they are assigned to (`auth.policy`), so the account serves
that session only; a created account is marked session-only and is disabled once its
sessions are signed off (`auth.session_only`), a new assignment enabling it again. A
new account gets a one-time password, shown once, which the site hands to the person;
an existing account of the same role is reused, its password kept. An assignment for
a session the site has not created yet waits for the next pull. A person whose username
is taken by another role, or a second examiner leader, refuses the whole pull: nothing
is applied.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server import audit
from cbt_server.accounts import create_user
from cbt_server.auth import assignments
from cbt_server.db.models import ExamSession, User
from cbt_server.errors import Conflict, InvalidInput

ROLES = ("proctor", "supervisor")


@dataclass(frozen=True, slots=True)
class Assigned:
    code: str
    name: str
    role: str
    session: str
    exam_date: str
    leader: bool


@dataclass(frozen=True, slots=True)
class Outcome:
    username: str
    session: str
    role: str
    leader: bool
    status: str  # created, reused, waiting (no such session here yet)
    password: str | None = None  # the one-time password of a created account


def parse_assignments(answer: Any) -> list[Assigned]:
    """The centre's answer, checked entry by entry (InvalidInput naming the entry)."""
    entries = answer.get("assignments") if isinstance(answer, dict) else None
    if not isinstance(entries, list):
        raise InvalidInput("the centre's answer has no list of assignments")
    out: list[Assigned] = []
    for n, raw in enumerate(entries, 1):
        if not isinstance(raw, dict):
            raise InvalidInput(f"assignment {n}: not an object")
        try:
            item = Assigned(
                str(raw["code"]),
                str(raw["name"]),
                str(raw["role"]),
                str(raw["session"]),
                str(raw["exam_date"]),
                raw["leader"],
            )
        except KeyError as exc:
            raise InvalidInput(f"assignment {n}: no {exc.args[0]}") from None
        if item.role not in ROLES or not isinstance(item.leader, bool):
            raise InvalidInput(f"assignment {n}: role {item.role!r} or leader is not valid")
        out.append(item)
    return out


async def apply_assignments(
    db: AsyncSession, wanted: list[Assigned], *, site: str, actor: str
) -> list[Outcome]:
    """Accounts and session assignments for `wanted`, in the caller's transaction."""
    outcomes: list[Outcome] = []
    sessions = set(await db.scalars(select(ExamSession.code)))
    for a in wanted:
        if a.session not in sessions:
            outcomes.append(Outcome(a.code, a.session, a.role, a.leader, "waiting"))
            continue
        user = await db.scalar(select(User).where(User.username == a.code))
        password: str | None = None
        if user is None:
            password = secrets.token_urlsafe(12)
            user = await create_user(db, a.code, password, a.role, a.name)
            user.session_only = True
        elif user.role != a.role:
            raise Conflict(
                f"{a.code}: the account {a.code!r} here is a {user.role}, the centre assigns "
                f"a {a.role}: nothing applied; rename or remove that account first"
            )
        elif user.session_only and user.disabled:
            user.disabled = False  # retired after its last session, assigned again
        await assignments.assign(
            db, a.code, a.session, leader=a.leader, actor=actor, actor_role="lab_admin"
        )
        status = "created" if password else "reused"
        outcomes.append(Outcome(a.code, a.session, a.role, a.leader, status, password))
    await audit.record(
        db,
        actor,
        "lab_admin",
        "centre.assignments.pull",
        f"centre-site:{site}",
        data={
            "created": [o.username for o in outcomes if o.status == "created"],
            "reused": [o.username for o in outcomes if o.status == "reused"],
            "waiting": [f"{o.username}@{o.session}" for o in outcomes if o.status == "waiting"],
        },
    )
    return outcomes
