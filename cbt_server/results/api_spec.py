"""OpenAPI description of the results API (GET /api/v1/keys, /results, /results.csv,
/sessions/{code}).

The paths are data; the component schemas are generated from `documents`.
`cbt_server.web.results_api.setup` registers both. tests/results/test_openapi.py
checks every route under /api/v1/results* and /api/v1/keys is described here, and
schemathesis fuzzes the server against it.
"""

from __future__ import annotations

from typing import Any

from cbt_server.results.documents import API_MODELS
from cbt_server.results.feed import DEFAULT_LIMIT, MAX_LIMIT
from cbt_server.results.openapi import component_schemas, error_response

# Generated from the models, so the document cannot drift from what is served.
SCHEMAS: dict[str, Any] = component_schemas(API_MODELS)

_FILTERS: list[dict[str, Any]] = [
    {
        "name": "session",
        "in": "query",
        "description": "Only results of this session code.",
        "schema": {"type": "string"},
    },
    {
        "name": "occupation",
        "in": "query",
        "description": "Only results of this occupation code.",
        "schema": {"type": "string"},
    },
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
]

_AUTH_ERRORS = {
    "400": error_response("A query parameter is invalid; the message names it."),
    "401": error_response("No bearer token, or an unknown or revoked one."),
    "403": error_response("The token's scope is not results:read."),
}

PATHS: dict[str, dict[str, Any]] = {
    "/api/v1/keys": {
        "get": {
            "summary": "The site's public signing keys",
            "operationId": "getKeys",
            "responses": {
                "200": {
                    "description": "Keys that sign results (Ed25519).",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/KeyList"}}
                    },
                }
            },
        }
    },
    "/api/v1/results": {
        "get": {
            "summary": "Graded results in commit order, paged by cursor",
            "operationId": "listResults",
            "security": [{"bearer": []}],
            "parameters": [
                {
                    "name": "after",
                    "in": "query",
                    "description": "Cursor from a previous page's `next`; absent: from the start.",
                    "schema": {"type": "string"},
                },
                {
                    "name": "limit",
                    "in": "query",
                    "description": "Results per page.",
                    "schema": {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": MAX_LIMIT,
                        "default": DEFAULT_LIMIT,
                    },
                },
                *_FILTERS,
            ],
            "responses": {
                "200": {
                    "description": "A page of results.",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/ResultPage"}}
                    },
                },
                **_AUTH_ERRORS,
                "409": error_response("The cursor is ahead of this server's feed."),
                "503": error_response("The feed's database triggers are missing."),
            },
        }
    },
    "/api/v1/results.csv": {
        "get": {
            "summary": "Results as CSV (UTF-8 with BOM), one row per candidate",
            "operationId": "exportResultsCsv",
            "security": [{"bearer": []}],
            "parameters": _FILTERS,
            "responses": {
                "200": {
                    "description": "The spreadsheet.",
                    "headers": {
                        "Content-Disposition": {
                            "schema": {"type": "string"},
                            "description": "attachment; filename=...",
                        }
                    },
                    "content": {"text/csv": {"schema": {"type": "string"}}},
                },
                **_AUTH_ERRORS,
            },
        }
    },
    "/api/v1/sessions/{code}": {
        "get": {
            "summary": "One exam session: final or not, its blueprint and every item's points",
            "operationId": "getSession",
            "security": [{"bearer": []}],
            "parameters": [
                {
                    "name": "code",
                    "in": "path",
                    "required": True,
                    "description": "Session code (场次), as in each result's `session`.",
                    "schema": {"type": "string"},
                }
            ],
            "responses": {
                "200": {
                    "description": "The session.",
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/SessionDocument"}
                        }
                    },
                },
                "401": _AUTH_ERRORS["401"],
                "403": _AUTH_ERRORS["403"],
                "404": error_response("No session with this code."),
            },
        }
    },
}
