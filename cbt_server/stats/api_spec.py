"""OpenAPI description of GET /api/v1/statistics; the schemas come from `stats.documents`."""

from __future__ import annotations

from typing import Any

from cbt_server.results.openapi import component_schemas, error_response
from cbt_server.stats.documents import STATISTICS_MODELS

SCHEMAS: dict[str, Any] = component_schemas(STATISTICS_MODELS)


def _text(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "description": description, "schema": {"type": "string"}}


PATHS: dict[str, dict[str, Any]] = {
    "/api/v1/statistics": {
        "get": {
            "summary": "Item and test statistics of graded results (final or not)",
            "description": (
                "Facility, discrimination, corrected point-biserial, option shares and flags "
                "per item and per slot; mean, sd, skewness, kurtosis, Cronbach's alpha and "
                "SEM of the test. Definitions: docs/statistics.md. Filters combine; a session "
                "code, or occupation and level across sessions, are the usual selections."
            ),
            "operationId": "getStatistics",
            "security": [{"bearer": []}],
            "parameters": [
                _text("session", "Only results of this session code."),
                _text("occupation", "Only results of this occupation code."),
                {
                    "name": "level",
                    "in": "query",
                    "description": "Only results of this level (5 初级 … 1 高级技师).",
                    "schema": {"type": "integer", "minimum": 1, "maximum": 5},
                },
                {
                    "name": "final",
                    "in": "query",
                    "description": "Only final (true) or only provisional (false) results.",
                    "schema": {"type": "boolean"},
                },
            ],
            "responses": {
                "200": {
                    "description": "The figures.",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Statistics"}}
                    },
                },
                "400": error_response("A query parameter is invalid; the message names it."),
                "401": error_response("No bearer token, or an unknown or revoked one."),
                "403": error_response("The token's scope is not results:read."),
                "409": error_response("A stored result cannot be read; the message names it."),
            },
        }
    }
}
