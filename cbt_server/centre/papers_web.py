"""Papers out over HTTP: the site's calls (its centre token) and the administrator's page.

Site (Authorization: Bearer cbtc_…, the token the centre issued it):
- POST /centre/api/v1/paper-requests              a request (JSON) → 201 {id, status, …}
- GET  /centre/api/v1/paper-requests/{id}         its state
- GET  /centre/api/v1/paper-requests/{id}/package the sealed package (approved: else 409)
- GET  /centre/api/v1/paper-requests/{id}/key     the content key, on the exam day only
- POST /centre/api/v1/readiness                   the site's lab readiness verdict (JSON)
Centre staff:
- GET  /centre/requests                           the requests (approve button: administrator)
- POST /centre/requests/{id}/approve              assemble and seal (administrator)
- GET  /centre/api/requests                       the requests as JSON
"""

from __future__ import annotations

import base64
import json

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server.auth.policy import Action, Role
from cbt_server.auth.web import page_context, require, require_page, see_other
from cbt_server.centre import papers, sites, week
from cbt_server.centre.issuer import issuer_key
from cbt_server.centre.models import CentreSite
from cbt_server.errors import InvalidInput, NotFound
from cbt_server.keys import CENTRE_CLOCK, CIPHER, SESSIONMAKER, SETTINGS
from cbt_server.tokens import bearer_secret
from cbt_server.web.templates import render
from item_bank.seal import key_id

MAX_REQUEST_BYTES = 2 * 1024 * 1024


def _request_id(request: web.Request) -> int:
    text = request.match_info["request_id"]
    if not text.isdigit() or len(text) > 12:
        raise NotFound(f"no paper request {text!r}")
    return int(text)


async def _site(request: web.Request, db: AsyncSession) -> CentreSite:
    return await sites.site_for_token(db, bearer_secret(request.headers.get("Authorization")))


async def create_request(request: web.Request) -> web.Response:
    """A site asks for the papers of one session (and its roster's resits are checked)."""
    async with request.app[SESSIONMAKER]() as db:
        await _site(request, db)  # authenticate before reading the body
    if (request.content_length or 0) > MAX_REQUEST_BYTES:
        raise InvalidInput(f"the request is larger than {MAX_REQUEST_BYTES} bytes")
    try:
        document = json.loads(await request.read())
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("the request body must be JSON") from None
    form = papers.parse_request(document)
    now = request.app[CENTRE_CLOCK]()
    async with request.app[SESSIONMAKER].begin() as db:
        site = await _site(request, db)
        row = await papers.request_papers(db, site, form, now)
        body = papers.describe(row, site.code)
    return web.json_response(body, status=201)


async def request_state(request: web.Request) -> web.Response:
    async with request.app[SESSIONMAKER]() as db:
        site = await _site(request, db)
        row = await papers.site_request(db, site, _request_id(request))
        return web.json_response(papers.describe(row, site.code))


async def package(request: web.Request) -> web.Response:
    now = request.app[CENTRE_CLOCK]()
    async with request.app[SESSIONMAKER].begin() as db:
        site = await _site(request, db)
        data = await papers.take_package(db, site, _request_id(request), now)
    return web.Response(
        body=data,
        content_type="application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="request-{site.code}.cbtpkg"'},
    )


async def content_key(request: web.Request) -> web.Response:
    now = request.app[CENTRE_CLOCK]()
    async with request.app[SESSIONMAKER].begin() as db:
        site = await _site(request, db)
        key = await papers.release_key(db, request.app[CIPHER], site, _request_id(request), now)
    return web.json_response({"key": base64.b64encode(key).decode("ascii"), "key_id": key_id(key)})


async def push_readiness(request: web.Request) -> web.Response:
    """A site pushes its lab readiness verdict (its own GET /api/v1/lab/readiness)."""
    async with request.app[SESSIONMAKER]() as db:
        await _site(request, db)
    if (request.content_length or 0) > MAX_REQUEST_BYTES:
        raise InvalidInput(f"the verdict is larger than {MAX_REQUEST_BYTES} bytes")
    try:
        document = json.loads(await request.read())
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("the verdict must be JSON") from None
    verdict = week.parse_readiness(document)
    async with request.app[SESSIONMAKER].begin() as db:
        site = await _site(request, db)
        await week.store_readiness(db, site, verdict, request.app[CENTRE_CLOCK]())
    return web.json_response({"site": site.code, "ready": verdict["ready"]})


async def requests_page(request: web.Request) -> web.Response:
    principal, _ = await require_page(request, Action.CENTRE_VIEW)
    async with request.app[SESSIONMAKER]() as db:
        rows = await papers.list_requests(db)
    context = page_context(principal, requests=rows, is_admin=principal.role is Role.CENTRE_ADMIN)
    return render(request, "centre/requests.html", context)


async def requests_json(request: web.Request) -> web.Response:
    await require(request, Action.CENTRE_VIEW)
    async with request.app[SESSIONMAKER]() as db:
        return web.json_response({"requests": await papers.list_requests(db)})


async def approve(request: web.Request) -> web.Response:
    principal, _ = await require(request, Action.CENTRE_MANAGE)
    signing_key = issuer_key(request.app[SETTINGS].data_path)
    async with request.app[SESSIONMAKER].begin() as db:
        await papers.approve(
            db,
            request.app[CIPHER],
            signing_key,
            _request_id(request),
            actor=principal.username,
            now=request.app[CENTRE_CLOCK](),
        )
    return see_other("/centre/requests")


def setup(app: web.Application) -> None:
    app.router.add_get("/centre/requests", requests_page)
    app.router.add_post("/centre/requests/{request_id}/approve", approve)
    app.router.add_get("/centre/api/requests", requests_json)
    app.router.add_post("/centre/api/v1/paper-requests", create_request)
    app.router.add_get("/centre/api/v1/paper-requests/{request_id}", request_state)
    app.router.add_get("/centre/api/v1/paper-requests/{request_id}/package", package)
    app.router.add_get("/centre/api/v1/paper-requests/{request_id}/key", content_key)
    app.router.add_post("/centre/api/v1/readiness", push_readiness)
