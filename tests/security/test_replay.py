"""Credentials replayed where they do not belong: each is refused with the documented
status and the one error shape, never accepted for another role.

A candidate's login token, a proctor's session cookie (also sent as a bearer token), a
results:read token, a lab:report token, revoked tokens and a signed-out cookie, each
against the staff endpoints, the results API, the lab endpoints and the console socket.
"""

from __future__ import annotations

import re

import aiohttp
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus
from websockets.typing import Subprotocol

from cbt_server.protocol import SUBPROTOCOL
from tests.auth.factories import new_client, try_login
from tests.security.conftest import ADMIN, PASSWORD, Site
from tests.security.test_http_crawl import error_shape_problem

# (credential, how it is sent, method, path, expected status)
ROWS: list[tuple[str, str, str, str, int]] = [
    # a candidate's login token, as a staff cookie or a bearer token
    ("candidate", "cookie", "GET", "/api/staff/audit/verify", 401),
    ("candidate", "cookie", "GET", "/api/staff/sessions/S-01/audit", 401),
    ("candidate", "cookie", "GET", "/console", 303),
    ("candidate", "cookie", "GET", "/paperwork/sessions/S-01/score-summary", 303),
    ("candidate", "bearer", "GET", "/api/v1/results", 401),
    ("candidate", "bearer", "GET", "/api/v1/results.csv", 401),
    ("candidate", "bearer", "GET", "/api/v1/lab/ping", 401),
    # a proctor's session cookie on the machine APIs
    ("proctor", "cookie", "GET", "/api/v1/results", 401),
    ("proctor", "cookie", "GET", "/api/v1/results.csv", 401),
    ("proctor", "cookie", "GET", "/api/v1/lab/ping", 401),
    ("proctor", "cookie", "POST", "/api/v1/lab/reports", 401),
    ("proctor", "bearer", "GET", "/api/v1/results", 401),
    # a results:read token on lab and staff endpoints
    ("results", "bearer", "GET", "/api/v1/lab/ping", 403),
    ("results", "bearer", "GET", "/api/v1/lab/download?bytes=10", 403),
    ("results", "bearer", "POST", "/api/v1/lab/reports", 403),
    ("results", "bearer", "GET", "/api/staff/audit/verify", 401),
    ("results", "cookie", "GET", "/api/staff/audit/verify", 401),
    ("results", "cookie", "GET", "/console", 303),
    # a lab:report token on the results API and staff endpoints
    ("lab", "bearer", "GET", "/api/v1/results", 403),
    ("lab", "bearer", "GET", "/api/v1/results.csv", 403),
    ("lab", "bearer", "GET", "/api/staff/sessions/S-01/audit", 401),
    ("lab", "cookie", "GET", "/api/staff/audit/verify", 401),
    # revoked tokens (the lab one never used before, so no cached acceptance)
    ("revoked_results", "bearer", "GET", "/api/v1/results", 401),
    ("revoked_results", "bearer", "GET", "/api/v1/results.csv", 401),
    ("revoked_lab", "bearer", "GET", "/api/v1/lab/ping", 401),
    ("revoked_lab", "bearer", "POST", "/api/v1/lab/reports", 401),
    # a signed-out staff cookie
    ("signed_out", "cookie", "GET", "/api/staff/audit/verify", 401),
    ("signed_out", "cookie", "GET", "/api/staff/sessions/S-01/audit", 401),
    ("signed_out", "cookie", "GET", "/console/sessions/S-01", 303),
    ("signed_out", "cookie", "POST", "/paperwork/sessions/S-01/sign", 401),
]


def secret_of(site: Site, credential: str, candidate_token: str) -> str:
    secrets = site.secrets
    return {
        "candidate": candidate_token,
        "proctor": site.s1.proctor_cookie,
        "results": secrets.results_token,
        "lab": secrets.lab_token,
        "revoked_results": secrets.revoked_results_token,
        "revoked_lab": secrets.revoked_lab_token,
        "signed_out": secrets.signed_out_cookie,
    }[credential]


async def test_credentials_replayed_across_roles_are_refused(site: Site) -> None:
    candidate, state = await site.quiet_login(site.s1.people[0])
    await candidate.close()
    failures = []
    async with aiohttp.ClientSession() as http:
        for credential, how, method, path, expected in ROWS:
            secret = secret_of(site, credential, state["resume_token"])
            headers = (
                {"Cookie": f"cbt_staff={secret}"}
                if how == "cookie"
                else {"Authorization": f"Bearer {secret}"}
            )
            async with http.request(
                method, site.base_url + path, headers=headers, allow_redirects=False
            ) as response:
                body = await response.read()
                where = f"{credential} ({how}) {method} {path}"
                if response.status != expected:
                    failures.append(f"{where}: {response.status} != {expected}")
                elif expected == 303:
                    if not response.headers["Location"].startswith("/staff/login"):
                        failures.append(f"{where}: sent to {response.headers['Location']}")
                else:
                    problem = error_shape_problem(response.status, response.content_type, body)
                    if problem:
                        failures.append(f"{where}: {problem}")
    assert failures == []


@pytest.mark.parametrize("credential", ["candidate", "results", "lab", "signed_out"])
async def test_the_console_socket_takes_only_a_live_staff_session(
    site: Site, credential: str
) -> None:
    candidate, state = await site.quiet_login(site.s1.people[1])
    await candidate.close()
    secret = secret_of(site, credential, state["resume_token"])
    for headers in ({"Cookie": f"cbt_staff={secret}"}, {"Authorization": f"Bearer {secret}"}):
        with pytest.raises(InvalidStatus) as refused:
            await connect(
                f"{site.ws_url}/ws/proctor",
                subprotocols=[Subprotocol(SUBPROTOCOL)],
                additional_headers=headers,
                open_timeout=10,
            )
        assert refused.value.response.status_code == 401


async def test_a_cookie_from_before_sign_out_is_dead_everywhere(site: Site) -> None:
    async with new_client() as browser:
        signed_in = await try_login(browser, site.base_url, ADMIN, PASSWORD)
        assert signed_in.status == 303
        cookie = signed_in.cookies["cbt_staff"].value
        async with browser.get(f"{site.base_url}/staff/users") as page:
            assert page.status == 200
            found = re.search(r'<meta name="csrf-token" content="([^"]+)"', await page.text())
        assert found is not None
        async with browser.post(
            f"{site.base_url}/staff/logout",
            headers={"X-CSRF-Token": found.group(1)},
            allow_redirects=False,
        ) as out:
            assert out.status == 303
    # Someone kept a copy of the cookie: it opens nothing now.
    async with aiohttp.ClientSession() as http:
        for path in ("/staff/users", "/api/staff/audit/verify"):
            async with http.get(
                site.base_url + path,
                headers={"Cookie": f"cbt_staff={cookie}"},
                allow_redirects=False,
            ) as response:
                assert response.status in (303, 401), path
                if response.status == 303:
                    assert response.headers["Location"].startswith("/staff/login")
    with pytest.raises(InvalidStatus) as refused:
        await connect(
            f"{site.ws_url}/ws/proctor",
            subprotocols=[Subprotocol(SUBPROTOCOL)],
            additional_headers={"Cookie": f"cbt_staff={cookie}"},
            open_timeout=10,
        )
    assert refused.value.response.status_code == 401
