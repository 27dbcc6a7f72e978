"""OpenAPI description of the results API (GET /api/v1/keys, /results, /results.csv).

Data only; `cbt_server.web.results_api.setup` registers it. tests/results/test_openapi.py
checks every route under /api/v1/results* and /api/v1/keys is described here, and
schemathesis fuzzes the server against it.
"""

from __future__ import annotations

from typing import Any

from cbt_server.results.feed import DEFAULT_LIMIT, MAX_LIMIT
from cbt_server.results.openapi import error_response

_SCORE = {"type": "string", "pattern": r"^-?[0-9]+\.[0-9]{2}$", "description": "Two decimals."}
_TIME = {"type": "string", "format": "date-time"}

SCHEMAS: dict[str, Any] = {
    "SiteKey": {
        "type": "object",
        "required": ["kid", "alg", "public_key"],
        "properties": {
            "kid": {"type": "string"},
            "alg": {"const": "Ed25519"},
            "public_key": {"type": "string", "description": "Base64 of the 32 raw key bytes."},
            "public_key_pem": {"type": "string", "description": "SubjectPublicKeyInfo PEM."},
        },
    },
    "KeyList": {
        "type": "object",
        "required": ["keys"],
        "properties": {
            "keys": {"type": "array", "items": {"$ref": "#/components/schemas/SiteKey"}}
        },
    },
    "ResultItem": {
        "type": "object",
        "required": ["item_id", "response", "correct", "score", "max_score"],
        "properties": {
            "item_id": {"type": "string"},
            "response": {"type": "array", "items": {"type": "string"}},
            "correct": {"type": "boolean"},
            "score": _SCORE,
            "max_score": _SCORE,
        },
    },
    "Result": {
        "type": "object",
        "description": (
            "A graded result. `signature` is base64 Ed25519 over the canonical JSON of all "
            "other fields (docs/results-api.md), verifiable with GET /api/v1/keys."
        ),
        "required": [
            "ticket",
            "id_number",
            "name",
            "occupation",
            "level",
            "session",
            "room",
            "seat",
            "paper_id",
            "started_at",
            "submitted_at",
            "graded_at",
            "score",
            "max_score",
            "pass_mark",
            "passed",
            "final",
            "responses",
            "signature",
        ],
        "properties": {
            "ticket": {"type": "string", "description": "Admission ticket number (准考证号)."},
            "id_number": {"type": "string", "description": "ID-card number (身份证号)."},
            "name": {"type": "string"},
            "occupation": {"type": "string", "description": "Occupation code, e.g. electrician."},
            "level": {"type": "integer", "minimum": 1, "maximum": 5},
            "session": {"type": "string", "description": "Session code (场次)."},
            "room": {"type": "string", "description": "Room code (考场)."},
            "seat": {"type": "integer"},
            "paper_id": {"type": "string"},
            "started_at": {"oneOf": [_TIME, {"type": "null"}]},
            "submitted_at": _TIME,
            "graded_at": _TIME,
            "score": _SCORE,
            "max_score": _SCORE,
            "pass_mark": _SCORE,
            "passed": {"type": "boolean"},
            "final": {"type": "boolean", "description": "Signed by the examiner leader."},
            "responses": {"type": "array", "items": {"$ref": "#/components/schemas/ResultItem"}},
            "signature": {"type": "string"},
        },
    },
    "ResultPage": {
        "type": "object",
        "required": ["results", "next"],
        "properties": {
            "results": {"type": "array", "items": {"$ref": "#/components/schemas/Result"}},
            "next": {
                "type": ["string", "null"],
                "description": "Pass as `after` for what follows; null while the feed is empty.",
            },
        },
    },
}

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
}
