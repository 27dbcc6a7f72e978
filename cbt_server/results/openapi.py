"""The OpenAPI 3.1 document of /api/v1, kept as data and extended by each API module.

Each module's `setup(app)` calls `register_paths(app, paths, schemas)` with its own path
items and component schemas (`component_schemas(models)` of its pydantic models);
GET /api/v1/openapi.json serves the merged document. A path+method or schema name
registered twice is a programming error (ValueError).
Security scheme `bearer` (HTTP bearer token) is predefined: use
`"security": [{"bearer": []}]` in an operation that needs a token.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from cbt_server import __version__
from cbt_server.keys import OPENAPI

_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


@dataclass
class OpenApiRegistry:
    """Path items and component schemas registered by the app's API modules."""

    paths: dict[str, dict[str, Any]] = field(default_factory=dict)
    schemas: dict[str, Any] = field(default_factory=dict)

    def add(self, paths: dict[str, dict[str, Any]], schemas: dict[str, Any] | None) -> None:
        for path, item in paths.items():
            if not path.startswith("/"):
                raise ValueError(f"OpenAPI path must start with '/': {path!r}")
            existing = self.paths.setdefault(path, {})
            for method, operation in item.items():
                if method in existing and method in _METHODS:
                    raise ValueError(f"OpenAPI operation registered twice: {method} {path}")
                existing[method] = copy.deepcopy(operation)
        for name, schema in (schemas or {}).items():
            if name in self.schemas:
                raise ValueError(f"OpenAPI schema registered twice: {name}")
            self.schemas[name] = copy.deepcopy(schema)

    def document(self) -> dict[str, Any]:
        return {
            "openapi": "3.1.0",
            "info": {
                "title": "CBT server API",
                "version": __version__,
                "description": (
                    "Machine API of a CBT exam site. Errors always have the shape "
                    '{"error": {"code": ..., "message": ...}}.'
                ),
            },
            "paths": copy.deepcopy(dict(sorted(self.paths.items()))),
            "components": {
                "securitySchemes": {
                    "bearer": {
                        "type": "http",
                        "scheme": "bearer",
                        "description": "Token from `cbt-server token create --scope ...`.",
                    }
                },
                "schemas": copy.deepcopy(self.schemas),
            },
        }


class ErrorDetail(BaseModel):
    """What went wrong: a stable code and a message for people."""

    code: str
    message: str


class Error(BaseModel):
    """The one error shape of every API answer that is not a success."""

    error: ErrorDetail


def component_schemas(models: Sequence[type[BaseModel]]) -> dict[str, Any]:
    """OpenAPI 3.1 component schemas of `models` and of every model they refer to,
    named by class and referred to as #/components/schemas/<name>."""
    _, top = models_json_schema(
        [(model, "serialization") for model in models],
        ref_template="#/components/schemas/{model}",
    )
    return dict(top.get("$defs", {}))


def registry(app: web.Application) -> OpenApiRegistry:
    """The app's registry, created with the shared `Error` schema on first use."""
    if OPENAPI not in app:
        app[OPENAPI] = OpenApiRegistry(schemas=component_schemas([Error]))
    return app[OPENAPI]


def register_paths(
    app: web.Application, paths: dict[str, dict[str, Any]], schemas: dict[str, Any] | None = None
) -> None:
    """Add path items (and component schemas) to the app's OpenAPI document."""
    registry(app).add(paths, schemas)


def error_response(description: str) -> dict[str, Any]:
    """A response object whose body is the shared error shape."""
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


async def openapi_json(request: web.Request) -> web.Response:
    return web.json_response(registry(request.app).document())


def setup(app: web.Application) -> None:
    """Serve GET /api/v1/openapi.json (and describe it)."""
    app.router.add_get("/api/v1/openapi.json", openapi_json)
    register_paths(
        app,
        {
            "/api/v1/openapi.json": {
                "get": {
                    "summary": "This OpenAPI document",
                    "operationId": "getOpenApi",
                    "responses": {
                        "200": {
                            "description": "The OpenAPI 3.1 document",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        }
                    },
                }
            }
        },
    )
