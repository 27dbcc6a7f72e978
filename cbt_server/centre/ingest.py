"""Pull one registered site into the centre's database: verify, re-grade, store. Restartable.

Each page is one transaction that
1. locks the site's row with `SELECT … FOR UPDATE SKIP LOCKED` (PostgreSQL): a second
   centre process finds it locked and leaves the site alone, so no page is fetched twice;
   on SQLite the engine's `BEGIN IMMEDIATE` serialises writers to the same effect;
2. reads the stored cursor, fetches the next page from the site's cursor API;
3. verifies every signature with the pinned key (a refusal is kept in
   `centre_rejections`), re-grades every verified result (`regrade`) and upserts it by
   (site, session, ticket);
4. stores the page's `next` cursor in the same transaction.
A crash anywhere rolls the page back whole; the next pull fetches it again from the
cursor that was stored with the results before it: nothing lost, and the unique key
makes a result fetched twice one row.

Problems become the site's visible `status` with a reason, never an exception out of
`pull_site_into_db`: a changed key (results not pulled until a person trusts it), a
refused token, a cursor ahead of the site's feed, an unreachable site, an answer that
is not the API's, a page the database refused to store (`store_failed`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from pydantic import ValidationError
from sqlalchemy import insert, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cbt_server import audit
from cbt_server.centre.keybank import KeyBank
from cbt_server.centre.models import CentreRejection, CentreSite
from cbt_server.centre.puller import (
    CursorAhead,
    NetworkError,
    PullError,
    SiteClient,
    TokenRefused,
    offered_key,
    read_page,
    ticket_of,
)
from cbt_server.centre.regrade import exam_date, regrade
from cbt_server.centre.sites import site_target
from cbt_server.centre.upsert import upsert_results
from cbt_server.db.types import utcnow
from cbt_server.results.documents import Result
from cbt_server.results.signing import public_key_from_b64, verified_bytes

PAGE_LIMIT = 500
# Text fields and the lengths of their centre_results columns: a longer one is refused
# with its reason rather than failing the page's insert.
FIELD_LIMITS = (
    ("ticket", 64),
    ("session", 64),
    ("id_number", 18),
    ("name", 128),
    ("occupation", 64),
    ("score", 16),
    ("max_score", 16),
    ("pass_mark", 16),
)


@dataclass
class SitePull:
    """What one pull of one site did."""

    site: str
    pulled: int = 0
    refused: int = 0
    mismatched: int = 0
    skipped: bool = False  # another process holds the site
    status: str = ""
    reason: str = ""


async def _locked_site(db: AsyncSession, site_id: int) -> CentreSite | None:
    stmt = select(CentreSite).where(CentreSite.id == site_id).with_for_update(skip_locked=True)
    return (await db.execute(stmt)).scalar_one_or_none()


def _set_status(site: CentreSite, status: str, reason: str) -> None:
    site.status, site.status_reason = status, reason[:2000]
    site.last_pull_at = utcnow()


async def _check_key(db: AsyncSession, site: CentreSite, client: SiteClient) -> bool:
    """Pin the key on first contact; False (and status key_changed) if it changed."""
    kid, b64 = offered_key(await client.get_json("/api/v1/keys"), site.url)
    if site.public_key is None:
        site.kid, site.public_key = kid, b64
        await audit.record(
            db,
            "system",
            "centre",
            "centre.site.key_pinned",
            site_target(site.code),
            data={"kid": kid},
        )
        return True
    if b64 == site.public_key:
        if site.offered_key is not None:
            site.offered_kid = site.offered_key = None
        return True
    site.offered_kid, site.offered_key = kid, b64
    _set_status(
        site,
        "key_changed",
        f"the site now signs with key {kid}, not the pinned {site.kid}: nothing is pulled "
        "until a centre administrator confirms the new key with the site and trusts it "
        f"(cbt-server centre site trust-key --code {site.code} --kid {kid})",
    )
    return False


def _rejection(site_id: int, result: Any, reason: str) -> dict[str, Any]:
    return {
        "site_id": site_id,
        "ticket": ticket_of(result)[:64],
        "reason": reason,
        "document": result,
        "at": utcnow(),
    }


def _checked(result: Any, public_key: Any) -> tuple[bytes | None, str]:
    """(the signed canonical bytes, "") for a result that verifies and has the Result
    shape, else (None, why it is refused)."""
    signed = verified_bytes(public_key, result) if isinstance(result, dict) else None
    if signed is None:
        return None, "signature does not verify with the pinned key"
    try:
        Result.model_validate(result)
        exam_date(result)
    except (ValidationError, ValueError) as exc:
        first = str(exc).splitlines()[0:3]
        return None, "signed, but not a valid result: " + " ".join(first)
    for name, limit in FIELD_LIMITS:
        if len(result[name]) > limit:
            return None, f"signed, but {name} is longer than the centre keeps ({limit})"
    return signed, ""


async def _ingest_page(
    db: AsyncSession, site: CentreSite, results: list[Any], bank: KeyBank, report: SitePull
) -> None:
    public_key = public_key_from_b64(str(site.public_key))
    rejections: list[dict[str, Any]] = []
    good: list[tuple[dict[str, Any], bytes]] = []
    for result in results:
        signed, reason = _checked(result, public_key)
        if signed is None:
            rejections.append(_rejection(site.id, result, reason))
        else:
            good.append((result, signed))
    keys = await bank.keys_for(db, {str(e["item_id"]) for r, _ in good for e in r["responses"]})
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    now = utcnow()
    for doc, signed in good:
        verdict = regrade(doc, keys, bank.scores)
        if verdict.status != "ok":
            report.mismatched += 1
        rows[(doc["session"], doc["ticket"])] = _row(site.id, doc, verdict.status, now) | {
            "centre_score": verdict.centre_score,
            "reason": verdict.reason,
            "canonical": signed.decode("utf-8"),
        }
    if rows:
        await upsert_results(db, list(rows.values()))
    if rejections:
        await db.execute(insert(CentreRejection), rejections)
    report.pulled += len(good)
    report.refused += len(rejections)


def _row(site_id: int, doc: Mapping[str, Any], status: str, now: Any) -> dict[str, Any]:
    return {
        "site_id": site_id,
        "session": doc["session"],
        "ticket": doc["ticket"],
        "id_number": doc["id_number"],
        "name": doc["name"],
        "occupation": doc["occupation"],
        "level": doc["level"],
        "exam_date": exam_date(doc),
        "site_score": doc["score"],
        "max_score": doc["max_score"],
        "pass_mark": doc["pass_mark"],
        "passed": doc["passed"],
        "final": doc["final"],
        "status": status,
        "signature": doc["signature"],
        "pulled_at": now,
    }


def _summary(report: SitePull) -> str:
    text = f"{report.pulled} result(s) pulled"
    if report.refused:
        text += f", {report.refused} refused (bad signature or shape)"
    if report.mismatched:
        text += f", {report.mismatched} whose score does not re-grade"
    return text


async def pull_site_into_db(
    sessionmaker: async_sessionmaker[AsyncSession],
    http: aiohttp.ClientSession,
    site_id: int,
    bank: KeyBank,
    *,
    limit: int = PAGE_LIMIT,
) -> SitePull:
    """Pull everything new from one site (see the module docstring)."""
    report = SitePull(site="")
    first = True
    while True:
        try:
            async with sessionmaker.begin() as db:
                site = await _locked_site(db, site_id)
                if site is None:
                    report.skipped = True
                    return report
                report.site = site.code
                client = SiteClient(http, site.url, site.pull_token)
                if first and not await _check_key(db, site, client):
                    report.status, report.reason = site.status, site.status_reason
                    return report
                first = False
                done = await _next_page(db, site, client, bank, report, limit)
        except (PullError, DBAPIError) as exc:  # the page's transaction was rolled back whole
            status = _problem_status(exc)
            report.status = status
            reason = str(exc).splitlines()[0][:500]
            report.reason = await _record_problem(sessionmaker, site_id, status, reason)
            return report
        if done:
            return report


async def _next_page(
    db: AsyncSession,
    site: CentreSite,
    client: SiteClient,
    bank: KeyBank,
    report: SitePull,
    limit: int,
) -> bool:
    """Fetch, check and store the page after the site's cursor; True if it was the last."""
    params = {"limit": str(limit)}
    if site.cursor is not None:
        params["after"] = site.cursor
    data = await client.get_json("/api/v1/results", params)
    results, next_cursor = read_page(data, f"{site.url}/api/v1/results")
    await _ingest_page(db, site, results, bank, report)
    moved = next_cursor != site.cursor
    site.cursor = next_cursor
    done = len(results) < limit or next_cursor is None
    if not done and not moved:
        raise NetworkError(f"{site.url}/api/v1/results: a full page came with the same cursor")
    if done:
        _set_status(site, "ok", _summary(report))
        site.last_ok_at = site.last_pull_at
        report.status, report.reason = site.status, site.status_reason
    return done


