"""The city centre's results API: /api/v1/keys, /api/v1/results, /api/v1/results.csv,
/api/v1/sessions/{code}.

`setup(app)` adds the routes, describes them in the OpenAPI document, and appends a
cleanup context (after the database one) that makes the app's sessionmaker sign every
Result written through it with the site key (loaded when the app is built).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server.errors import NotAuthenticated, Unavailable
from cbt_server.keys import ENGINE, FEED_READY, SESSIONMAKER, SETTINGS, SITE_KEY
from cbt_server.results import api_spec, openapi
from cbt_server.results.csv_export import to_csv_bytes
from cbt_server.results.feed import (
    RowPage,
    feed_triggers_present,
    fetch_all,
    fetch_page,
    parse_filters,
    parse_page_request,
    publish_rows,
    verified,
)
from cbt_server.results.hooks import install_result_signing
from cbt_server.results.session_document import load_session_document
from cbt_server.results.signing import load_or_create_key
from cbt_server.tokens import Scope, authenticate, bearer_secret
from cbt_server.web.errors import domain_error_response

log = logging.getLogger(__name__)

SCOPE = Scope.RESULTS_READ


async def results_ctx(app: web.Application) -> AsyncIterator[None]:
    # Install before the first await: background tasks of contexts started earlier (the
    # runtime's deadline sweeper grades candidates) cannot run before this line, so no
    # Result is ever written unsigned by this app.
    install_result_signing(app[SESSIONMAKER], app[SITE_KEY])
    async with app[ENGINE].connect() as conn:
        ready = await feed_triggers_present(conn)
    if not ready:
        log.error(
            "the results feed triggers are missing (a migration rebuilt the results table?): "
            "GET /api/v1/results answers 503 until migration 0003's triggers are restored"
        )
    app[FEED_READY] = ready
    yield


class _Unauthenticated(Exception):
    def __init__(self, response: web.Response) -> None:
        self.response = response


async def _authorize(request: web.Request, session: AsyncSession) -> None:
    try:
        await authenticate(session, bearer_secret(request.headers.get("Authorization")), SCOPE)
    except NotAuthenticated as error:
        response = domain_error_response(error)
        response.headers["WWW-Authenticate"] = 'Bearer realm="cbt"'
        raise _Unauthenticated(response) from None


async def keys(request: web.Request) -> web.Response:
    return web.json_response({"keys": [request.app[SITE_KEY].describe()]})


async def results(request: web.Request) -> web.Response:
    try:
        async with request.app[SESSIONMAKER].begin() as session:
            await _authorize(request, session)
            page_request = parse_page_request(request.query)
            if not request.app[FEED_READY]:
                raise Unavailable("the results feed is unavailable: database triggers missing")
            loaded = await fetch_page(session, page_request)
    except _Unauthenticated as refused:
        return refused.response
    # Building a page of documents is CPU work (about 1 ms per 100-item result here):
    # off the event loop, so candidates' WebSockets are not held up by a centre's pull.
    body = await asyncio.to_thread(_render_json, loaded)
    return web.Response(body=body, content_type="application/json", charset="utf-8")


async def session_document(request: web.Request) -> web.Response:
    try:
        async with request.app[SESSIONMAKER].begin() as session:
            await _authorize(request, session)
            document = await load_session_document(session, request.match_info["code"])
    except _Unauthenticated as refused:
        return refused.response
    return web.json_response(document, dumps=_dumps)


def _dumps(data: object) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def _render_json(loaded: RowPage) -> bytes:
    page = loaded.publish().to_json()
    return json.dumps(page, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _csv_filename(session_code: str | None) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    part = re.sub(r"[^A-Za-z0-9_-]+", "_", session_code)[:40] if session_code else ""
    return f"results-{part}-{stamp}.csv" if part else f"results-{stamp}.csv"


async def results_csv(request: web.Request) -> web.Response:
    try:
        async with request.app[SESSIONMAKER].begin() as session:
            await _authorize(request, session)
            filters = parse_filters(request.query)
            rows = await fetch_all(session, filters)
    except _Unauthenticated as refused:
        return refused.response
    key = request.app[SITE_KEY]

    def render() -> bytes:
        documents = publish_rows(rows)
        return to_csv_bytes(documents, verified(key, documents))

    body = await asyncio.to_thread(render)
    return web.Response(
        body=body,
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{_csv_filename(filters.session)}"'},
    )


def setup(app: web.Application) -> None:
    """Mount the results API. Loads (or on first use creates) the site signing key now,
    like the content key, so a bad key file stops the server before it serves anything."""
    app[SITE_KEY] = load_or_create_key(app[SETTINGS].data_path)
    app.cleanup_ctx.append(results_ctx)
    app.router.add_get("/api/v1/keys", keys)
    app.router.add_get("/api/v1/results", results)
    app.router.add_get("/api/v1/results.csv", results_csv)
    app.router.add_get("/api/v1/sessions/{code}", session_document)
    openapi.setup(app)
    openapi.register_paths(app, api_spec.PATHS, api_spec.SCHEMAS)
