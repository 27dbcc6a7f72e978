"""A person's history: their results joined by ID-card number across sites and sessions.

Per part (occupation, level, theory or skill) the person has one of these states:
- `passed`: a final, passed result that re-graded to the site's score, from an exam less
  than a year ago; `valid_until` is the exam date one year on (valid through that day);
- `expired`: passed, but more than a year ago;
- `failed`: the latest final attempt failed: the person may resit (补考), at the site
  of that attempt;
- `pending`: results not yet signed off by the examiner leader, or flagged because the
  centre's re-grade disagrees with the site: nothing is decided on them.
The CBT server records theory exams only, so the parts here are theory parts.

`resit_decision` is what an enrolment for a resit asks: accepted for a failed part,
refused for a part still validly passed, for a part never failed, or one still pending.
Pure functions over plain records; `load_history` reads them from the database.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server.centre.models import CentreResult, CentreSite

THEORY = "theory"


@dataclass(frozen=True, slots=True)
class Attempt:
    site: str
    session: str
    ticket: str
    occupation: str
    level: int
    exam_date: date
    score: str
    passed: bool
    final: bool
    status: str  # the centre's re-grade verdict: ok or mismatch
    part: str = THEORY


@dataclass(frozen=True, slots=True)
class PartState:
    occupation: str
    level: int
    part: str
    state: str  # passed, expired, failed or pending
    valid_until: date | None
    may_resit: bool
    resit_site: str | None
    reason: str
    attempts: tuple[Attempt, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class ResitDecision:
    accepted: bool
    reason: str


def one_year_on(day: date) -> date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)


def _part_state(key: tuple[str, int, str], attempts: list[Attempt], today: date) -> PartState:
    occupation, level, part = key
    attempts.sort(key=lambda a: (a.exam_date, a.session, a.ticket))
    decided = [a for a in attempts if a.final and a.status == "ok"]
    shown = tuple(attempts)
    valid = [a for a in decided if a.passed and today <= one_year_on(a.exam_date)]
    if valid:
        until = one_year_on(valid[-1].exam_date)
        return PartState(
            occupation,
            level,
            part,
            "passed",
            until,
            False,
            None,
            f"passed on {valid[-1].exam_date} at {valid[-1].site}; valid until {until}",
            shown,
        )
    if decided and not decided[-1].passed:
        last = decided[-1]
        return PartState(
            occupation,
            level,
            part,
            "failed",
            None,
            True,
            last.site,
            f"failed on {last.exam_date} at {last.site} ({last.score}): may resit (补考) there",
            shown,
        )
    if decided:
        last = decided[-1]
        return PartState(
            occupation,
            level,
            part,
            "expired",
            one_year_on(last.exam_date),
            False,
            None,
            f"passed on {last.exam_date}, valid until {one_year_on(last.exam_date)}: expired",
            shown,
        )
    flagged = [a for a in attempts if a.status != "ok"]
    reason = (
        "a result's score does not re-grade at the centre: under review"
        if flagged
        else "results not yet signed off by the examiner leader"
    )
    return PartState(occupation, level, part, "pending", None, False, None, reason, shown)


def part_states(attempts: Iterable[Attempt], today: date) -> list[PartState]:
    """Each part the person attempted, with its state (see the module docstring)."""
    parts: dict[tuple[str, int, str], list[Attempt]] = {}
    for attempt in attempts:
        parts.setdefault((attempt.occupation, attempt.level, attempt.part), []).append(attempt)
    return [_part_state(key, parts[key], today) for key in sorted(parts)]


def resit_decision(
    states: Sequence[PartState],
    occupation: str,
    level: int,
    today: date,
    *,
    part: str = THEORY,
    site: str | None = None,
) -> ResitDecision:
    """May this person be enrolled for a resit (补考) of this part (at `site`, if given)?"""
    for state in states:
        if (state.occupation, state.level, state.part) != (occupation, level, part):
            continue
        if state.state == "passed":
            return ResitDecision(
                False, f"refused: the {part} part is passed and valid until {state.valid_until}"
            )
        if state.state == "failed":
            if site is not None and state.resit_site != site:
                return ResitDecision(
                    False, f"refused: a resit is taken at the original site {state.resit_site}"
                )
            return ResitDecision(True, f"accepted: {state.reason}")
        if state.state == "pending":
            return ResitDecision(False, f"refused: {state.reason}")
        return ResitDecision(False, f"refused: {state.reason}; enrol for a full exam, not a resit")
    return ResitDecision(False, f"refused: no {part} attempt at {occupation} level {level}")


async def load_attempts(db: AsyncSession, id_number: str) -> list[Attempt]:
    """Every result the centre holds for this ID-card number, across sites and sessions."""
    rows = await db.execute(
        select(CentreResult, CentreSite.code)
        .join(CentreSite, CentreSite.id == CentreResult.site_id)
        .where(CentreResult.id_number == id_number.strip().upper())
    )
    return [
        Attempt(
            site=code,
            session=r.session,
            ticket=r.ticket,
            occupation=r.occupation,
            level=r.level,
            exam_date=r.exam_date,
            score=r.site_score,
            passed=r.passed,
            final=r.final,
            status=r.status,
        )
        for r, code in rows
    ]
