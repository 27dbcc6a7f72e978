"""The rules of a sitting (场次规则) as pure functions: late admission, earliest hand-in,
and what the waiting screen says about the paper.

- Late admission: no first login later than `late_minutes` after the session start,
  unless a proctor admitted the candidate (the reason goes to the room record).
- Earliest hand-in: a candidate's own submit is refused before `min_submit_minutes`
  after the start; a proctor's force-submit and the deadline's auto-submit always go
  through.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cbt_server.errors import InvalidInput, LaterSitting, SubmitTooEarly, TooLate
from cbt_server.exam.state import CandidateState, SubmitReason

MAX_RULE_MINUTES = 600
WARNING_MINUTES = (15, 5)
"""Minutes left at which a candidate's page warns (not missable: acknowledged by a click)."""


@dataclass(frozen=True, slots=True)
class SittingRules:
    late_minutes: int | None = None
    min_submit_minutes: int | None = None
    calculator: bool = False


def login_closes_at(started_at: datetime | None, rules: SittingRules) -> datetime | None:
    """When first logins stop being admitted (None: never, or not started yet)."""
    if started_at is None or rules.late_minutes is None:
        return None
    return started_at + timedelta(minutes=rules.late_minutes)


def check_sitting_open(
    session_open: bool, title: str, scheduled_at: datetime | None, now: datetime
) -> None:
    """Raise `LaterSitting` for a candidate whose sitting is scheduled later and not open
    yet (the afternoon's candidate in the morning): the message says when it is, in the
    server's local time (the site's)."""
    if session_open or scheduled_at is None or scheduled_at <= now:
        return
    local = scheduled_at.astimezone()
    raise LaterSitting(
        f"您的场次「{title}」安排在 {local.month} 月 {local.day} 日 {local:%H:%M} 开始，"
        f"请届时再来登录。 (your sitting starts at {local.isoformat(timespec='minutes')})"
    )


def check_late_login(
    candidate: CandidateState,
    started_at: datetime | None,
    now: datetime,
    rules: SittingRules,
    *,
    admitted: bool,
) -> None:
    """Raise `TooLate` for a first login after the late-admission limit (not for a
    candidate who logged in before, nor one a proctor admitted)."""
    closes = login_closes_at(started_at, rules)
    if candidate is not CandidateState.REGISTERED or admitted or closes is None:
        return
    if now > closes:
        raise TooLate(
            f"开考 {rules.late_minutes} 分钟后不能再入场；如有特殊情况请监考员准许 "
            f"(no login later than {rules.late_minutes} minutes after the start; "
            "a proctor may admit you)"
        )


def submit_opens_at(started_at: datetime | None, rules: SittingRules) -> datetime | None:
    """From when a candidate may hand in (None: any time once started)."""
    if started_at is None or not rules.min_submit_minutes:
        return None
    return started_at + timedelta(minutes=rules.min_submit_minutes)


def check_submit_time(
    reason: SubmitReason, started_at: datetime | None, now: datetime, rules: SittingRules
) -> None:
    """Raise `SubmitTooEarly` for a candidate's own submit before the earliest hand-in."""
    opens = submit_opens_at(started_at, rules)
    if reason is SubmitReason.CANDIDATE and opens is not None and now < opens:
        raise SubmitTooEarly(
            f"开考 {rules.min_submit_minutes} 分钟后才能交卷（{opens.isoformat()} 起） "
            f"(no hand-in before {rules.min_submit_minutes} minutes after the start)"
        )


def check_minutes(name: str, value: int | None) -> None:
    """A rule's minutes are 0..MAX_RULE_MINUTES (or unset)."""
    if value is not None and not 0 <= value <= MAX_RULE_MINUTES:
        raise InvalidInput(f"{name} must be 0..{MAX_RULE_MINUTES} minutes, not {value}")


@dataclass(frozen=True, slots=True)
class PaperSummary:
    """What the waiting screen says of the paper: items, total score, pass mark."""

    items: int
    total_score: float
    pass_mark: float


def paper_summary(spec: Mapping[str, Any]) -> PaperSummary | None:
    """The summary of a stored blueprint document (None if it is not one)."""
    try:
        items = sum(int(cell["count"]) for section in spec["sections"] for cell in section["cells"])
        return PaperSummary(items, float(spec["total_score"]), float(spec["pass_mark"]))
    except (KeyError, TypeError, ValueError):
        return None
