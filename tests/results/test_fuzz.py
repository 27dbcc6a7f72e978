"""The API fuzzed from its own OpenAPI document with schemathesis: no 5xx, and every
response (2xx and errors alike) conforms to the documented status codes, media types
and schemas. Positive and negative (invalid parameter) examples, with and without a
token, against a live server holding results."""

from __future__ import annotations

import asyncio
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hsettings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.results.conftest import Site

EXAMPLES_PER_OPERATION = 40
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def _exercise(operation: Any, mode: GenerationMode, base_url: str, headers: dict[str, str]) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @hsettings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        response = case.call(base_url=base_url, headers=headers, timeout=30)
        case.validate_response(response, checks=CHECKS, headers=headers)

    run()


def _fuzz(document: dict[str, Any], base_url: str, token: str) -> list[str]:
    """Run every operation in both generation modes; return what was exercised."""
    schema = schemathesis.openapi.from_dict(document)
    exercised: list[str] = []
    for loaded in schema.get_all_operations():
        operation = loaded.ok()
        described = document["paths"][operation.path][operation.method.lower()]
        modes = [GenerationMode.POSITIVE]
        if described.get("parameters"):  # nothing to make invalid without parameters
            modes.append(GenerationMode.NEGATIVE)
        for mode in modes:
            for headers in ({"Authorization": f"Bearer {token}"}, {}):
                _exercise(operation, mode, base_url, headers)
            exercised.append(f"{operation.method.upper()} {operation.path} {mode.value}")
    return exercised


async def test_api_conforms_to_its_openapi_document(site: Site) -> None:
    for n in range(6):
        await site.seed.result(f"S{n % 2}", name=f"测试考生{n}", final=n % 3 == 0)
    status, document, _ = await site.get("/api/v1/openapi.json", token=None)
    assert status == 200
    exercised = await asyncio.to_thread(_fuzz, document, site.url, site.token)
    assert "GET /api/v1/results positive" in exercised
    assert "GET /api/v1/results.csv negative" in exercised
    assert "GET /api/v1/keys positive" in exercised
    assert "GET /api/v1/statistics negative" in exercised
