"""The examiner and supervisor registers and their assignment to site sessions. Audited.

The rules (`assignment_problem`, pure):
- cross-assignment (交叉委派): nobody is assigned to a session of their own site;
- an examiner who has failed two duty checks is dismissed: no new assignments;
- the examiner leader (考评组长) is an examiner, not a supervisor;
- one person, one site a day.
A site asks for the people assigned to its sessions with the token the centre issued it
(`GET /centre/api/v1/assignments`) and turns them into session-only staff accounts
(`centre.site_staff`). `registers` lists both registers with their assignments for the
centre's pages.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server import audit
from cbt_server.centre.models import CentreAssignment, CentreExaminer, CentreSite
from cbt_server.centre.sites import ADMIN_ROLE, get_site
from cbt_server.errors import Conflict, InvalidInput, NotFound

ROLES = ("examiner", "supervisor")
DISMISSED_AFTER = 2


@dataclass(frozen=True, slots=True)
class Candidacy:
    """What the rules need to know about one proposed assignment."""

    role: str
    home_site: str | None
    target_site: str
    failed_checks: int
    leader: bool
    same_day_sites: tuple[str, ...]  # sites the person is already assigned to that day


def assignment_problem(c: Candidacy) -> str | None:
    """Why this assignment is refused, or None if it is allowed."""
    if c.home_site is not None and c.home_site == c.target_site:
        return f"cross-assignment (交叉委派): not to a session of their own site {c.home_site}"
    if c.failed_checks >= DISMISSED_AFTER:
        return f"dismissed after failing {c.failed_checks} duty checks"
    if c.leader and c.role != "examiner":
        return "the examiner leader (考评组长) must be an examiner"
    others = [site for site in c.same_day_sites if site != c.target_site]
    if others:
        return f"already assigned that day to site {others[0]}"
    return None


def _text(name: str, value: str, limit: int) -> str:
    value = value.strip()
    if not value or len(value) > limit or not value.isprintable():
        raise InvalidInput(f"{name}: 1 to {limit} printable characters")
    return value


async def add_examiner(
    db: AsyncSession, code: str, name: str, role: str, home_site: str | None, *, actor: str
) -> CentreExaminer:
    if role not in ROLES:
        raise InvalidInput(f"role: one of {', '.join(ROLES)}, not {role!r}")
    code, name = _text("code", code, 64), _text("name", name, 128)
    if await db.scalar(select(CentreExaminer.id).where(CentreExaminer.code == code)):
        raise Conflict(f"{code!r} is in the register already")
    home = await get_site(db, home_site) if home_site else None
    person = CentreExaminer(
        code=code, name=name, role=role, home_site_id=home.id if home else None, failed_checks=0
    )
    db.add(person)
    await db.flush()
    await audit.record(
        db,
        actor,
        ADMIN_ROLE,
        "centre.examiner.add",
        f"examiner:{code}",
        data={"role": role, "home_site": home_site},
    )
    return person


async def _person(db: AsyncSession, code: str) -> CentreExaminer:
    person = await db.scalar(select(CentreExaminer).where(CentreExaminer.code == code))
    if person is None:
        raise NotFound(f"{code!r} is not in the register")
    return person


async def record_failed_check(db: AsyncSession, code: str, reason: str, *, actor: str) -> int:
    """Count a failed duty check; returns the count (at DISMISSED_AFTER: dismissed)."""
    person = await _person(db, code)
    person.failed_checks += 1
    await audit.record(
        db,
        actor,
        ADMIN_ROLE,
        "centre.examiner.failed_check",
        f"examiner:{code}",
        reason=_text("reason", reason, 500),
    )
    return person.failed_checks


async def assign(
    db: AsyncSession,
    code: str,
    site_code: str,
    session: str,
    exam_date: date,
    *,
    leader: bool = False,
    actor: str,
) -> CentreAssignment:
    """Assign a person to a site's session, if the rules allow (Conflict naming the rule)."""
    person = await _person(db, code)
    site = await get_site(db, site_code)
    session = _text("session", session, 64)
    home = await db.get(CentreSite, person.home_site_id) if person.home_site_id else None
    same_day = await db.scalars(
        select(CentreSite.code)
        .join(CentreAssignment, CentreAssignment.site_id == CentreSite.id)
        .where(CentreAssignment.examiner_id == person.id, CentreAssignment.exam_date == exam_date)
    )
    problem = assignment_problem(
        Candidacy(
            person.role,
            home.code if home else None,
            site.code,
            person.failed_checks,
            leader,
            tuple(same_day),
        )
    )
    if problem is not None:
        raise Conflict(f"{code} to {site_code} {session}: refused: {problem}")
    if await db.scalar(
        select(CentreAssignment.id).where(
            CentreAssignment.examiner_id == person.id,
            CentreAssignment.site_id == site.id,
            CentreAssignment.session == session,
        )
    ):
        raise Conflict(f"{code} is assigned to {site_code} {session} already")
    row = CentreAssignment(
        examiner_id=person.id, site_id=site.id, session=session, exam_date=exam_date, leader=leader
    )
    db.add(row)
    await db.flush()
    await audit.record(
        db,
        actor,
        ADMIN_ROLE,
        "centre.examiner.assign",
        f"examiner:{code}",
        data={
            "site": site_code,
            "session": session,
            "date": exam_date.isoformat(),
            "leader": leader,
        },
    )
    return row


async def assignments_of_site(db: AsyncSession, site_id: int) -> list[dict[str, object]]:
    """The people assigned to a site's sessions, as the site receives them."""
    rows = await db.execute(
        select(CentreAssignment, CentreExaminer)
        .join(CentreExaminer, CentreExaminer.id == CentreAssignment.examiner_id)
        .where(CentreAssignment.site_id == site_id)
        .order_by(CentreAssignment.exam_date, CentreAssignment.session, CentreExaminer.code)
    )
    return [
        {
            "code": person.code,
            "name": person.name,
            "role": "proctor" if person.role == "examiner" else "supervisor",
            "session": a.session,
            "exam_date": a.exam_date.isoformat(),
            "leader": a.leader,
        }
        for a, person in rows
    ]


async def registers(db: AsyncSession) -> dict[str, list[dict[str, object]]]:
    """Both registers, each person with their home site, failed duty checks, whether they
    are dismissed and their assignments (by date): {"examiners": […], "supervisors": […]}."""
    site_codes = dict((await db.execute(select(CentreSite.id, CentreSite.code))).all())
    people = list(await db.scalars(select(CentreExaminer).order_by(CentreExaminer.code)))
    duties: dict[int, list[dict[str, object]]] = {p.id: [] for p in people}
    for a in await db.scalars(
        select(CentreAssignment).order_by(CentreAssignment.exam_date, CentreAssignment.session)
    ):
        duties[a.examiner_id].append(
            {
                "site": site_codes.get(a.site_id, ""),
                "session": a.session,
                "exam_date": a.exam_date.isoformat(),
                "leader": a.leader,
            }
        )
    out: dict[str, list[dict[str, object]]] = {"examiners": [], "supervisors": []}
    for p in people:
        out["examiners" if p.role == "examiner" else "supervisors"].append(
            {
                "code": p.code,
                "name": p.name,
                "home_site": site_codes.get(p.home_site_id) if p.home_site_id else None,
                "failed_checks": p.failed_checks,
                "dismissed": p.failed_checks >= DISMISSED_AFTER,
                "assignments": duties[p.id],
            }
        )
    return out
