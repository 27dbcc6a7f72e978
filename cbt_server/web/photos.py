"""Candidates' photos over HTTP, to the two who may see one and nobody else.

- The candidate, on the confirm screen: `GET /candidate/photo` with the headers
  `X-CBT-Ticket` and `X-CBT-Resume-Token`, the resume token of the candidate's current
  login (only the PC holding that login has it; a new login on another PC replaces it).
  Any mismatch is the same 401, so the endpoint says nothing about which tickets exist;
  a candidate without a photo gets 204 No Content.
- Staff of the candidate's session (policy `Action.VIEW_PHOTO`: assigned proctors and
  supervisors): `GET /console/sessions/{code}/photos/{candidate_id}.jpg`.

Photos are never cached by the browser or a proxy (`no-store`).
"""

from __future__ import annotations

import hmac

from aiohttp import web
from sqlalchemy import select

from cbt_server.auth.policy import Action
from cbt_server.auth.web import require_session
from cbt_server.db import models
from cbt_server.enrolment.photo_store import photo_of
from cbt_server.errors import NotAuthenticated, NotFound
from cbt_server.keys import SESSIONMAKER
from cbt_server.runtime.candidate.login import token_hash

TICKET_HEADER = "X-CBT-Ticket"
TOKEN_HEADER = "X-CBT-Resume-Token"
MAX_HEADER = 256


def _jpeg(data: bytes) -> web.Response:
    return web.Response(
        body=data,
        content_type="image/jpeg",
        headers={"Cache-Control": "no-store, private"},
    )


async def own_photo(request: web.Request) -> web.Response:
    """GET /candidate/photo: the logged-in candidate's own photo."""
    ticket = request.headers.get(TICKET_HEADER, "").strip()
    token = request.headers.get(TOKEN_HEADER, "")
    refused = NotAuthenticated("log in first: this photo is for the candidate's own login")
    if not ticket or not token or len(ticket) > MAX_HEADER or len(token) > MAX_HEADER:
        raise refused
    presented = token_hash(token)
    async with request.app[SESSIONMAKER]() as db:
        # A ticket is unique per session only (one person, rehearsal and formal): the
        # registration meant is the one whose current login this token is.
        rows = await db.scalars(select(models.Candidate).where(models.Candidate.ticket == ticket))
        candidate = next(
            (
                row
                for row in rows
                if row.login_token_hash and hmac.compare_digest(presented, row.login_token_hash)
            ),
            None,
        )
        if candidate is None:
            raise refused
        data = await photo_of(db, candidate.id)
    if data is None:
        # Not an error for the page (a browser logs every 4xx as one): simply none.
        return web.Response(status=204, headers={"Cache-Control": "no-store, private"})
    return _jpeg(data)


async def staff_photo(request: web.Request) -> web.Response:
    """GET /console/sessions/{code}/photos/{candidate_id}.jpg: for the session's staff."""
    _, _, exam = await require_session(request, Action.VIEW_PHOTO, request.match_info["code"])
    try:
        candidate_id = int(request.match_info["candidate_id"])
    except ValueError:
        raise NotFound("no such candidate") from None
    async with request.app[SESSIONMAKER]() as db:
        candidate = await db.get(models.Candidate, candidate_id)
        data = (
            await photo_of(db, candidate_id)
            if candidate is not None and candidate.session_id == exam.id
            else None
        )
    if data is None:
        raise NotFound(f"no photo of candidate {candidate_id} in session {exam.code}")
    return _jpeg(data)


def setup(app: web.Application) -> None:
    app.router.add_get("/candidate/photo", own_photo)
    app.router.add_get(r"/console/sessions/{code}/photos/{candidate_id:\d{1,12}}.jpg", staff_photo)
