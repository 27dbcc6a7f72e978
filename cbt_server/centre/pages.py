"""The centre's HTTP edge: the dashboard, the site register, a person's history, the JSON
API and the xlsx export. Every handler asks `auth.web.require` first (centre roles).

JSON (for programs and the enrolment check):
- GET  /centre/api/sites                       sites with their states and reasons
- POST /centre/api/pull                        pull every site now (administrator)
- GET  /centre/api/people/{id_number}          a person's parts and attempts
- GET  /centre/api/people/{id_number}/resit    ?occupation=&level=[&site=]: accepted or not
- GET  /centre/api/summary                     per occupation and level figures
- GET  /centre/api/v1/assignments              the site's assigned examiners (site token)
- GET  /centre/api/v1/resit                    for a site's enrolment check, with the token
                                               the centre issued the site (Bearer): a
                                               resit there of ?id_number=&occupation=&level=
"""

from __future__ import annotations

from datetime import date
from typing import Any

from aiohttp import web

from cbt_server.auth.policy import Action, Role
from cbt_server.auth.web import page_context, read_form, require, require_page, see_other
from cbt_server.centre import examiners, history, sites, week
from cbt_server.centre.dashboard import flagged_results, load_sites, load_summary
from cbt_server.centre.export import summary_workbook
from cbt_server.centre.ingest import pull_all
from cbt_server.centre.regrade import CHINA
from cbt_server.errors import InvalidInput
from cbt_server.idcard import normalise, problem
from cbt_server.keys import CENTRE_BANK, CENTRE_CLOCK, SESSIONMAKER
from cbt_server.paperwork.chart import render_chart
from cbt_server.tokens import bearer_secret
from cbt_server.web.templates import render
from item_bank.catalogue import LEVELS, OCCUPATIONS

OCCUPATION_NAMES = {o.code: o.name_zh for o in OCCUPATIONS}
LEVEL_NAMES = {number: names[0] for number, names in LEVELS.items()}


def _today(request: web.Request) -> date:
    return request.app[CENTRE_CLOCK]().astimezone(CHINA).date()


def _id_number(text: str) -> str:
    number = normalise(text)
    trouble = problem(number)
    if trouble is not None:
        raise InvalidInput(f"id_number: {trouble}")
    return number


async def dashboard(request: web.Request) -> web.Response:
    principal, _ = await require_page(request, Action.CENTRE_VIEW)
    async with request.app[SESSIONMAKER]() as db:
        site_views = await load_sites(db, request.app[CENTRE_CLOCK]())
        groups = await load_summary(db)
        flagged = await flagged_results(db)
        readiness = await week.load_readiness(db, request.app[CENTRE_CLOCK]())
        sessions = await week.sessions_of_week(db, _today(request))
    charts = [
        render_chart(
            g.figures,
            title=f"{OCCUPATION_NAMES.get(g.occupation, g.occupation)}"
            f"（{LEVEL_NAMES.get(g.level, g.level)}）成绩分布",
        )
        for g in groups
    ]
    context = page_context(
        principal,
        sites=site_views,
        groups=list(zip(groups, charts, strict=True)),
        flagged=flagged,
        readiness=readiness,
        sessions=sessions,
        occupation_names=OCCUPATION_NAMES,
        level_names=LEVEL_NAMES,
        is_admin=principal.role is Role.CENTRE_ADMIN,
    )
    return render(request, "centre/dashboard.html", context)


async def sites_page(request: web.Request) -> web.Response:
    principal, _ = await require_page(request, Action.CENTRE_VIEW)
    async with request.app[SESSIONMAKER]() as db:
        site_views = await load_sites(db, request.app[CENTRE_CLOCK]())
        offered = {s.code: s.offered_kid for s in await sites.list_sites(db) if s.offered_kid}
    context = page_context(
        principal,
        sites=site_views,
        offered=offered,
        is_admin=principal.role is Role.CENTRE_ADMIN,
    )
    return render(request, "centre/sites.html", context)


def _field(form: Any, name: str) -> str:
    value = form.get(name, "")
    return value if isinstance(value, str) else ""


async def add_site(request: web.Request) -> web.Response:
    principal, _ = await require(request, Action.CENTRE_MANAGE)
    form = await read_form(request)
    async with request.app[SESSIONMAKER].begin() as db:
        site, secret = await sites.add_site(
            db,
            _field(form, "code"),
            _field(form, "url"),
            _field(form, "token"),
            name=_field(form, "name"),
            actor=principal.username,
        )
        code = site.code
    context = page_context(principal, code=code, secret=secret)
    return render(request, "centre/site_added.html", context, status=201)


async def trust_key(request: web.Request) -> web.Response:
    principal, _ = await require(request, Action.CENTRE_MANAGE)
    form = await read_form(request)
    async with request.app[SESSIONMAKER].begin() as db:
        await sites.trust_key(
            db,
            request.match_info["code"],
            actor=principal.username,
            kid=_field(form, "kid") or None,
        )
    return see_other("/centre/sites")


async def sites_json(request: web.Request) -> web.Response:
    await require(request, Action.CENTRE_VIEW)
    async with request.app[SESSIONMAKER]() as db:
        views = await load_sites(db, request.app[CENTRE_CLOCK]())
    return web.json_response({"sites": [v.to_json() for v in views]})


