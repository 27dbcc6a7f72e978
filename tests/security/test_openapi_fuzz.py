"""Every operation of the served OpenAPI document fuzzed with the wrong credentials.

tests/results/test_fuzz.py fuzzes the results API with its own token and with none; this
adds everyone else who might replay what they hold: a lab agent's token, a revoked
token, a proctor's session cookie, a candidate's login token. Whatever the document
describes (the results API today; any module that registers paths later) is covered:
no 5xx, and every answer conforms to the document's status codes, media types and
schemas, and an operation that needs a token refuses every one of them (401 or 403 with
the error shape).
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hsettings
from schemathesis import GenerationMode
from schemathesis.core.result import Ok

from tests.results.test_fuzz import CHECKS
from tests.security.conftest import Site

EXAMPLES_PER_OPERATION = 15


def _exercise(operation: Any, base_url: str, headers: dict[str, str], secured: bool) -> int:
    """Fuzz one operation with `headers`; a `secured` one (it names a security scheme)
    must refuse every request: none of these holders has the right token."""
    calls = 0

    @given(case=operation.as_strategy(generation_mode=GenerationMode.POSITIVE))
    @hsettings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        nonlocal calls
        response = case.call(base_url=base_url, headers=headers, timeout=30)
        case.validate_response(response, checks=CHECKS, headers=headers)
        if secured:
            assert response.status_code in (401, 403), (case.path, response.status_code)
        calls += 1

    run()
    return calls


def _fuzz(document: dict[str, Any], base_url: str, who: dict[str, dict[str, str]]) -> list[str]:
    schema = schemathesis.openapi.from_dict(document)
    exercised = []
    for loaded in schema.get_all_operations():
        assert isinstance(loaded, Ok), f"the document does not load: {loaded}"
        operation = loaded.ok()
        described = document["paths"][operation.path][operation.method.lower()]
        secured = bool(described.get("security"))
        for name, headers in who.items():
            assert _exercise(operation, base_url, headers, secured) > 0
            exercised.append(f"{operation.method.upper()} {operation.path} as {name}")
    return exercised


async def test_documented_api_refuses_replayed_credentials(site: Site) -> None:
    candidate, state = await site.quiet_login(site.s1.people[0])
    await candidate.close()
    secrets = site.secrets
    who = {
        "lab_token": {"Authorization": f"Bearer {secrets.lab_token}"},
        "revoked_results_token": {"Authorization": f"Bearer {secrets.revoked_results_token}"},
        "proctor_cookie": {"Cookie": f"cbt_staff={site.s1.proctor_cookie}"},
        "proctor_cookie_as_bearer": {"Authorization": f"Bearer {site.s1.proctor_cookie}"},
        "candidate_token": {"Authorization": f"Bearer {state['resume_token']}"},
    }
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{site.base_url}/api/v1/openapi.json") as response,
    ):
        assert response.status == 200
        document = await response.json()
    exercised = await asyncio.to_thread(_fuzz, document, site.base_url, who)
    assert "GET /api/v1/results as lab_token" in exercised
    assert "GET /api/v1/keys as proctor_cookie" in exercised
    assert "GET /api/v1/results.csv as candidate_token" in exercised
