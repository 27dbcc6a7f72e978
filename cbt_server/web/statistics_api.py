"""GET /api/v1/statistics: item and test statistics of graded results, for the centre.

Same token scope as the results API (results:read) and the same filters; the figures are
those of `cbt_server.stats` (docs/statistics.md). Loading pages through short
transactions and computing off the event loop keeps a large selection from holding up
the candidates' sockets; one computation runs at a time (with the item analysis page),
so memory stays that of one selection (about 600 MB for 30,000 results of 100 items).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json

from aiohttp import web

from cbt_server.errors import Conflict, NotAuthenticated
from cbt_server.keys import CIPHER, SESSIONMAKER, STATISTICS_TURN
from cbt_server.results import openapi
from cbt_server.results.feed import parse_filters
from cbt_server.stats import api_spec
from cbt_server.stats.errors import ResultDataError
from cbt_server.stats.load import selection_statistics
from cbt_server.tokens import Scope, authenticate, bearer_secret
from cbt_server.web.errors import domain_error_response


async def statistics(request: web.Request) -> web.Response:
    try:
        async with request.app[SESSIONMAKER].begin() as session:
            secret = bearer_secret(request.headers.get("Authorization"))
            await authenticate(session, secret, Scope.RESULTS_READ)
    except NotAuthenticated as error:
        response = domain_error_response(error)
        response.headers["WWW-Authenticate"] = 'Bearer realm="cbt"'
        return response
    # The centre's figures: formal sessions only, as the results API it recomputes from.
    filters = dataclasses.replace(parse_filters(request.query), formal_only=True)
    try:
        async with request.app[STATISTICS_TURN]:
            answer = await selection_statistics(
                request.app[SESSIONMAKER], request.app[CIPHER], filters
            )
    except ResultDataError as error:
        message = f"a stored result cannot be read: {error}"
        raise Conflict(message, code="unreadable_result") from None
    body = await asyncio.to_thread(
        lambda: json.dumps(answer, ensure_ascii=False, allow_nan=False).encode("utf-8")
    )
    return web.Response(body=body, content_type="application/json", charset="utf-8")


def setup(app: web.Application) -> None:
    """Mount GET /api/v1/statistics and describe it in the OpenAPI document."""
    app[STATISTICS_TURN] = asyncio.Lock()
    app.router.add_get("/api/v1/statistics", statistics)
    openapi.register_paths(app, api_spec.PATHS, api_spec.SCHEMAS)
