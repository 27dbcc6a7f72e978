"""Assigning proctors and supervisors to sessions (the city centre cross-assigns examiners;
the lab administrator enters the assignments)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server import audit
from cbt_server.auth.policy import Role
from cbt_server.db.models import Assignment, ExamSession, User
from cbt_server.errors import Conflict, InvalidInput, NotFound


@dataclass(frozen=True, slots=True)
class AssignmentView:
    username: str
    display_name: str
    role: str
    session_code: str
    leader: bool


async def assign(
    db: AsyncSession,
    username: str,
    session_code: str,
    *,
    leader: bool = False,
    actor: str = "cli",
    actor_role: str = "",
) -> AssignmentView:
    """Assign a proctor or supervisor to a session; assigning again updates `leader`.

    Only a proctor can be the examiner leader (考评组长), and a session has one leader.
    """
    user = await db.scalar(select(User).where(User.username == username.strip()))
    if user is None:
        raise NotFound(f"no user {username!r}")
    exam = await db.scalar(select(ExamSession).where(ExamSession.code == session_code.strip()))
    if exam is None:
        raise NotFound(f"no exam session with code {session_code!r}")
    if user.role == Role.LAB_ADMIN:
        raise InvalidInput(
            f"{user.username!r} is a lab_admin: lab administrators see every session and "
            "are not assigned"
        )
    if leader and user.role != Role.PROCTOR:
        raise InvalidInput(
            f"only a proctor can be the examiner leader; {username!r} is a {user.role}"
        )
    if leader:
        other = await db.scalar(
            select(User.username)
            .join(Assignment, Assignment.user_id == User.id)
            .where(
                Assignment.session_id == exam.id,
                Assignment.leader.is_(True),
                Assignment.user_id != user.id,
            )
        )
        if other is not None:
            raise Conflict(
                f"{other!r} is the examiner leader of {exam.code} already; assign them "
                "again without --leader first"
            )
    row = await db.get(Assignment, (user.id, exam.id))
    if row is None:
        db.add(Assignment(user_id=user.id, session_id=exam.id, leader=leader))
    else:
        row.leader = leader
    await db.flush()
    await audit.record(
        db,
        actor,
        actor_role,
        "user.assign",
        audit.session_target(exam.code),
        "",
        {"username": user.username, "role": user.role, "leader": leader},
    )
    return AssignmentView(user.username, user.display_name, user.role, exam.code, leader)


async def list_assignments(db: AsyncSession) -> list[AssignmentView]:
    rows = await db.execute(
        select(User, ExamSession.code, Assignment.leader)
        .join(Assignment, Assignment.user_id == User.id)
        .join(ExamSession, ExamSession.id == Assignment.session_id)
        .order_by(ExamSession.code, Assignment.leader.desc(), User.username)
    )
    return [
        AssignmentView(u.username, u.display_name, u.role, code, bool(leader))
        for u, code, leader in rows
    ]
