"""Every route the app registers, knocked on by everyone with hostile requests.

Routes are read from the app's router, so a route added later is crawled too. Each is
requested by every identity (http_identities.py) with its own method and with others,
random and malformed path parameters, query strings and bodies (JSON, forms, multipart,
bytes, deep nesting, wrong content types). Never a 5xx; under /api/ every error is the one
JSON shape {"error": {"code", "message"}}; nobody but a signed-in staff member with the
CSRF token changes anything through a staff form.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import aiohttp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.security.conftest import Site
from tests.security.frames import json_values, weighted
from tests.security.http_identities import Identity, identities
from tests.security.test_ws_candidate_fuzz import fuzz_settings

EXAMPLES = 400
METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD")
QUERY_KEYS = ("after", "limit", "session", "occupation", "level", "final", "bytes", "room", "next")
CONTENT_TYPES = (
    "application/json",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=xyz",
    "multipart/form-data",
    "text/plain",
    "application/octet-stream",
    "text/csv; charset=gb2312",
    "garbage",
)


HOSTILE_BODIES: tuple[tuple[bytes, str], ...] = (
    (b"[" * 60_000 + b"]" * 60_000, "application/json"),
    (b"[" * 30_000 + b"]" * 30_000, "application/json"),  # deep, yet under 64 KiB
    (b'{"a":' * 20_000 + b"1" + b"}" * 20_000, "application/json"),
    (b"--xyz\r\nno headers here", "multipart/form-data; boundary=xyz"),
    (b"a=1", "multipart/form-data"),
    (b"username=\xff\xfe&password=\xc0", "application/x-www-form-urlencoded"),
    (b"username=a", "application/x-www-form-urlencoded; charset=no-such-charset"),
    (b"\xff\xfe\x00garbage", ""),
    (json.dumps({"hostname": "pc-01", "deep": [[[[[[]]]]]]}).encode(), "application/json"),
)
"""Bodies sent to every route that takes one, by everyone: deep JSON nesting, broken
multipart, bytes that are not in the declared charset, an unknown charset."""


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # canonical, with {placeholders}


def routes(site: Site) -> list[Route]:
    found = {
        Route(r.method, r.resource.canonical)
        for r in site.app.router.routes()
        if r.resource is not None and r.method != "HEAD"
    }
    return sorted(found, key=lambda r: (r.path, r.method))


def error_shape_problem(status: int, content_type: str, body: bytes) -> str | None:
    """Why an API error response is not the one error shape, or None."""
    if content_type != "application/json":
        return f"{status} with content type {content_type!r}"
    try:
        data = json.loads(body)
    except ValueError:
        return f"{status} with a body that is not JSON: {body[:80]!r}"
    if not isinstance(data, dict) or set(data) != {"error"}:
        return f"{status} body is not {{'error': ...}}: {data!r}"[:300]
    error = data["error"]
    if not isinstance(error, dict) or set(error) != {"code", "message"}:
        return f"{status} error is not {{code, message}}: {error!r}"[:300]
    if not (isinstance(error["code"], str) and error["code"] and isinstance(error["message"], str)):
        return f"{status} error code/message are not text: {error!r}"[:300]
    return None


def judge(
    path: str, status: int, content_type: str, body: bytes, method: str = "GET"
) -> str | None:
    """What is wrong with one response, or None."""
    if status >= 500:
        return f"server error {status}: {body[:300]!r}"
    api = path.startswith("/api/")
    if method == "HEAD":  # no body to judge
        return (
            None
            if status < 400 or not api or content_type == "application/json"
            else (f"{status} with content type {content_type!r}")
        )
    if status >= 400 and (api or content_type == "application/json"):
        return error_shape_problem(status, content_type, body)
    return None


# --- hypothesis: the requests ---------------------------------------------------------


def path_values(name: str) -> st.SearchStrategy[str]:
    if name == "code":
        known = st.sampled_from(["S-01", "S-02", "s-01", "S-01 ", "NOPE", "..", "%2e%2e"])
    else:  # static files
        known = st.sampled_from(
            [
                "candidate/app.js",
                "console/console.css",
                "i18n/zh-CN.json",
                "../cbt_server/settings.py",
                "..%2f..%2fpyproject.toml",
                "candidate/../../../README.md",
                "%00",
                "candidate/app.000000000000.js",
                "/etc/passwd",
            ]
        )
    return weighted((3, known), (1, st.text(min_size=1, max_size=60)))


def fill(path: str, draw: Any) -> str:
    """The canonical path with its placeholders drawn, percent-encoded as a client would
    (sometimes with raw, broken percent escapes)."""
    parts = []
    for part in path.split("/"):
        if part.startswith("{") and part.endswith("}"):
            value = draw(path_values(part[1:-1].split(":")[0]))
            keep = "/%" if draw(st.booleans()) else ""
            parts.append(quote(value, safe=keep))
        else:
            parts.append(part)
    return "/".join(parts)


def queries() -> st.SearchStrategy[str]:
    values = st.one_of(
        st.text(max_size=30),
        st.integers(-(2**40), 2**40).map(str),
        st.sampled_from(["", "0", "1", "1000", "1001", "true", "null", "16777216", "-1", "%zz"]),
    )
    pairs = st.lists(
        st.tuples(weighted((3, st.sampled_from(QUERY_KEYS)), (1, st.text(max_size=10))), values),
        max_size=5,
    )
    return weighted(
        (3, pairs.map(urlencode)),
        (1, st.sampled_from(["%zz", "a=%", "=&=&", "limit=1&limit=2", "next=//evil.example"])),
    )


def bodies() -> st.SearchStrategy[tuple[bytes, str | None]]:
    """(body, content type or None)."""
    form = st.dictionaries(
        st.sampled_from(["username", "password", "role", "session", "leader", "csrf_token",
                         "login_token", "next", "display_name"]) | st.text(max_size=8),
        st.text(max_size=40),
        max_size=6,
    ).map(lambda d: urlencode(d).encode())  # fmt: skip
    raw = weighted(
        (3, st.just(b"")),
        (2, json_values().map(lambda v: json.dumps(v).encode())),
        (2, form),
        (1, st.binary(max_size=300)),
        (1, st.integers(100, 30_000).map(lambda n: b"[" * n + b"]" * n)),
        (1, st.integers(1, 200_000).map(lambda n: b"x" * n)),
        (1, st.just(b'--xyz\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--xyz--')),
    )
    kinds = weighted((2, st.none()), (3, st.sampled_from(CONTENT_TYPES)))
    return st.tuples(raw, kinds)


@dataclass
class Crawl:
    base: str
    routes: list[Route]
    who: list[Identity]
    requests: int = 0

    def send(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, str, bytes]:
        parts = urlsplit(self.base)
        connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=60)
        try:
            connection.request(method, target, body=body or None, headers=headers)
            response = connection.getresponse()
            data = response.read()
            content_type = (response.getheader("Content-Type") or "").split(";")[0].strip()
            return response.status, content_type, data
        finally:
            connection.close()
            self.requests += 1


def crawl_example(crawl: Crawl, data: st.DataObject) -> None:
    route = data.draw(st.sampled_from(crawl.routes), label="route")
    method = data.draw(
        weighted((4, st.just(route.method)), (1, st.sampled_from(METHODS + ("PROPFIND",)))),
        label="method",
    )
    who = data.draw(st.sampled_from(crawl.who), label="who")
    path = fill(route.path, data.draw)
    query = data.draw(queries(), label="query")
    body, content_type = data.draw(bodies(), label="body")
    # The CSRF token is sent sometimes, so forms are fuzzed past the check; never to
    # sign out (that would end this identity for the rest of the run).
    with_csrf = data.draw(st.booleans(), label="csrf") and route.path != "/staff/logout"
    headers = who.headers(with_csrf)
    if content_type:
        headers["Content-Type"] = content_type
    target = f"{path}?{query}" if query else path
    status, kind, answer = crawl.send(method, target, headers, body)
    problem = judge(path, status, kind, answer, method)
    assert problem is None, f"{method} {target} as {who.name}: {problem}"


async def test_every_route_as_everyone_never_fails(
    site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    await site.start(site.s1)
    candidate, state = await site.quiet_login(site.s1.people[0])
    everyone = await identities(site, state["resume_token"])
    crawl = Crawl(site.base_url, routes(site), everyone)
    assert len(crawl.routes) >= 25

    # First every route as everyone, plainly: its own method, no body.
    problems = []
    async with aiohttp.ClientSession() as http_client:
        for route in crawl.routes:
            path = route.path.replace("{code}", "S-01").replace("{path}", "candidate/app.js")
            for who in everyone:
                headers = who.headers(with_csrf=route.path != "/staff/logout")
                async with http_client.request(
                    route.method, site.base_url + path, headers=headers, allow_redirects=False
                ) as response:
                    body = await response.read()
                    problem = judge(path, response.status, response.content_type, body)
                if problem:
                    problems.append(f"{route.method} {path} as {who.name}: {problem}")
    # Then every route that takes a body, with each hostile body, as everyone.
    async with aiohttp.ClientSession() as http_client:
        for route in crawl.routes:
            if route.method != "POST":
                continue
            path = route.path.replace("{code}", "S-01")
            for who in everyone:
                for body, content_type in HOSTILE_BODIES:
                    headers = who.headers(with_csrf=route.path != "/staff/logout")
                    if content_type:
                        headers["Content-Type"] = content_type
                    async with http_client.post(
                        site.base_url + path, data=body, headers=headers, allow_redirects=False
                    ) as response:
                        answer = await response.read()
                        problem = judge(path, response.status, response.content_type, answer)
                    if problem:
                        problems.append(f"POST {path} as {who.name} ({body[:20]!r}): {problem}")
    assert not problems, "\n".join(problems)

    @fuzz_settings(EXAMPLES)
    @given(data=st.data())
    def property_(data: st.DataObject) -> None:
        crawl_example(crawl, data)

    await asyncio.to_thread(property_)
    assert crawl.requests == EXAMPLES
    # Still serving: the candidate's socket answers, the server is healthy.
    await candidate.send({"type": "ping"})
    await candidate.expect("pong")
    await candidate.close()
    async with (
        aiohttp.ClientSession() as http_client,
        http_client.get(site.base_url + "/healthz") as response,
    ):
        assert response.status == 200
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]


@pytest.mark.parametrize(
    ("status", "content_type", "body", "ok"),
    [
        (404, "application/json", b'{"error": {"code": "not_found", "message": "x"}}', True),
        (404, "text/html", b"<h1>404</h1>", False),
        (400, "application/json", b'{"error": "bad"}', False),
        (400, "application/json", b'{"error": {"code": "", "message": "m"}}', False),
        (403, "application/json", b'{"error": {"code": "c", "message": "m", "x": 1}}', False),
        (200, "text/html", b"<html>", True),
    ],
)
def test_the_error_shape_judge(status: int, content_type: str, body: bytes, ok: bool) -> None:
    assert (judge("/api/v1/x", status, content_type, body) is None) is ok
    assert judge("/api/v1/x", 502, "application/json", body) is not None