def _problem_status(exc: Exception) -> str:
    if isinstance(exc, DBAPIError):
        return "store_failed"
    if isinstance(exc, TokenRefused):
        return "token_refused"
    if isinstance(exc, CursorAhead):
        return "cursor_ahead"
    if isinstance(exc, NetworkError):
        return "unreachable"
    return "bad_answer"


async def _record_problem(
    sessionmaker: async_sessionmaker[AsyncSession], site_id: int, status: str, reason: str
) -> str:
    """Store the site's problem as its visible status (its own short transaction)."""
    async with sessionmaker.begin() as db:
        site = await db.get(CentreSite, site_id)
        if site is not None:
            if status == "cursor_ahead":
                reason += (
                    " (was the site's database restored from an older backup? After "
                    f"checking, run: cbt-server centre site rewind --code {site.code})"
                )
            _set_status(site, status, reason)
    return reason


async def pull_all(
    sessionmaker: async_sessionmaker[AsyncSession],
    bank: KeyBank,
    *,
    limit: int = PAGE_LIMIT,
    concurrency: int = 1,
    http_timeout: aiohttp.ClientTimeout | None = None,
) -> list[SitePull]:
    """Pull every registered site once, `concurrency` sites at a time (in code order).

    On PostgreSQL several sites at once overlap one site's network wait with another's
    checks; on SQLite writers queue anyway (`BEGIN IMMEDIATE`), so one at a time.
    """
    async with sessionmaker() as db:
        ids = list(await db.scalars(select(CentreSite.id).order_by(CentreSite.code)))
    timeout = http_timeout or aiohttp.ClientTimeout(sock_connect=10, sock_read=60)
    gate = asyncio.Semaphore(max(1, concurrency))

    async def one(site_id: int) -> SitePull:
        async with gate:
            return await pull_site_into_db(sessionmaker, http, site_id, bank, limit=limit)

    async with aiohttp.ClientSession(timeout=timeout) as http:
        return list(await asyncio.gather(*(one(site_id) for site_id in ids)))
