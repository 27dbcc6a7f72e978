"""The examiner and supervisor registers, read-only, for centre staff (viewer or
administrator): each person with their home site, failed duty checks and assignments.

- GET /centre/examiners       the page (考评员与督导员名册), Chinese first
- GET /centre/api/examiners   the same as JSON {"examiners": […], "supervisors": […]}
Changes are made with `cbt-server centre examiner …` (audited).
"""

from __future__ import annotations

from aiohttp import web

from cbt_server.auth.policy import Action
from cbt_server.auth.web import page_context, require, require_page
from cbt_server.centre import examiners
from cbt_server.keys import SESSIONMAKER
from cbt_server.web.templates import render


async def registers_page(request: web.Request) -> web.Response:
    principal, _ = await require_page(request, Action.CENTRE_VIEW)
    async with request.app[SESSIONMAKER]() as db:
        found = await examiners.registers(db)
    return render(request, "centre/registers.html", page_context(principal, **found))


async def registers_json(request: web.Request) -> web.Response:
    await require(request, Action.CENTRE_VIEW)
    async with request.app[SESSIONMAKER]() as db:
        return web.json_response(await examiners.registers(db))


def setup(app: web.Application) -> None:
    app.router.add_get("/centre/examiners", registers_page)
    app.router.add_get("/centre/api/examiners", registers_json)