async def pull_now(request: web.Request) -> web.Response:
    await require(request, Action.CENTRE_MANAGE)
    reports = await pull_all(request.app[SESSIONMAKER], request.app[CENTRE_BANK])
    return web.json_response(
        {
            "sites": [
                {
                    "site": r.site,
                    "pulled": r.pulled,
                    "refused": r.refused,
                    "mismatched": r.mismatched,
                    "skipped": r.skipped,
                    "status": r.status,
                    "reason": r.reason,
                }
                for r in reports
            ]
        }
    )


def _part_json(state: history.PartState) -> dict[str, Any]:
    return {
        "occupation": state.occupation,
        "level": state.level,
        "part": state.part,
        "state": state.state,
        "valid_until": state.valid_until.isoformat() if state.valid_until else None,
        "may_resit": state.may_resit,
        "resit_site": state.resit_site,
        "reason": state.reason,
        "attempts": [
            {
                "site": a.site,
                "session": a.session,
                "ticket": a.ticket,
                "exam_date": a.exam_date.isoformat(),
                "score": a.score,
                "passed": a.passed,
                "final": a.final,
                "regrade": a.status,
            }
            for a in state.attempts
        ],
    }


async def _states(request: web.Request, id_number: str) -> list[history.PartState]:
    async with request.app[SESSIONMAKER]() as db:
        attempts = await history.load_attempts(db, id_number)
    return history.part_states(attempts, _today(request))


async def person_json(request: web.Request) -> web.Response:
    await require(request, Action.CENTRE_VIEW)
    id_number = _id_number(request.match_info["id_number"])
    states = await _states(request, id_number)
    return web.json_response({"id_number": id_number, "parts": [_part_json(s) for s in states]})


async def resit_json(request: web.Request) -> web.Response:
    await require(request, Action.CENTRE_VIEW)
    id_number = _id_number(request.match_info["id_number"])
    return await _resit_answer(request, id_number, request.query.get("site") or None)


async def site_resit_json(request: web.Request) -> web.Response:
    """A site asks, with its own token, whether it may enrol this person for a resit."""
    async with request.app[SESSIONMAKER]() as db:
        site = await sites.site_for_token(db, bearer_secret(request.headers.get("Authorization")))
    id_number = _id_number(request.query.get("id_number", ""))
    return await _resit_answer(request, id_number, site.code)


async def site_assignments_json(request: web.Request) -> web.Response:
    """A site fetches, with its own token, the people assigned to its sessions."""
    async with request.app[SESSIONMAKER]() as db:
        site = await sites.site_for_token(db, bearer_secret(request.headers.get("Authorization")))
        people = await examiners.assignments_of_site(db, site.id)
    return web.json_response({"site": site.code, "assignments": people})


async def _resit_answer(request: web.Request, id_number: str, site: str | None) -> web.Response:
    occupation = request.query.get("occupation", "").strip()
    if occupation not in OCCUPATION_NAMES:
        raise InvalidInput(f"occupation: unknown occupation code {occupation!r}")
    level_text = request.query.get("level", "")
    if not level_text.isdigit() or int(level_text) not in LEVEL_NAMES:
        raise InvalidInput(f"level: 1 to 5, not {level_text!r}")
    states = await _states(request, id_number)
    decision = history.resit_decision(
        states, occupation, int(level_text), _today(request), site=site
    )
    return web.json_response(
        {"id_number": id_number, "accepted": decision.accepted, "reason": decision.reason}
    )


async def person_page(request: web.Request) -> web.Response:
    principal, _ = await require_page(request, Action.CENTRE_VIEW)
    raw = request.query.get("id_number", "")
    id_number, states, error = "", [], ""
    if raw:
        try:
            id_number = _id_number(raw)
            states = await _states(request, id_number)
        except InvalidInput as exc:
            error = exc.message
    context = page_context(
        principal,
        id_number=id_number or raw[:18],
        states=states,
        error=error,
        occupation_names=OCCUPATION_NAMES,
        level_names=LEVEL_NAMES,
    )
    return render(request, "centre/person.html", context, status=400 if error else 200)


async def summary_json(request: web.Request) -> web.Response:
    await require(request, Action.CENTRE_VIEW)
    async with request.app[SESSIONMAKER]() as db:
        groups = await load_summary(db)
    return web.json_response({"groups": [g.to_json() for g in groups]})


async def summary_xlsx(request: web.Request) -> web.Response:
    await require_page(request, Action.CENTRE_VIEW)
    async with request.app[SESSIONMAKER]() as db:
        groups = await load_summary(db)
    stamp = request.app[CENTRE_CLOCK]().strftime("%Y%m%dT%H%M%SZ")
    return web.Response(
        body=summary_workbook(groups),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="score-summary-{stamp}.xlsx"'},
    )


async def home(_request: web.Request) -> web.Response:
    return see_other("/centre")


def setup(app: web.Application) -> None:
    app.router.add_get("/", home)
    app.router.add_get("/centre", dashboard)
    app.router.add_get("/centre/sites", sites_page)
    app.router.add_post("/centre/sites", add_site)
    app.router.add_post("/centre/sites/{code}/trust-key", trust_key)
    app.router.add_get("/centre/people", person_page)
    app.router.add_get("/centre/summary.xlsx", summary_xlsx)
    app.router.add_get("/centre/api/sites", sites_json)
    app.router.add_post("/centre/api/pull", pull_now)
    app.router.add_get("/centre/api/people/{id_number}", person_json)
    app.router.add_get("/centre/api/people/{id_number}/resit", resit_json)
    app.router.add_get("/centre/api/summary", summary_json)
    app.router.add_get("/centre/api/v1/resit", site_resit_json)
    app.router.add_get("/centre/api/v1/assignments", site_assignments_json)
