"""The printable sheets of a session and the examiner leader's sign-off.

GET  /paperwork/sessions/{code}/room-record    考场记录表 (A4, print CSS)
GET  /paperwork/sessions/{code}/score-summary  成绩汇总表 (A4, print CSS, with the chart)
POST /paperwork/sessions/{code}/sign           the leader signs the summary; results final
                                               (a form: 303 back to the summary; with
                                               `Accept: application/json`: the sign-off
                                               as JSON, refusals in the one error shape)
"""

from __future__ import annotations

from urllib.parse import quote

from aiohttp import web

from cbt_server.auth.access import duty_of
from cbt_server.auth.policy import Action, decide
from cbt_server.auth.principal import Principal
from cbt_server.auth.web import now_of, page_context, require_session, see_other
from cbt_server.db.models import ExamSession
from cbt_server.errors import Conflict
from cbt_server.exam.modes import publishes
from cbt_server.keys import SESSIONMAKER
from cbt_server.paperwork.chart import render_chart
from cbt_server.paperwork.figures import format_rate, format_score
from cbt_server.paperwork.records import load_room_record, load_score_summary
from cbt_server.paperwork.signoff import sign_summary
from cbt_server.web.templates import render


async def room_record(request: web.Request) -> web.Response:
    principal, _, exam = await require_session(
        request, Action.VIEW_PAPERWORK, request.match_info["code"], page=True
    )
    async with request.app[SESSIONMAKER]() as db:
        record = await load_room_record(db, exam)
    return render(
        request,
        "paperwork/room_record.html",
        page_context(principal, record=record, printed_at=now_of(request.app)),
    )


async def _summary_page(
    request: web.Request,
    principal: Principal,
    exam: ExamSession,
    *,
    status: int = 200,
    error: str = "",
) -> web.Response:
    async with request.app[SESSIONMAKER]() as db:
        summary = await load_score_summary(db, exam)
        duty = await duty_of(db, principal.user_id, exam.id)
    can_sign = decide(principal.role, duty, Action.SIGN_SUMMARY)
    return render(
        request,
        "paperwork/score_summary.html",
        page_context(
            principal,
            summary=summary,
            chart_svg=render_chart(summary.figures),
            can_sign=can_sign and summary.session.signed_at is None and publishes(exam.mode),
            pass_rate=format_rate(summary.figures.pass_rate),
            fmt=format_score,
            error=error,
            printed_at=now_of(request.app),
        ),
        status=status,
    )


async def score_summary(request: web.Request) -> web.Response:
    principal, _, exam = await require_session(
        request, Action.VIEW_PAPERWORK, request.match_info["code"], page=True
    )
    return await _summary_page(request, principal, exam)


def _wants_json(request: web.Request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


async def sign(request: web.Request) -> web.Response:
    code = request.match_info["code"]
    principal, _, exam = await require_session(request, Action.SIGN_SUMMARY, code)
    try:
        async with request.app[SESSIONMAKER].begin() as db:
            signed = await sign_summary(db, exam, principal, now_of(request.app))
    except Conflict as error:
        if _wants_json(request):
            raise

        async with request.app[SESSIONMAKER]() as db:
            fresh = await db.get(ExamSession, exam.id)
        return await _summary_page(
            request, principal, fresh or exam, status=409, error=error.message
        )
    if _wants_json(request):
        return web.json_response(
            {
                "session": signed.session_code,
                "final": True,
                "signed_by": signed.signed_by,
                "signed_at": signed.signed_at.isoformat(),
                "results": signed.results,
                "digest": signed.digest,
            }
        )
    return see_other(f"/paperwork/sessions/{quote(code, safe='')}/score-summary")


def setup(app: web.Application) -> None:
    app.router.add_get("/paperwork/sessions/{code}/room-record", room_record)
    app.router.add_get("/paperwork/sessions/{code}/score-summary", score_summary)
    app.router.add_post("/paperwork/sessions/{code}/sign", sign)
