"""What the centre's dashboard shows: each site's state with reasons, and per occupation and
level the pass rate and score distribution. Pure summaries plus the reads that feed them.

A site's states, each with its reason:
- its last pull's problem (`key_changed`, `token_refused`, `cursor_ahead`, `unreachable`,
  `bad_answer`);
- `offline`: no successful pull for a day (or never, a day after registration);
- `bad_signature`: results refused because their signature did not verify (kept);
- `score_mismatch`: results whose score the centre's re-grade does not reproduce.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server.centre.models import CentreRejection, CentreResult, CentreSite
from cbt_server.paperwork.figures import Scored, ScoreFigures, figures

OFFLINE_AFTER = timedelta(days=1)
QUIET = frozenset({"ok", "new", "key_trusted", "rewound"})


@dataclass(frozen=True, slots=True)
class SiteView:
    code: str
    name: str
    url: str
    kid: str | None
    last_pull_at: datetime | None
    last_ok_at: datetime | None
    results: int
    states: tuple[tuple[str, str], ...]  # (state, reason); empty when all is well

    def to_json(self) -> dict[str, object]:
        return {
            "code": self.code,
            "name": self.name,
            "url": self.url,
            "kid": self.kid,
            "last_pull_at": self.last_pull_at.isoformat() if self.last_pull_at else None,
            "last_ok_at": self.last_ok_at.isoformat() if self.last_ok_at else None,
            "results": self.results,
            "states": [{"state": s, "reason": r} for s, r in self.states],
        }


def site_states(
    site: CentreSite, now: datetime, refused: int, mismatched: int
) -> tuple[tuple[str, str], ...]:
    states: list[tuple[str, str]] = []
    if site.status not in QUIET:
        states.append((site.status, site.status_reason))
    since = site.last_ok_at or site.created_at
    if since is not None and now - since >= OFFLINE_AFTER:
        what = f"since {site.last_ok_at:%Y-%m-%d %H:%M} UTC" if site.last_ok_at else "ever"
        states.append(("offline", f"no successful pull {what}"))
    if refused:
        states.append(
            ("bad_signature", f"{refused} result(s) refused: signature does not verify (kept)")
        )
    if mismatched:
        states.append(
            ("score_mismatch", f"{mismatched} result(s) whose score the centre's re-grade differs")
        )
    return tuple(states)


async def load_sites(db: AsyncSession, now: datetime) -> list[SiteView]:
    refused: dict[int, int] = {
        site_id: n
        for site_id, n in await db.execute(
            select(CentreRejection.site_id, func.count()).group_by(CentreRejection.site_id)
        )
    }
    counts: dict[tuple[int, str], int] = {}
    for site_id, status, n in await db.execute(
        select(CentreResult.site_id, CentreResult.status, func.count()).group_by(
            CentreResult.site_id, CentreResult.status
        )
    ):
        counts[(site_id, status)] = n
    views = []
    for site in await db.scalars(select(CentreSite).order_by(CentreSite.code)):
        mismatched = counts.get((site.id, "mismatch"), 0)
        views.append(
            SiteView(
                code=site.code,
                name=site.name,
                url=site.url,
                kid=site.kid,
                last_pull_at=site.last_pull_at,
                last_ok_at=site.last_ok_at,
                results=counts.get((site.id, "ok"), 0) + mismatched,
                states=site_states(site, now, refused.get(site.id, 0), mismatched),
            )
        )
    return views


@dataclass(frozen=True, slots=True)
class GroupSummary:
    """One occupation and level: the figures of its re-graded results (the same figures
    as a session's score summary) and how many are final."""

    occupation: str
    level: int
    final: int
    figures: ScoreFigures

    def to_json(self) -> dict[str, object]:
        f = self.figures
        return {
            "occupation": self.occupation,
            "level": self.level,
            "results": f.sat,
            "passed": f.passed,
            "final": self.final,
            "pass_rate": None if f.pass_rate is None else round(f.pass_rate, 4),
            "mean": f.mean,
            "highest": f.highest,
            "lowest": f.lowest,
            "distribution": list(f.bands),
        }


# occupation, level, score, max_score, pass_mark, passed, final
Row = tuple[str, int, str, str, str, bool, bool]


def summarise(rows: Iterable[Row]) -> list[GroupSummary]:
    """Per occupation and level, from results that re-graded (`ok`)."""
    groups: dict[tuple[str, int], list[Scored]] = {}
    finals: dict[tuple[str, int], int] = {}
    for occupation, level, score, max_score, pass_mark, passed, final in rows:
        if float(max_score) <= 0:
            continue  # nothing to place on the 100-point scale
        key = (occupation, level)
        groups.setdefault(key, []).append(
            Scored(float(score), float(max_score), float(pass_mark), passed)
        )
        finals[key] = finals.get(key, 0) + int(final)
    return [
        GroupSummary(key[0], key[1], finals[key], figures(groups[key])) for key in sorted(groups)
    ]


async def load_summary(db: AsyncSession) -> list[GroupSummary]:
    rows = await db.execute(
        select(
            CentreResult.occupation,
            CentreResult.level,
            CentreResult.site_score,
            CentreResult.max_score,
            CentreResult.pass_mark,
            CentreResult.passed,
            CentreResult.final,
        ).where(CentreResult.status == "ok")
    )
    return summarise(tuple(row) for row in rows)  # type: ignore[misc]


async def flagged_results(db: AsyncSession, limit: int = 50) -> list[dict[str, object]]:
    """The results whose re-grade differs, newest first, for the dashboard."""
    rows = await db.execute(
        select(CentreResult, CentreSite.code)
        .join(CentreSite, CentreSite.id == CentreResult.site_id)
        .where(CentreResult.status != "ok")
        .order_by(CentreResult.pulled_at.desc(), CentreResult.id.desc())
        .limit(limit)
    )
    return [
        {
            "site": code,
            "session": r.session,
            "ticket": r.ticket,
            "name": r.name,
            "site_score": r.site_score,
            "centre_score": r.centre_score,
            "reason": r.reason,
        }
        for r, code in rows
    ]
