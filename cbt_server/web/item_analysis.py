"""GET /paperwork/sessions/{code}/item-analysis: 试题分析, the item analysis of a session.

For staff who may see the session (policy `session.statistics`: the lab administrator,
the session's examiners and leader, its supervisors). A table of every item with its
figures, text and the share choosing each option, flagged items first and sortable by
any column (`?sort=facility&desc=1`, links in the headers, no script needed), and the
facility × discrimination chart as inline SVG. The items' text is shown only once the
session has ended: while it runs, a candidate who submitted early already has figures,
but the room must not see the paper on a screen at the front.
"""

from __future__ import annotations

from aiohttp import web

from cbt_server.auth.policy import Action
from cbt_server.auth.web import now_of, page_context, require_session
from cbt_server.exam.state import SessionState
from cbt_server.keys import CIPHER, SESSIONMAKER, STATISTICS_TURN
from cbt_server.paperwork.records import session_header
from cbt_server.results.feed import Filters
from cbt_server.stats.load import statistics_and_items
from cbt_server.stats.scatter import render_scatter
from cbt_server.stats.view import SORT_KEYS, item_rows, scatter_points
from cbt_server.web.templates import render


async def item_analysis(request: web.Request) -> web.Response:
    principal, _, exam = await require_session(
        request, Action.VIEW_STATISTICS, request.match_info["code"], page=True
    )
    sort = request.query.get("sort", "flags")
    sort = sort if sort in SORT_KEYS else "flags"
    descending = request.query.get("desc") == "1"
    sessionmaker = request.app[SESSIONMAKER]
    async with request.app[STATISTICS_TURN]:
        answer, items = await statistics_and_items(
            sessionmaker, request.app[CIPHER], Filters(session=exam.code)
        )
    async with sessionmaker() as db:
        header = await session_header(db, exam)
    ended = exam.state == SessionState.ENDED
    points, left_out = scatter_points(answer)
    return render(
        request,
        "paperwork/item_analysis.html",
        page_context(
            principal,
            session=header,
            answer=answer,
            test=answer["test"],
            rows=item_rows(answer, items if ended else {}, sort, descending),
            content_shown=ended,
            sort=sort,
            descending=descending,
            scatter_svg=render_scatter(points, left_out=left_out),
            printed_at=now_of(request.app),
        ),
    )


def setup(app: web.Application) -> None:
    app.router.add_get("/paperwork/sessions/{code}/item-analysis", item_analysis)
