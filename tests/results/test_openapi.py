"""The OpenAPI document describes every results route, and other modules can extend it."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web

from cbt_server.app import create_app
from cbt_server.results.openapi import register_paths, registry
from cbt_server.settings import Settings
from tests.results.conftest import Site

MINE = (
    "/api/v1/results",
    "/api/v1/keys",
    "/api/v1/openapi.json",
    "/api/v1/sessions",
    "/api/v1/statistics",
)


def _routes(app: web.Application) -> set[tuple[str, str]]:
    found = set()
    for route in app.router.routes():
        path = route.resource.canonical if route.resource is not None else ""
        if route.method != "HEAD" and path.startswith(MINE):
            found.add((path, route.method.lower()))
    return found


async def test_every_results_route_is_described(site: Site) -> None:
    status, document, _ = await site.get("/api/v1/openapi.json", token=None)
    assert status == 200
    assert document["openapi"] == "3.1.0"
    routes = _routes(site.server.app)
    assert ("/api/v1/results.csv", "get") in routes  # the check sees the routes at all
    assert ("/api/v1/statistics", "get") in routes
    described = {(p, m) for p, item in document["paths"].items() for m in item}
    assert routes <= described, f"undocumented: {routes - described}"


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        for value in node.values():
            found |= _refs(value)
        return found
    if isinstance(node, list):
        return set().union(*(_refs(v) for v in node)) if node else set()
    return set()


async def test_every_reference_resolves(site: Site) -> None:
    _, document, _ = await site.get("/api/v1/openapi.json", token=None)
    refs = _refs(document)
    assert "#/components/schemas/Result" in refs
    for ref in refs:
        assert ref.startswith("#/components/schemas/")
        assert ref.rsplit("/", 1)[1] in document["components"]["schemas"], ref


def test_other_modules_extend_the_document(settings: Settings) -> None:
    app = create_app(settings)
    register_paths(
        app,
        {"/api/v1/example-extension": {"post": {"responses": {"201": {"description": "stored"}}}}},
        {"LabReport": {"type": "object"}},
    )
    document = registry(app).document()
    assert "post" in document["paths"]["/api/v1/example-extension"]
    assert "LabReport" in document["components"]["schemas"]
    assert "/api/v1/results" in document["paths"]
    with pytest.raises(ValueError, match="registered twice"):
        register_paths(app, {"/api/v1/results": {"get": {}}})
    with pytest.raises(ValueError, match="registered twice"):
        register_paths(app, {}, {"Result": {}})
