"""Which of a ticket's registrations a login means (exam/ticket_rows.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cbt_server.exam.state import CandidateState as C
from cbt_server.exam.state import SessionState as S
from cbt_server.exam.ticket_rows import TicketRow, pick_login_row

MORNING = datetime(2026, 12, 6, 1, 0, tzinfo=UTC)
NOON = datetime(2026, 12, 6, 4, 0, tzinfo=UTC)
AFTERNOON = datetime(2026, 12, 6, 6, 0, tzinfo=UTC)


def row(ident: int, cand: C, sess: S, moment: datetime | None, resumes: bool = False) -> TicketRow:
    return TicketRow(ident, cand, sess, moment, resumes)


def test_the_open_sitting_wins_over_a_finished_one() -> None:
    rehearsal = row(1, C.SUBMITTED, S.ENDED, MORNING, resumes=True)
    formal = row(2, C.REGISTERED, S.CHECKIN, NOON)
    assert pick_login_row([rehearsal, formal]) is formal
    assert pick_login_row([formal, rehearsal]) is formal


def test_two_open_sittings_the_resumed_then_the_earliest() -> None:
    early = row(1, C.ANSWERING, S.STARTED, MORNING)
    late = row(2, C.CHECKED_IN, S.CHECKIN, NOON, resumes=True)
    assert pick_login_row([early, late]) is late
    assert pick_login_row([early, row(2, C.REGISTERED, S.CHECKIN, NOON)]) is early


def test_a_handed_in_paper_and_a_later_sitting() -> None:
    done = row(1, C.SUBMITTED, S.STARTED, MORNING)
    later = row(2, C.REGISTERED, S.SCHEDULED, AFTERNOON)
    # Told when the later sitting is...
    assert pick_login_row([done, later]) is later
    # ...unless it is the PC holding the handed-in paper's token, which sees it again.
    resumed = row(1, C.SUBMITTED, S.STARTED, MORNING, resumes=True)
    assert pick_login_row([resumed, later]) is resumed
    # With nothing to come, a finished paper in an open session: "handed in".
    assert pick_login_row([done, row(3, C.GRADED, S.ENDED, NOON)]) is done


def test_the_next_sitting_to_come_and_the_latest_of_the_rest() -> None:
    noon = row(2, C.REGISTERED, S.SCHEDULED, NOON)
    evening = row(3, C.REGISTERED, S.SCHEDULED, AFTERNOON)
    assert pick_login_row([evening, noon]) is noon
    old = row(1, C.GRADED, S.ENDED, MORNING)
    newer = row(4, C.ABSENT, S.ENDED, NOON)
    assert pick_login_row([old, newer]) is newer
    assert pick_login_row([old]) is old
    with pytest.raises(ValueError):
        pick_login_row([])
