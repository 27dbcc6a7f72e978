"""Papers out (试卷下发): a site's paper request, approved at the centre, sealed, pulled.

1. A site sends a request with the token the centre issued it (`request_papers`):
   occupation, level, session code, exam date, number of candidates and, optionally, its
   roster; each 补考 (resit) row is checked against the person's history at the centre
   (`history.resit_decision`, this site the resit site) and a refused one refuses the
   whole request, naming the rows: nothing is stored.
2. A centre administrator approves it (`approve`): the centre's blueprint for that
   occupation and level, checked against the centre's bank (`item_bank.assembly`), and
   the pool it draws from are sealed (`item_bank.seal`) with a fresh content key, signed
   with the centre's issuer key (`centre.issuer`), valid on the exam day only (00:00 to
   24:00 China Standard Time). The content key is kept encrypted under the centre's key.
3. The site pulls the package with its token (`take_package`); it cannot open it yet.
4. On the exam day, the site fetches the content key (`release_key`): refused before the
   window opens and after it closes.
Every step is in the centre's audit log: who requested, approved, pulled, when.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server import audit
from cbt_server.centre import history
from cbt_server.centre.models import CentrePaperRequest, CentreSite
from cbt_server.centre.regrade import CHINA
from cbt_server.centre.sites import ADMIN_ROLE
from cbt_server.content_crypto import ContentCipher
from cbt_server.db import models
from cbt_server.errors import Conflict, InvalidInput, NotFound
from cbt_server.idcard import normalise, problem
from cbt_server.item_store import load_pool
from item_bank.assembly import check_feasible
from item_bank.blueprint import blueprint_from_dict
from item_bank.catalogue import LEVELS, OCCUPATIONS
from item_bank.seal import SealError, inspect, key_id, seal

SITE_ROLE = "site"
MAX_CANDIDATES = 5000
_OCCUPATIONS = {o.code for o in OCCUPATIONS}


@dataclass(frozen=True, slots=True)
class RosterRow:
    id_number: str
    name: str
    resit: bool


@dataclass(frozen=True, slots=True)
class PaperRequestForm:
    occupation: str
    level: int
    session: str
    exam_date: date
    candidates: int
    roster: tuple[RosterRow, ...] = ()


def exam_window(day: date) -> tuple[datetime, datetime]:
    """The exam day in China Standard Time, as the package's validity window."""
    start = datetime.combine(day, time(0), CHINA)
    return start, start + timedelta(days=1)


