"""Session-only staff accounts: the examiners and supervisors a centre assigns.

`centre assignments pull` makes each person an account marked `session_only`, assigned
to their session(s). Like every proctor and supervisor account it acts only on the
sessions it is assigned to (`auth.policy`); in addition, once every session it is
assigned to has its score summary signed, the account is disabled and its signed-in
browsers are signed out, so it does not outlive its duty. A later pull that assigns the
same person again enables it again.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server.auth.sessions import revoke_all
from cbt_server.db.models import Assignment, ExamSession, User


async def retire_after(db: AsyncSession, session_id: int, now: datetime) -> list[str]:
    """Disable the session-only accounts assigned to `session_id` whose every assigned
    session is signed (call after signing it, in the same transaction); their usernames."""
    users = await db.scalars(
        select(User)
        .join(Assignment, Assignment.user_id == User.id)
        .where(
            Assignment.session_id == session_id,
            User.session_only.is_(True),
            User.disabled.is_(False),
        )
    )
    retired: list[str] = []
    for user in list(users):
        open_ones = await db.scalar(
            select(ExamSession.id)
            .join(Assignment, Assignment.session_id == ExamSession.id)
            .where(Assignment.user_id == user.id, ExamSession.signed_at.is_(None))
            .limit(1)
        )
        if open_ones is None:
            user.disabled = True
            await revoke_all(db, user.id, now)
            retired.append(user.username)
    await db.flush()
    return retired
