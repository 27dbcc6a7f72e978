"""A live server answers /healthz, and every error has the one JSON shape."""

from __future__ import annotations

import aiohttp

from tests.conftest import LiveServer


async def test_healthz(live_server: LiveServer) -> None:
    async with aiohttp.ClientSession() as http, http.get(f"{live_server.base_url}/healthz") as resp:
        assert resp.status == 200
        body = await resp.json()
    assert body["status"] == "ok"
    assert body["database"] in {"sqlite", "postgresql"}
    # This server runs inside the test's own loop (pytest-asyncio's, asyncio's kind).
    assert body["event_loop"] == "asyncio"
    assert isinstance(body["loop_stalls"], int) and body["loop_stalls"] >= 0


async def test_unknown_path_has_error_shape(live_server: LiveServer) -> None:
    async with aiohttp.ClientSession() as http, http.get(f"{live_server.base_url}/nope") as resp:
        assert resp.status == 404
        assert resp.content_type == "application/json"
        body = await resp.json()
    assert body == {"error": {"code": "not_found", "message": "Not Found"}}


async def test_wrong_method_has_error_shape(live_server: LiveServer) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{live_server.base_url}/healthz") as resp,
    ):
        assert resp.status == 405
        body = await resp.json()
        assert "GET" in resp.headers["Allow"]
    assert body["error"]["code"] == "method_not_allowed"


async def test_security_headers_on_every_response(live_server: LiveServer) -> None:
    async with aiohttp.ClientSession() as http:
        for path in ("/healthz", "/nope"):
            async with http.get(f"{live_server.base_url}{path}") as resp:
                csp = resp.headers["Content-Security-Policy"]
                assert "script-src 'self'" in csp and "unsafe-inline" not in csp
                assert "frame-ancestors 'none'" in csp
                assert resp.headers["X-Frame-Options"] == "DENY"
                assert resp.headers["X-Content-Type-Options"] == "nosniff"