def _roster(value: Any) -> tuple[RosterRow, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or len(value) > MAX_CANDIDATES:
        raise InvalidInput(f"roster: a list of at most {MAX_CANDIDATES} candidates")
    rows: list[RosterRow] = []
    seen: set[str] = set()
    for n, raw in enumerate(value, 1):
        if not isinstance(raw, dict):
            raise InvalidInput(f"roster row {n}: an object with id_number, name, resit")
        number = normalise(str(raw.get("id_number", "")))
        trouble = problem(number)
        if trouble is not None:
            raise InvalidInput(f"roster row {n}: id_number: {trouble}")
        if number in seen:
            raise InvalidInput(f"roster row {n}: id_number {number} is on the roster twice")
        seen.add(number)
        name = str(raw.get("name", "")).strip()
        if not name or len(name) > 128:
            raise InvalidInput(f"roster row {n}: name: 1 to 128 characters")
        resit = raw.get("resit", False)
        if not isinstance(resit, bool):
            raise InvalidInput(f"roster row {n}: resit: true or false")
        rows.append(RosterRow(number, name, resit))
    return tuple(rows)


def parse_request(document: Any) -> PaperRequestForm:
    """The request a site sent (JSON), checked field by field (InvalidInput naming it)."""
    if not isinstance(document, dict):
        raise InvalidInput("the request body must be a JSON object")
    occupation = str(document.get("occupation", "")).strip()
    if occupation not in _OCCUPATIONS:
        raise InvalidInput(f"occupation: unknown occupation code {occupation!r}")
    level = document.get("level")
    if not isinstance(level, int) or isinstance(level, bool) or level not in LEVELS:
        raise InvalidInput(f"level: 1 to 5, not {level!r}")
    session = str(document.get("session", "")).strip()
    if not session or len(session) > 64 or not session.isprintable():
        raise InvalidInput("session: the session code, 1 to 64 printable characters")
    try:
        day = date.fromisoformat(str(document.get("exam_date", "")))
    except ValueError:
        raise InvalidInput("exam_date: a date as YYYY-MM-DD") from None
    count = document.get("candidates")
    if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= MAX_CANDIDATES:
        raise InvalidInput(f"candidates: a whole number from 1 to {MAX_CANDIDATES}")
    roster = _roster(document.get("roster"))
    if len(roster) > count:
        raise InvalidInput(f"roster: {len(roster)} candidates, more than the {count} requested")
    return PaperRequestForm(occupation, level, session, day, count, roster)


async def _check_resits(
    db: AsyncSession, form: PaperRequestForm, site: CentreSite, today: date
) -> list[dict[str, Any]]:
    """The roster as stored, each 补考 row with the centre's answer; any refusal refuses
    the request (Conflict naming every refused row)."""
    out: list[dict[str, Any]] = []
    refused: list[str] = []
    for row in form.roster:
        entry: dict[str, Any] = {"id_number": row.id_number, "name": row.name, "resit": row.resit}
        if row.resit:
            states = history.part_states(await history.load_attempts(db, row.id_number), today)
            decision = history.resit_decision(
                states, form.occupation, form.level, today, site=site.code
            )
            entry["resit_check"] = decision.reason
            if not decision.accepted:
                refused.append(f"{row.id_number} {row.name}: {decision.reason}")
        out.append(entry)
    if refused:
        raise Conflict("补考 resit refused for: " + "; ".join(refused))
    return out


async def request_papers(
    db: AsyncSession, site: CentreSite, form: PaperRequestForm, now: datetime
) -> CentrePaperRequest:
    """Store a site's request (audited as the site); one request per site and session."""
    today = now.astimezone(CHINA).date()
    if form.exam_date < today:
        raise InvalidInput(f"exam_date: {form.exam_date} is in the past")
    exists = await db.scalar(
        select(CentrePaperRequest.id).where(
            CentrePaperRequest.site_id == site.id, CentrePaperRequest.session == form.session
        )
    )
    if exists is not None:
        raise Conflict(f"session {form.session!r}: papers already requested (request {exists})")
    roster = await _check_resits(db, form, site, today)
    row = CentrePaperRequest(
        site_id=site.id,
        occupation=form.occupation,
        level=form.level,
        session=form.session,
        exam_date=form.exam_date,
        candidates=form.candidates,
        roster=roster,
        status="requested",
        requested_at=now,
    )
    db.add(row)
    try:
        await db.flush()
    except IntegrityError:  # the same session sent twice at once: one of them wins
        raise Conflict(f"session {form.session!r}: papers already requested") from None
    await audit.record(
        db,
        f"site:{site.code}",
        SITE_ROLE,
        "centre.paper.request",
        f"paper_request:{row.id}",
        data={
            "site": site.code,
            "session": form.session,
            "occupation": form.occupation,
            "level": form.level,
            "exam_date": form.exam_date.isoformat(),
            "candidates": form.candidates,
            "resits": sum(1 for r in form.roster if r.resit),
        },
        at=now,
    )
    return row


async def site_request(db: AsyncSession, site: CentreSite, request_id: int) -> CentrePaperRequest:
    """The request, if it is this site's (another site's is 'not found', not 'forbidden')."""
    row = await db.get(CentrePaperRequest, request_id)
    if row is None or row.site_id != site.id:
        raise NotFound(f"no paper request {request_id} of site {site.code}")
    return row


async def _blueprint_for(db: AsyncSession, occupation: str, level: int) -> models.Blueprint:
    row = await db.scalar(
        select(models.Blueprint)
        .where(models.Blueprint.occupation == occupation, models.Blueprint.level == level)
        .order_by(models.Blueprint.id)
    )
    if row is None:
        raise Conflict(
            f"the centre's bank has no blueprint for {occupation} level {level}: "
            "import one (cbt-server package import) first"
        )
    return row


async def approve(
    db: AsyncSession,
    cipher: ContentCipher,
    signing_key: Ed25519PrivateKey,
    request_id: int,
    *,
    actor: str,
    now: datetime,
) -> CentrePaperRequest:
    """Assemble and seal the papers of a request; all of it or nothing (Conflict why).
    The row is locked (PostgreSQL): two administrators approving at once seal it once."""
    row = await db.get(CentrePaperRequest, request_id, with_for_update=True)
    if row is None:
        raise NotFound(f"no paper request {request_id}")
    if row.status != "requested":
        raise Conflict(f"paper request {request_id} is {row.status} already")
    stored = await _blueprint_for(db, row.occupation, row.level)
    blueprint = blueprint_from_dict(stored.spec)
    pool = await load_pool(db, cipher, row.occupation, row.level)
    shortages = check_feasible(pool, blueprint)
    if shortages:
        short = "; ".join(str(s) for s in shortages[:5])
        raise Conflict(f"blueprint {blueprint.id} cannot be assembled from the bank: {short}")
    content_key = AESGCM.generate_key(bit_length=256)
    not_before, not_after = exam_window(row.exam_date)
    try:
        package = seal(
            pool,
            [blueprint],
            content_key,
            signing_key,
            creator="city-centre",
            created_at=now,
            not_before=not_before,
            not_after=not_after,
        )
    except SealError as exc:
        raise Conflict(f"paper request {request_id}: cannot seal: {exc}") from None
    row.package = package
    row.package_id = inspect(package, content_key, signing_key.public_key()).package_id
    row.sealed_key = cipher.encrypt_json({"key": content_key.hex()}, aad=f"paper_request:{row.id}")
    row.blueprint_id = blueprint.id
    row.status, row.approved_by, row.approved_at = "approved", actor, now
    await audit.record(
        db,
        actor,
        ADMIN_ROLE,
        "centre.paper.approve",
        f"paper_request:{row.id}",
        data={
            "package_id": row.package_id,
            "blueprint": blueprint.id,
            "items": len(pool),
            "key_id": key_id(content_key),
            "not_before": not_before.astimezone(UTC).isoformat(),
            "not_after": not_after.astimezone(UTC).isoformat(),
        },
        at=now,
    )
    return row


async def take_package(db: AsyncSession, site: CentreSite, request_id: int, now: datetime) -> bytes:
    """The sealed package of an approved request of this site (audited as pulled)."""
    row = await site_request(db, site, request_id)
    if row.status != "approved" or row.package is None:
        raise Conflict(f"paper request {request_id} is {row.status}, not approved yet")
    row.pulled_at = now
    await audit.record(
        db,
        f"site:{site.code}",
        SITE_ROLE,
        "centre.paper.pull",
        f"paper_request:{row.id}",
        data={"package_id": row.package_id},
        at=now,
    )
    return bytes(row.package)


async def release_key(
    db: AsyncSession, cipher: ContentCipher, site: CentreSite, request_id: int, now: datetime
) -> bytes:
    """The content key, on the exam day only (Conflict before or after; audited)."""
    row = await site_request(db, site, request_id)
    if row.status != "approved" or row.sealed_key is None:
        raise Conflict(f"paper request {request_id} is {row.status}, not approved yet")
    not_before, not_after = exam_window(row.exam_date)
    if now < not_before:
        raise Conflict(
            f"the content key of paper request {request_id} is released on the exam day, "
            f"{row.exam_date} (from {not_before.isoformat()}), not before"
        )
    if now >= not_after:
        raise Conflict(f"paper request {request_id}: its exam day {row.exam_date} is over")
    key = bytes.fromhex(cipher.decrypt_json(row.sealed_key, aad=f"paper_request:{row.id}")["key"])
    row.key_released_at = row.key_released_at or now
    await audit.record(
        db,
        f"site:{site.code}",
        SITE_ROLE,
        "centre.paper.key_release",
        f"paper_request:{row.id}",
        data={"package_id": row.package_id, "key_id": key_id(key)},
        at=now,
    )
    return key


def describe(row: CentrePaperRequest, site_code: str) -> dict[str, Any]:
    """A request as JSON (never the package or its key)."""

    def when(moment: datetime | None) -> str | None:
        return moment.isoformat() if moment else None

    return {
        "id": row.id,
        "site": site_code,
        "occupation": row.occupation,
        "level": row.level,
        "session": row.session,
        "exam_date": row.exam_date.isoformat(),
        "candidates": row.candidates,
        "resits": sum(1 for r in row.roster or [] if r.get("resit")),
        "status": row.status,
        "blueprint": row.blueprint_id,
        "package_id": row.package_id,
        "requested_at": when(row.requested_at),
        "approved_by": row.approved_by,
        "approved_at": when(row.approved_at),
        "pulled_at": when(row.pulled_at),
        "key_released_at": when(row.key_released_at),
    }


async def list_requests(db: AsyncSession) -> list[dict[str, Any]]:
    rows = await db.execute(
        select(CentrePaperRequest, CentreSite.code)
        .join(CentreSite, CentreSite.id == CentrePaperRequest.site_id)
        .order_by(CentrePaperRequest.exam_date, CentrePaperRequest.id)
    )
    return [describe(row, code) for row, code in rows]
