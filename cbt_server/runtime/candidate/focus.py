"""A candidate's exam window lost focus or left full screen: counted for the proctor's
seat card, and each time written to the audit log, from which the room record lists it.

Never a refusal the candidate sees: a report from a connection that no longer holds the
candidate, or after they finished, is dropped."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server import audit
from cbt_server.exam import state as lifecycle
from cbt_server.exam.state import CandidateState
from cbt_server.lab.pcs import lab_row
from cbt_server.protocol import candidate as msg
from cbt_server.runtime.candidate.rows import CANDIDATE_ROLE, actor, exam_of, lock_candidate
from cbt_server.runtime.events import Event, Kind

AUDIT_ACTIONS = {"blur": "candidate.focus_lost", "fullscreen_exit": "candidate.fullscreen_exit"}


@dataclass(frozen=True, slots=True)
class FocusReport:
    candidate_id: int
    conn_id: str
    message: msg.Focus


async def record(
    session: AsyncSession, report: FocusReport, now: datetime, events: list[Event]
) -> bool:
    """Count the report; False when it was dropped (not the candidate's login any more,
    or their exam is over)."""
    candidate = await lock_candidate(session, report.candidate_id)
    if candidate.connection_id != report.conn_id:
        return False
    if CandidateState(candidate.state) in lifecycle.FINISHED:
        return False
    exam = await exam_of(session, candidate)
    row = await lab_row(session, candidate.id)
    if report.message.event == "blur":
        row.focus_lost = (row.focus_lost or 0) + 1
    else:
        row.fullscreen_exits = (row.fullscreen_exits or 0) + 1
    row.last_focus_event_at = now
    client_at = report.message.at.isoformat() if report.message.at else None
    await audit.record(
        session,
        actor(candidate),
        CANDIDATE_ROLE,
        AUDIT_ACTIONS[report.message.event],
        audit.candidate_target(exam.code, candidate.ticket),
        data={"client_at": client_at, "seat": candidate.seat},
        at=now,
    )
    events.append(Event(Kind.CANDIDATE_FOCUS, exam.id, candidate.id))
    return True
