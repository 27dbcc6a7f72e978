"""Every staff route × every kind of user, against a live server.

Users: anonymous; the lab administrator; the examiner leader and an examiner of S1; a
proctor of S2 only (an outsider to S1); the supervisor of S1; a supervisor of S2 only.
The table also has to name every staff route the app serves (test_table_covers_...).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import aiohttp
import pytest

from cbt_server.app import create_app
from cbt_server.settings import Settings
from tests.auth.factories import new_client, signed_in
from tests.conftest import LiveServer

WHO = ("anon", "admin", "leader", "proctor", "outsider", "supervisor", "visitor")
STAFF_PREFIXES = (
    "/staff",
    "/console",
    "/paperwork",
    "/api/staff",
    "/ws/proctor",
    "/lab",
    "/api/v1/lab/readiness",
)


@dataclass(frozen=True)
class Row:
    method: str
    route: str  # the route as registered
    path: str  # the request made
    expect: dict[str, int]
    form: dict[str, str] = field(default_factory=dict)


def statuses(anon: int, admin: int, leader: int, proctor: int, outsider: int, sup: int,
             visitor: int) -> dict[str, int]:  # fmt: skip
    return dict(zip(WHO, (anon, admin, leader, proctor, outsider, sup, visitor), strict=True))


# Pages send anonymous visitors to the login page (303); data endpoints answer 401.
S1_PAGE = statuses(303, 200, 200, 200, 403, 200, 403)
S1_DATA = statuses(401, 200, 200, 200, 403, 200, 403)

TABLE: list[Row] = [
    Row("GET", "/staff/login", "/staff/login", statuses(200, 200, 200, 200, 200, 200, 200)),
    # Public, but a post without the login form's token is refused whoever sends it.
    Row(
        "POST",
        "/staff/login",
        "/staff/login",
        statuses(403, 403, 403, 403, 403, 403, 403),
        {"username": "admin", "password": "correct horse 42"},
    ),  # fmt: skip
    Row("GET", "/console", "/console", statuses(303, 200, 200, 200, 200, 200, 200)),
    Row("GET", "/console/sessions/{code}", "/console/sessions/S1", S1_PAGE),
    Row(
        "GET",
        "/console/sessions/{code}",
        "/console/sessions/S2",
        statuses(303, 200, 403, 403, 200, 403, 200),
    ),  # fmt: skip
    Row(
        "GET",
        "/console/sessions/{code}",
        "/console/sessions/NOPE",
        statuses(303, 404, 404, 404, 404, 404, 404),
    ),  # fmt: skip
    Row("GET", "/console/sessions/{code}/chart.svg", "/console/sessions/S1/chart.svg", S1_DATA),
    Row("GET", "/api/staff/sessions/{code}/audit", "/api/staff/sessions/S1/audit", S1_DATA),
    # Photos: the session's staff only, not the lab administrator (no photo here: 404;
    # tests/runtime/test_identity.py serves real ones).
    Row(
        "GET",
        "/console/sessions/{code}/photos/{candidate_id}.jpg",
        "/console/sessions/S1/photos/1.jpg",
        statuses(401, 403, 404, 404, 403, 404, 403),
    ),  # fmt: skip
    Row("GET", "/api/staff/me", "/api/staff/me", statuses(401, 200, 200, 200, 200, 200, 200)),
    # Any staff member lists the sessions they may see; by code, one they may not is 404.
    Row("GET", "/api/staff/sessions", "/api/staff/sessions", statuses(401, *[200] * 6)),
    Row(
        "GET",
        "/api/staff/sessions",
        "/api/staff/sessions?code=S1",
        statuses(401, 200, 200, 200, 404, 200, 404),
    ),  # fmt: skip
    Row(
        "GET",
        "/api/staff/audit/verify",
        "/api/staff/audit/verify",
        statuses(401, 200, 403, 403, 403, 200, 200),
    ),  # fmt: skip
    Row(
        "GET",
        "/paperwork/sessions/{code}/room-record",
        "/paperwork/sessions/S1/room-record",
        S1_PAGE,
    ),  # fmt: skip
    Row(
        "GET",
        "/paperwork/sessions/{code}/score-summary",
        "/paperwork/sessions/S1/score-summary",
        S1_PAGE,
    ),  # fmt: skip
    # docs/statistics.md: the examiners, leader and supervisors of the session, the lab admin.
    Row(
        "GET",
        "/paperwork/sessions/{code}/item-analysis",
        "/paperwork/sessions/S1/item-analysis",
        S1_PAGE,
    ),  # fmt: skip
    Row("GET", "/staff/users", "/staff/users", statuses(303, 200, 403, 403, 403, 403, 403)),
    Row(
        "POST",
        "/staff/users",
        "/staff/users",
        statuses(401, 303, 403, 403, 403, 403, 403),
        {"username": "new-user", "role": "proctor", "password": "long enough 1"},
    ),  # fmt: skip
    Row(
        "POST",
        "/staff/assignments",
        "/staff/assignments",
        statuses(401, 303, 403, 403, 403, 403, 403),
        {"username": "outsider", "session": "S2", "leader": "on"},
    ),  # fmt: skip
    # Only the examiner leader of S1 signs S1 (the outsider leads S2, not S1).
    Row(
        "POST",
        "/paperwork/sessions/{code}/sign",
        "/paperwork/sessions/S1/sign",
        statuses(401, 403, 303, 403, 403, 403, 403),
    ),  # fmt: skip
    # Lab readiness is the lab administrator's (agents' own endpoints use lab:report tokens).
    Row("GET", "/lab/readiness", "/lab/readiness", statuses(303, 200, 403, 403, 403, 403, 403)),
    Row(
        "GET",
        "/api/v1/lab/readiness",
        "/api/v1/lab/readiness",
        statuses(401, 200, 403, 403, 403, 403, 403),
    ),  # fmt: skip
    # Lab PCs and seats (issue 21): the map is the lab administrator's; the console's
    # list of the room's PCs is every reader of the session's.
    Row("GET", "/lab/seats", "/lab/seats", statuses(303, 200, 403, 403, 403, 403, 403)),
    Row(
        "POST",
        "/lab/seats/{code}/{how}",
        "/lab/seats/NOPE/accept",
        statuses(401, 400, 403, 403, 403, 403, 403),
    ),  # fmt: skip
    Row("GET", "/api/staff/sessions/{code}/pcs", "/api/staff/sessions/S1/pcs", S1_DATA),
    # Last: signs the user out.
    Row("POST", "/staff/logout", "/staff/logout", statuses(401, 303, 303, 303, 303, 303, 303)),
]


def test_table_covers_every_staff_route(settings: Settings) -> None:
    app = create_app(settings)
    served = {
        (route.method, route.resource.canonical)
        for route in app.router.routes()
        if route.method != "HEAD"
        and route.resource is not None
        and route.resource.canonical.startswith(STAFF_PREFIXES)
    }
    # The console socket is walked command by command in tests/console/test_ws_matrix.py.
    tested = {(row.method, row.route) for row in TABLE} | ({("GET", "/ws/proctor")} & served)
    assert served - tested == set(), "staff routes missing from the matrix"
    assert tested - served == set(), "matrix rows for routes the app does not serve"


async def _client(base: str, who: str) -> tuple[aiohttp.ClientSession, str]:
    if who == "anon":
        return new_client(), ""
    return await signed_in(base, who)


@pytest.mark.parametrize("who", WHO)
async def test_matrix(staff_server: LiveServer, who: str) -> None:
    base = staff_server.base_url
    http, csrf = await _client(base, who)
    failures = []
    async with http:
        for row in TABLE:
            form = dict(row.form)
            if row.method == "POST" and csrf:
                form["csrf_token"] = csrf
            async with http.request(
                row.method, f"{base}{row.path}", data=form or None, allow_redirects=False
            ) as resp:
                await resp.read()
                if resp.status != row.expect[who]:
                    failures.append(f"{row.method} {row.path}: {resp.status} != {row.expect[who]}")
    assert failures == [], f"{who}: " + "; ".join(failures)
