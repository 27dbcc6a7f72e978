"""GET /api/v1/sessions/{code}: the blueprint and per-item points that fixed a session's
papers, and whether its results are final, for a centre that recomputes scores."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal

import aiohttp
from sqlalchemy import select

from cbt_server.db import models
from cbt_server.db.types import utcnow
from cbt_server.demo import BLUEPRINT_ID, SESSION_CODE, prepare_demo
from cbt_server.keys import SESSIONMAKER
from cbt_server.results.documents import SessionDocument
from cbt_server.results.session_document import blueprint_digest
from cbt_server.settings import Settings
from tests.conftest import ServerFactory


async def test_the_session_names_its_blueprint_and_every_items_points(
    settings: Settings, server_factory: ServerFactory
) -> None:
    path = await asyncio.to_thread(prepare_demo, settings)
    token = json.loads(path.read_text(encoding="utf-8"))["centre_token"]
    server = await server_factory(settings)
    url = f"{server.base_url}/api/v1/sessions/{SESSION_CODE}"
    async with aiohttp.ClientSession() as http:
        async with http.get(url) as resp:
            assert resp.status == 401
        auth = {"Authorization": f"Bearer {token}"}
        async with http.get(url.replace(SESSION_CODE, "NOPE"), headers=auth) as resp:
            assert resp.status == 404
            assert (await resp.json())["error"]["code"] == "not_found"
        async with http.get(url, headers=auth) as resp:
            assert resp.status == 200
            document = await resp.json()
    SessionDocument.model_validate(document)  # the published model, as in the OpenAPI
    async with server.app[SESSIONMAKER]() as db:
        blueprint = await db.get(models.Blueprint, BLUEPRINT_ID)
        layouts = list(await db.scalars(select(models.Paper.layout)))
    assert blueprint is not None and len(layouts) == 30
    assert document["code"] == SESSION_CODE and document["final"] is False
    assert document["blueprint"]["id"] == BLUEPRINT_ID
    assert document["blueprint"]["digest"] == blueprint_digest(blueprint.spec)
    sections = document["blueprint"]["sections"]
    points = {entry["item_id"]: entry for entry in document["items"]}
    total = Decimal(document["blueprint"]["total_score"])
    for layout in layouts:
        assert sum(len(section["items"]) for section in layout["sections"]) == sum(
            section["items"] for section in sections
        )
        on_paper = [
            (entry["item_id"], index)
            for index, section in enumerate(layout["sections"])
            for entry in section["items"]
        ]
        # Every item of every paper is listed, in its section, and the points add up.
        assert all(points[item]["section"] == index for item, index in on_paper)
        assert sum(Decimal(points[item]["points"]) for item, _ in on_paper) == total
        assert all(
            Decimal(points[item]["points"]) == Decimal(sections[index]["score_each"])
            for item, index in on_paper
        )


async def test_the_document_says_when_results_are_final(
    settings: Settings, server_factory: ServerFactory
) -> None:
    path = await asyncio.to_thread(prepare_demo, settings)
    token = json.loads(path.read_text(encoding="utf-8"))["centre_token"]
    server = await server_factory(settings)
    async with server.app[SESSIONMAKER].begin() as db:
        exam = await db.scalar(
            select(models.ExamSession).where(models.ExamSession.code == SESSION_CODE)
        )
        assert exam is not None
        exam.signed_by = "demo-proctor"
        exam.signed_at = utcnow()
    async with (
        aiohttp.ClientSession() as http,
        http.get(
            f"{server.base_url}/api/v1/sessions/{SESSION_CODE}",
            headers={"Authorization": f"Bearer {token}"},
        ) as resp,
    ):
        document = await resp.json()
    assert document["final"] is True and document["signed_by"] == "demo-proctor"
    assert document["signed_at"].endswith("+00:00")
