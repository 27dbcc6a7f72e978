"""Which of a ticket's registrations a login means (pure).

A ticket (准考证号) is unique within a session, not across them: the same person sits the
rehearsal (试考) and then the formal session of a room with one ticket, so a login by
ticket + ID-card number may match several candidate rows. `pick_login_row` chooses one;
the login then goes on with it, and its usual refusals (a later sitting, a paper handed
in, a session not open yet) speak for that row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from cbt_server.exam.state import FINISHED, CandidateState, SessionState, session_accepts_login


@dataclass(frozen=True, slots=True)
class TicketRow:
    """One registration of the ticket: the candidate row, its state, its session's state
    and time (scheduled, else started), and whether the login's resume token is its own."""

    candidate_id: int
    candidate: CandidateState
    session: SessionState
    moment: datetime | None
    resumes: bool = False


_FAR = datetime.max.replace(tzinfo=UTC)


def _earliest(rows: Sequence[TicketRow]) -> TicketRow:
    return min(rows, key=lambda r: (not r.resumes, r.moment or _FAR, r.candidate_id))


def pick_login_row(rows: Sequence[TicketRow]) -> TicketRow:
    """The registration a login means, in this order:

    1. one still to be done in a session open now (check-in or started), the one its
       resume token belongs to first, then the earliest;
    2. the one its resume token belongs to (a PC reconnecting, say to the confirmation
       of a handed-in paper);
    3. the next one still to come (not open yet): the login is told when that sitting
       is, or that it is not open yet;
    4. a finished one in an open session (told the paper is handed in);
    5. the latest of the others.
    """
    if not rows:
        raise ValueError("no registration to choose from")
    open_rows = [r for r in rows if session_accepts_login(r.session)]
    to_do = [r for r in open_rows if r.candidate not in FINISHED]
    if to_do:
        return _earliest(to_do)
    resumed = [r for r in rows if r.resumes]
    if resumed:
        return resumed[0]
    coming = [
        r
        for r in rows
        if r.session is SessionState.SCHEDULED and r.candidate is CandidateState.REGISTERED
    ]
    if coming:
        return _earliest(coming)
    if open_rows:
        return _earliest(open_rows)
    return max(rows, key=lambda r: (r.moment or _FAR, r.candidate_id))
