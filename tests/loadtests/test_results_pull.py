import asyncio
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from loadtests.results_pull import PullError, pull, pull_until

TOKEN = "cbt_secret"


def result(n: int) -> dict[str, Any]:
    return {"ticket": f"T{n}", "responses": []}


async def results(request: web.Request) -> web.Response:
    if request.headers.get("Authorization") != f"Bearer {TOKEN}":
        return web.json_response({"error": {"code": "not_authenticated"}}, status=401)
    assert request.query["session"] == "LOAD-01"
    pages = {None: ([result(1), result(2)], "c2"), "c2": ([result(3)], "c3"), "c3": ([], None)}
    rows, after = pages[request.query.get("after")]
    return web.json_response({"results": rows, "next": after})


@pytest.fixture
async def server() -> Any:
    app = web.Application()
    app.router.add_get("/api/v1/results", results)
    test_server = TestServer(app, host="127.0.0.1")
    await test_server.start_server()
    yield test_server
    await test_server.close()


async def test_pull_follows_the_cursor_to_the_end(server: TestServer) -> None:
    base = str(server.make_url("/"))
    got = await asyncio.to_thread(pull, base, TOKEN, "LOAD-01")
    assert [r["ticket"] for r in got] == ["T1", "T2", "T3"]


async def test_a_refused_token_is_reported_with_the_status(server: TestServer) -> None:
    base = str(server.make_url("/"))
    with pytest.raises(PullError, match="HTTP 401"):
        await asyncio.to_thread(pull, base, "wrong", "LOAD-01")


async def test_pull_until_waits_for_results_still_being_graded() -> None:
    calls = 0

    async def slowly(request: web.Request) -> web.Response:
        nonlocal calls
        calls += 1
        rows = [result(n) for n in range(1, min(calls, 3) + 1)]
        after = request.query.get("after")
        return web.json_response({"results": [] if after else rows, "next": None if after else "x"})

    app = web.Application()
    app.router.add_get("/api/v1/results", slowly)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        base = str(server.make_url("/"))
        got = await asyncio.to_thread(pull_until, base, TOKEN, "S", expect=3, wait_s=30)
        assert len(got) == 3 and calls == 4  # two pulls of two pages each
        few = await asyncio.to_thread(pull_until, base, TOKEN, "S", expect=9, wait_s=0)
        assert len(few) == 3  # gives up at once with what there is
    finally:
        await server.close()
