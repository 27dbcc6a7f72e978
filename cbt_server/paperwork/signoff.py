"""The examiner leader's sign-off of the score summary: the moment results become final.

Signing records who and when on the session, sets `final=True` on every result of the
session, and writes an audit entry carrying a digest of the scores signed, so the
figures the leader saw can be checked against the results later.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server import audit
from cbt_server.auth.policy import Action
from cbt_server.auth.principal import Principal
from cbt_server.auth.session_only import retire_after
from cbt_server.db.models import Candidate, ExamSession, Result
from cbt_server.errors import Conflict
from cbt_server.exam.modes import mode_label, publishes

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


STATE_NAMES = {
    "registered": "未登录",
    "checked_in": "已签到未开考",
    "answering": "答题中",
    "paused": "暂停中",
    "submitted": "已交卷待评分",
}


def unfinished_message(code: str, waiting: Sequence[tuple[int, str, str, str]]) -> str:
    """The refusal to sign while candidates are unfinished, in Chinese first, naming them
    (the first 20; a room of 40 no-shows should be ended, not listed)."""
    named = [
        f"{seat} 号 {name}（{ticket}，{STATE_NAMES.get(state, state)}）"
        for seat, name, ticket, state in waiting[:20]
    ]
    more = f" 等 {len(waiting)} 人" if len(waiting) > 20 else ""
    return (
        f"不能签字：{code} 尚有 {len(waiting)} 名考生未完成或未评分：{'、'.join(named)}{more}。"
        "请先在监考台“结束考试”（未登录者记为缺考），评分完成后再签字。"
        f" ({len(waiting)} candidate(s) of {code} have not finished or are not graded yet)"
    )


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
    if not publishes(locked.mode):
        raise Conflict(
            f"{exam.code} 是{mode_label(locked.mode)}场次：成绩不签字、不上报 "
            f"(a {locked.mode} session's results are neither signed nor sent to the centre)",
            code="not_formal",
        )
    if locked.signed_at is not None:
        raise Conflict(
            f"成绩汇总表已由 {locked.signed_by} 于 {locked.signed_at.isoformat()} 签字，不能再签 "
            f"(the score summary of {exam.code} was signed already by {locked.signed_by} "
            f"at {locked.signed_at.isoformat()})",
            code="already_signed",
        )
    waiting = (
        await db.execute(
            select(Candidate.seat, Candidate.name, Candidate.ticket, Candidate.state)
            .where(Candidate.session_id == exam.id, Candidate.state.not_in(DONE_STATES))
            .order_by(Candidate.seat)
        )
    ).all()
    if waiting:
        named = [(int(seat), str(name), str(ticket), str(st)) for seat, name, ticket, st in waiting]
        raise Conflict(unfinished_message(exam.code, named), code="not_finished")
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
    retired = await retire_after(db, exam.id, now)
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
            **({"accounts_disabled": retired} if retired else {}),
        },
        at=now,
    )
    return SignOff(exam.code, principal.username, now, len(signed_rows), digest)
