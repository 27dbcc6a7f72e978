"""Every page the server renders carries the security headers (a CSP without inline
script, no framing, no sniffing) and has nothing the CSP would block: no inline
`<script>`, no `<style>` element, no `style=` attribute, no `on*=` handler, no
`javascript:` URL. (The CSP would stop those anyway, but then the page would break.)

Pages are found by walking the app's router as each kind of visitor, on a site where an
exam has run, so the sheets hold names, scores and a chart.
"""

from __future__ import annotations

from html.parser import HTMLParser

import aiohttp
import pytest

from cbt_server.web.security import CSP
from tests.runtime.wsclient import command
from tests.security.conftest import Site
from tests.security.http_identities import identities
from tests.security.test_candidate_isolation import a_choice

RENDERED = ("text/html", "image/svg+xml")
NOT_PAGES = ("/api/", "/ws/", "/static/", "/healthz", "/candidate/photo")
"""Routes that answer data, not a page (a candidate's photo is a JPEG, and so is every
route ending in .jpg); their headers are checked all the same."""
URL_ATTRIBUTES = frozenset({"href", "src", "action", "formaction", "xlink:href", "data"})


class InlineFinder(HTMLParser):
    """Collects what a strict CSP (script-src/style-src 'self') would block."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name.lower(): value or "" for name, value in attrs}
        where = f"<{tag} line {self.getpos()[0]}>"
        if tag == "script" and "src" not in names:
            self.problems.append(f"{where}: inline script")
        if tag == "style":
            self.problems.append(f"{where}: <style> element")
        if "style" in names:
            self.problems.append(f"{where}: style attribute {names['style'][:40]!r}")
        for name, value in names.items():
            if name.startswith("on"):
                self.problems.append(f"{where}: handler {name}={value[:40]!r}")
            if name in URL_ATTRIBUTES and value.strip().lower().startswith("javascript:"):
                self.problems.append(f"{where}: javascript: URL")
        if tag == "script":
            self._in = "script"

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "script" and data.strip():
            self.problems.append(f"script body at line {self.getpos()[0]}")


def inline_problems(html: str) -> list[str]:
    finder = InlineFinder()
    finder.feed(html)
    finder.close()
    return finder.problems


def header_problems(headers: aiohttp.typedefs.LooseHeaders) -> list[str]:
    problems = []
    csp = headers.get("Content-Security-Policy", "")  # type: ignore[union-attr]
    if csp != CSP:
        problems.append(f"CSP is {csp!r}")
    for needed in ("script-src 'self'", "frame-ancestors 'none'", "object-src 'none'"):
        if needed not in csp:
            problems.append(f"CSP lacks {needed}")
    if "unsafe-inline" in csp or "unsafe-eval" in csp:
        problems.append("CSP allows unsafe-inline/eval")
    if headers.get("X-Frame-Options") != "DENY":  # type: ignore[union-attr]
        problems.append("X-Frame-Options is not DENY")
    if headers.get("X-Content-Type-Options") != "nosniff":  # type: ignore[union-attr]
        problems.append("X-Content-Type-Options is not nosniff")
    return problems


async def _run_an_exam(site: Site) -> None:
    clients = [await site.quiet_login(p) for p in site.s1.people[:3]]
    proctor = await site.proctor(site.s1)
    await command(proctor, "start")
    await command(proctor, "note", text="10:05 3 号机重启")
    for n, (client, _) in enumerate(clients):
        state = await client.expect("state")
        items = [i for s in state["paper"]["sections"] for i in s["items"]][: 30 * (n + 1)]
        for seq, item in enumerate(items, start=1):
            choice = [a_choice(item, last=seq % 3 == 0)]
            await client.send(
                {"type": "answer", "seq": seq, "item_id": item["item_id"], "response": choice}
            )
        await client.expect("ack", seq=len(items), wait=30)
        await client.send({"type": "submit", "seq": len(items) + 1})
        await client.expect("result", wait=30)
        await client.close()
    await proctor.close()


async def test_every_page_has_the_headers_and_no_inline_code(site: Site) -> None:
    await _run_an_exam(site)
    who = [
        w
        for w in await identities(site, "not-a-token")
        if w.name in ("anonymous", "lab_admin", "proctor", "supervisor")
    ]
    routes = sorted(
        {
            r.resource.canonical
            for r in site.app.router.routes()
            if r.method == "GET" and r.resource is not None
        }
    )
    pages: dict[str, int] = {}
    problems: list[str] = []
    async with aiohttp.ClientSession() as http:
        for route in routes:
            path = route.replace("{code}", "S-01").replace("{path}", "candidate/app.js")
            for identity in who:
                async with http.get(
                    site.base_url + path, headers=identity.headers(), allow_redirects=False
                ) as response:
                    body = await response.text()
                    problems += [
                        f"{path} as {identity.name}: {p}" for p in header_problems(response.headers)
                    ]
                    if response.content_type in RENDERED:
                        pages[path] = pages.get(path, 0) + 1
                        problems += [
                            f"{path} as {identity.name}: {p}" for p in inline_problems(body)
                        ]
    assert problems == []
    # The walk reached every page route (each rendered for someone), not only some.
    page_routes = {
        route.replace("{code}", "S-01")
        for route in routes
        if not route.startswith(NOT_PAGES) and not route.endswith(".jpg")
    }
    assert page_routes - set(pages) == set()
    assert "/console/sessions/S-01/chart.svg" in pages


@pytest.mark.parametrize(
    ("form", "status"),
    [
        ({"username": "admin-sec", "password": "wrong password"}, 401),
        ({"username": "admin-sec", "password": "x", "login_token": "stale"}, 403),
    ],
)
async def test_error_pages_are_as_clean(site: Site, form: dict[str, str], status: int) -> None:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.get(f"{site.base_url}/staff/login") as page:
            text = await page.text()
        token = text.split('name="login_token" value="', 1)[1].split('"', 1)[0]
        async with http.post(
            f"{site.base_url}/staff/login", data={"login_token": token, **form}
        ) as response:
            assert response.status == status
            assert header_problems(response.headers) == []
            assert inline_problems(await response.text()) == []


def test_the_finder_finds_what_the_csp_blocks() -> None:
    page = (
        '<p style="color:red" onclick="x()">a</p><script>alert(1)</script>'
        '<script src="/static/a.js"></script><style>p{}</style>'
        '<a href=" JavaScript:alert(1)">x</a><img src="/x.png" onerror="y()">'
    )
    found = inline_problems(page)
    assert len(found) == 7, found
    assert inline_problems('<script type="module" src="/static/app.js"></script>') == []
