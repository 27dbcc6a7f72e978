"""The examiner leader's sign-off of the score summary: the moment results become final.

Signing records who and when on the session, sets `final=True` on every result of the
session, and writes an audit entry carrying a digest of the scores signed, so the
figures the leader saw can be checked against the results later.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server import audit
from cbt_server.auth.policy import Action
from cbt_server.auth.principal import Principal
from cbt_server.db.models import Candidate, ExamSession, Result
from cbt_server.errors import Conflict

DONE_STATES = frozenset({"graded", "absent"})


@dataclass(frozen=True, slots=True)
class SignOff:
    session_code: str
    signed_by: str
    signed_at: datetime
    results: int
    digest: str


def results_digest(rows: list[tuple[str, float, float, bool]]) -> str:
    """SHA-256 over (ticket, score, max_score, passed) of every result, ticket order."""
    text = json.dumps(sorted(rows), ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


async def sign_summary(
    db: AsyncSession, exam: ExamSession, principal: Principal, now: datetime
) -> SignOff:
    """Sign the summary of `exam` (the caller has checked SIGN_SUMMARY for `principal`).

    Refused while a candidate has not finished (not graded and not absent), and when the
    summary is signed already. Runs in the caller's transaction.
    """
    locked = await db.scalar(select(ExamSession).where(ExamSession.id == exam.id).with_for_update())
    if locked is None:  # pragma: no cover - the caller just loaded it
        raise Conflict(f"session {exam.code!r} disappeared")
    if locked.signed_at is not None:
        raise Conflict(
            f"the score summary of {exam.code} was signed already by {locked.signed_by} "
            f"at {locked.signed_at.isoformat()}",
            code="already_signed",
        )
    states = list(await db.scalars(select(Candidate.state).where(Candidate.session_id == exam.id)))
    unfinished = sum(1 for state in states if state not in DONE_STATES)
    if unfinished:
        raise Conflict(
            f"{unfinished} candidate(s) of {exam.code} have not finished or are not graded "
            "yet; sign after every candidate is graded or marked absent",
            code="not_finished",
        )
    rows = (
        await db.execute(
            select(Candidate.ticket, Result.score, Result.max_score, Result.passed)
            .join(Result, Result.candidate_id == Candidate.id)
            .where(Result.session_id == exam.id)
        )
    ).all()
    signed_rows = [(t, float(s), float(m), bool(p)) for t, s, m, p in rows]
    digest = results_digest(signed_rows)
    locked.signed_by = principal.username
    locked.signed_at = now
    # Set on loaded objects (not a bulk UPDATE) so that result signing sees each change.
    for result in await db.scalars(select(Result).where(Result.session_id == exam.id)):
        result.final = True
    await db.flush()
    await audit.record(
        db,
        principal.username,
        principal.role.value,
        Action.SIGN_SUMMARY.value,
        audit.session_target(exam.code),
        "",
        {
            "results": len(signed_rows),
            "passed": sum(1 for row in signed_rows if row[3]),
            "digest": digest,
        },
        at=now,
    )
    return SignOff(exam.code, principal.username, now, len(signed_rows), digest)
