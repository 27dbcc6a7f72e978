"""The staff console: the list of sessions, the live room page, the score chart and the
session's audit trail. The console's scripts and styles live in client_web/static/console/
and are served by cbt_server.web.static.

The live seat grid itself is driven by the browser over the runtime's `/ws/proctor`
WebSocket; this module serves the page that hosts it, with what the script needs in
`data-*` attributes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web
from sqlalchemy import select

from cbt_server import audit
from cbt_server.auth.access import duty_of
from cbt_server.auth.policy import Action, Duty, Role, decide
from cbt_server.auth.principal import Principal
from cbt_server.auth.web import (
    current_principal,
    page_context,
    require,
    require_page,
    require_session,
)
from cbt_server.db.models import Assignment, Room
from cbt_server.enrolment.sessions import room_sittings, sessions_with_rooms
from cbt_server.errors import NotAuthenticated, NotFound
from cbt_server.keys import SESSIONMAKER
from cbt_server.paperwork.chart import render_chart
from cbt_server.paperwork.records import load_score_summary
from cbt_server.protocol import SUBPROTOCOL
from cbt_server.web.templates import render

PROCTOR_WS_PATH = "/ws/proctor"
OFFLINE_WARNING_MS = 30_000


async def _visible_sessions(request: web.Request, principal: Principal) -> list[dict[str, Any]]:
    """The sessions this staff member may see, with room, candidates and their duty."""
    duties: dict[int, Duty] = {}
    async with request.app[SESSIONMAKER]() as db:
        if principal.role is not Role.LAB_ADMIN:
            for row in await db.scalars(
                select(Assignment).where(Assignment.user_id == principal.user_id)
            ):
                duties[row.session_id] = Duty.LEADER if row.leader else Duty.MEMBER
        only = None if principal.role is Role.LAB_ADMIN else set(duties)
        rows = await sessions_with_rooms(db, only=only, by_schedule=True)
    return [
        {"exam": exam, "room": room, "candidates": n, "duty": duties.get(exam.id, Duty.NONE)}
        for exam, room, n in rows
    ]


async def session_list(request: web.Request) -> web.Response:
    principal, _ = await require_page(request, Action.LIST_SESSIONS)
    sessions = await _visible_sessions(request, principal)
    return render(request, "console/sessions.html", page_context(principal, sessions=sessions))


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


async def sessions_json(request: web.Request) -> web.Response:
    """GET /api/staff/sessions[?code=C]: the sessions this staff member may see, as JSON;
    each with the integer `id` the console's `hello` names. With `code`, that one session
    (404 if it does not exist or is not this member's to see)."""
    principal, _ = await require(request, Action.LIST_SESSIONS)
    code = request.query.get("code")
    rows = await _visible_sessions(request, principal)
    if code is not None:
        rows = [row for row in rows if row["exam"].code == code]
        if not rows:
            raise NotFound(f"no exam session with code {code!r} that you may see")
    return web.json_response(
        {
            "sessions": [
                {
                    "id": row["exam"].id,
                    "code": row["exam"].code,
                    "title": row["exam"].title,
                    "state": row["exam"].state,
                    "room": row["room"].code,
                    "seats": row["room"].seat_count,
                    "candidates": row["candidates"],
                    "blueprint_id": row["exam"].blueprint_id,
                    "duty": row["duty"].value,
                    "scheduled_at": _iso(row["exam"].scheduled_at),
                    "signed_by": row["exam"].signed_by,
                    "signed_at": _iso(row["exam"].signed_at),
                }
                for row in rows
            ]
        }
    )


async def whoami(request: web.Request) -> web.Response:
    """GET /api/staff/me: who is signed in, and the CSRF token a program sends in
    X-CSRF-Token with every state-changing request (pages carry it in a meta tag)."""
    principal = await current_principal(request)
    if principal is None:
        raise NotAuthenticated("sign in as staff first (/staff/login)")
    return web.json_response(
        {
            "username": principal.username,
            "role": principal.role.value,
            "csrf_token": principal.csrf_token,
        },
        headers={"Cache-Control": "no-store"},
    )


async def session_page(request: web.Request) -> web.Response:
    principal, duty, exam = await require_session(
        request, Action.VIEW_SESSION, request.match_info["code"], page=True
    )
    async with request.app[SESSIONMAKER]() as db:
        room = await db.get(Room, exam.room_id)
        sittings = [
            other
            for other in await room_sittings(db, exam)
            if other.id == exam.id
            or decide(
                principal.role,
                await duty_of(db, principal.user_id, other.id),
                Action.VIEW_SESSION,
            )
        ]
    here = next(i for i, other in enumerate(sittings) if other.id == exam.id)
    return render(
        request,
        "console/session.html",
        page_context(
            principal,
            exam=exam,
            room=room,
            duty=duty,
            can_run=decide(principal.role, duty, Action.START),
            can_sign=decide(principal.role, duty, Action.SIGN_SUMMARY),
            can_see_photos=decide(principal.role, duty, Action.VIEW_PHOTO),
            ws_path=PROCTOR_WS_PATH,
            protocol=SUBPROTOCOL,
            offline_warning_ms=OFFLINE_WARNING_MS,
            sittings=sittings,
            next_sitting=sittings[here + 1] if here + 1 < len(sittings) else None,
        ),
    )


async def score_chart(request: web.Request) -> web.Response:
    _, _, exam = await require_session(request, Action.VIEW_SESSION, request.match_info["code"])
    async with request.app[SESSIONMAKER]() as db:
        summary = await load_score_summary(db, exam)
    svg = render_chart(summary.figures, title=f"{exam.code} 成绩分布 Score distribution")
    return web.Response(
        text=svg,
        content_type="image/svg+xml",
        charset="utf-8",
        headers={"Cache-Control": "no-store"},
    )


async def session_audit(request: web.Request) -> web.Response:
    _, _, exam = await require_session(request, Action.VIEW_AUDIT, request.match_info["code"])
    async with request.app[SESSIONMAKER]() as db:
        entries = await audit.entries_for_session(db, exam.code)
    return web.json_response(
        {
            "session": exam.code,
            "entries": [
                {
                    "id": e.id,
                    "at": e.at.isoformat(),
                    "actor": e.actor,
                    "role": e.role,
                    "action": e.action,
                    "target": e.target,
                    "reason": e.reason,
                    "data": e.data,
                    "hash": e.hash,
                }
                for e in entries
            ],
        }
    )


async def verify_audit(request: web.Request) -> web.Response:
    await require(request, Action.VERIFY_AUDIT)
    async with request.app[SESSIONMAKER]() as db:
        report = await audit.verify_chain(db)
    return web.json_response(
        {
            "intact": report.intact,
            "entries": report.entries,
            "tail_hash": report.tail_hash,
            "broken_id": report.broken_id,
            "problem": report.problem,
        }
    )


def setup(app: web.Application) -> None:
    app.router.add_get("/console", session_list)
    app.router.add_get("/console/sessions/{code}", session_page)
    app.router.add_get("/console/sessions/{code}/chart.svg", score_chart)
    app.router.add_get("/api/staff/me", whoami)
    app.router.add_get("/api/staff/sessions", sessions_json)
    app.router.add_get("/api/staff/sessions/{code}/audit", session_audit)
    app.router.add_get("/api/staff/audit/verify", verify_audit)
