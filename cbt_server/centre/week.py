"""What the dashboard adds about the days ahead: each site's lab readiness verdict (as the
site pushed it) and the sessions of the week (the paper requests for the next 7 days,
with the examiners and supervisors assigned to them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server.centre.models import (
    CentreAssignment,
    CentreExaminer,
    CentrePaperRequest,
    CentreReadiness,
    CentreSite,
)
from cbt_server.errors import InvalidInput
from cbt_server.lab_documents import Readiness

KEPT = (
    "ready",
    "reasons",
    "warnings",
    "required_pcs",
    "pcs_reported",
    "pcs_passing",
    "pcs_stale",
    "generated_at",
)
STALE_AFTER = timedelta(days=7)


def parse_readiness(document: Any) -> dict[str, Any]:
    """A site's verdict (its GET /api/v1/lab/readiness answer), checked against the
    verdict's own model; the fields the centre keeps (InvalidInput naming the first bad)."""
    try:
        verdict = Readiness.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise InvalidInput(f"readiness: {where}: {first['msg']}") from None
    data = verdict.model_dump()
    return {name: data[name] for name in KEPT}


async def store_readiness(
    db: AsyncSession, site: CentreSite, verdict: dict[str, Any], now: datetime
) -> None:
    row = await db.get(CentreReadiness, site.id)
    if row is None:
        row = CentreReadiness(site_id=site.id)
        db.add(row)
    row.ready, row.verdict = bool(verdict["ready"]), verdict
    row.generated_at, row.received_at = str(verdict["generated_at"])[:64], now


@dataclass(frozen=True, slots=True)
class ReadinessView:
    site: str
    state: str  # ready, not_ready, stale, none
    reasons: list[str]
    pcs_passing: int | None
    required_pcs: int | None
    received_at: datetime | None


async def load_readiness(db: AsyncSession, now: datetime) -> list[ReadinessView]:
    """Every site with its last verdict; none pushed, or older than a week, says so."""
    rows = await db.execute(
        select(CentreSite.code, CentreReadiness)
        .outerjoin(CentreReadiness, CentreReadiness.site_id == CentreSite.id)
        .order_by(CentreSite.code)
    )
    views = []
    for code, r in rows:
        if r is None:
            views.append(ReadinessView(code, "none", ["no verdict pushed yet"], None, None, None))
            continue
        state = "ready" if r.ready else "not_ready"
        reasons = list(r.verdict.get("reasons", []))
        if now - r.received_at > STALE_AFTER:
            state = "stale"
            reasons.insert(0, f"pushed {r.received_at:%Y-%m-%d}, more than a week ago")
        views.append(
            ReadinessView(
                code,
                state,
                reasons,
                r.verdict.get("pcs_passing"),
                r.verdict.get("required_pcs"),
                r.received_at,
            )
        )
    return views


async def sessions_of_week(db: AsyncSession, today: date) -> list[dict[str, Any]]:
    """Requested sessions from today to six days on, with who is assigned to each."""
    found = await db.execute(
        select(CentrePaperRequest, CentreSite.code)
        .join(CentreSite, CentreSite.id == CentrePaperRequest.site_id)
        .where(
            CentrePaperRequest.exam_date >= today,
            CentrePaperRequest.exam_date < today + timedelta(days=7),
        )
        .order_by(CentrePaperRequest.exam_date, CentreSite.code, CentrePaperRequest.session)
    )
    rows: list[tuple[CentrePaperRequest, str]] = [(r, code) for r, code in found]
    sessions: list[dict[str, Any]] = [
        {
            "site": code,
            "session": r.session,
            "exam_date": r.exam_date.isoformat(),
            "occupation": r.occupation,
            "level": r.level,
            "candidates": r.candidates,
            "status": r.status,
            "people": [],
        }
        for r, code in rows
    ]
    if sessions:
        staff = await db.execute(
            select(CentreAssignment, CentreExaminer.code, CentreExaminer.role)
            .join(CentreExaminer, CentreExaminer.id == CentreAssignment.examiner_id)
            .where(CentreAssignment.exam_date >= today)
            .order_by(CentreExaminer.code)
        )
        by_session: dict[tuple[int, str], list[str]] = {}
        for a, person, role in staff:
            duty = "组长 leader" if a.leader else "督导" if role == "supervisor" else "考评"
            label = f"{person} ({duty})"
            by_session.setdefault((a.site_id, a.session), []).append(label)
        for (r, _), s in zip(rows, sessions, strict=True):
            s["people"] = by_session.get((r.site_id, r.session), [])
    return sessions
