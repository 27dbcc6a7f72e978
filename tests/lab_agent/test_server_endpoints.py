"""The server's lab endpoints over real HTTP: tokens, size limits, reports, readiness."""

from __future__ import annotations

import asyncio
import logging
import os
import zlib
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select

from cbt_server.db.models import LabReport
from cbt_server.keys import SESSIONMAKER
from cbt_server.settings import Settings
from cbt_server.tokens import revoke_token
from cbt_server.web import lab
from lab_agent.link import MAX_TRANSFER
from tests.conftest import ServerFactory
from tests.lab_agent.conftest import LabServer, issue_token
from tests.lab_agent.reports import report


async def call(
    server: LabServer,
    method: str,
    path: str,
    *,
    token: str | None = "default",
    **kwargs: Any,
) -> tuple[int, Any, aiohttp.ClientResponse]:
    headers = dict(kwargs.pop("headers", {}))
    secret = server.token if token == "default" else token
    if secret is not None:
        headers["Authorization"] = f"Bearer {secret}"
    async with (
        aiohttp.ClientSession() as client,
        client.request(method, server.url + path, headers=headers, **kwargs) as resp,
    ):
        if resp.content_type == "application/json":
            return resp.status, await resp.json(), resp
        return resp.status, await resp.read(), resp


async def rows(server: LabServer, hostname: str | None = None) -> int:
    query = select(func.count()).select_from(LabReport)
    if hostname is not None:
        query = query.where(LabReport.hostname == hostname)
    async with server.live.app[SESSIONMAKER]() as session:
        return int(await session.scalar(query) or 0)


async def test_ping_answers_with_the_server_time(lab_server: LabServer) -> None:
    status, body, _ = await call(lab_server, "GET", "/api/v1/lab/ping")
    assert status == 200
    assert body["ok"] is True
    assert body["server_time"].endswith("+00:00")


@pytest.mark.parametrize("path", ["/api/v1/lab/ping", "/api/v1/lab/download?bytes=10"])
async def test_agent_endpoints_need_a_token(lab_server: LabServer, path: str) -> None:
    status, body, _ = await call(lab_server, "GET", path, token=None)
    assert status == 401
    assert body == {"error": {"code": "not_authenticated", "message": "missing bearer token"}}
    status, body, _ = await call(lab_server, "GET", path, token="cbt_not-a-real-token")
    assert (status, body["error"]["code"]) == (401, "not_authenticated")


async def test_a_token_of_another_scope_is_forbidden(lab_server: LabServer) -> None:
    other = await issue_token(lab_server.live, "city-centre", "results:read")
    status, body, _ = await call(lab_server, "GET", "/api/v1/lab/ping", token=other)
    assert (status, body["error"]["code"]) == (403, "forbidden")


async def test_a_revoked_token_stops_working_once_the_cache_expires(
    lab_server: LabServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lab, "TOKEN_CACHE_SECONDS", 0.0)
    assert (await call(lab_server, "GET", "/api/v1/lab/ping"))[0] == 200
    async with lab_server.live.app[SESSIONMAKER].begin() as session:
        await revoke_token(session, "lab-agents")
    assert (await call(lab_server, "GET", "/api/v1/lab/ping"))[0] == 401


async def test_tokens_can_be_switched_off_by_a_setting(
    server_factory: ServerFactory, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lab, "token_required", lambda _settings: False)
    live = await server_factory(settings)
    server = LabServer(live, token="")
    assert (await call(server, "GET", "/api/v1/lab/ping", token=None))[0] == 200
    # A token that is given is still checked.
    assert (await call(server, "GET", "/api/v1/lab/ping", token="cbt_wrong"))[0] == 401


def test_token_policy_reads_the_setting_when_there_is_one() -> None:
    class Lenient:
        lab_token_required = False

    assert lab.token_required(Settings()) is True
    assert lab.token_required(Lenient()) is False


async def test_download_sends_exactly_n_random_bytes(lab_server: LabServer) -> None:
    status, first, resp = await call(lab_server, "GET", "/api/v1/lab/download?bytes=200000")
    assert status == 200
    assert len(first) == 200000
    assert resp.headers["Content-Type"] == "application/octet-stream"
    assert resp.headers.get("Content-Encoding", "identity") == "identity"
    assert len(zlib.compress(first)) > 0.99 * len(first)  # incompressible
    _, second, _ = await call(lab_server, "GET", "/api/v1/lab/download?bytes=200000")
    assert first != second


@pytest.mark.parametrize("query", ["", "?bytes=0", "?bytes=-5", "?bytes=abc", "?bytes=16777217"])
async def test_download_size_must_be_1_byte_to_16_mib(lab_server: LabServer, query: str) -> None:
    status, body, _ = await call(lab_server, "GET", "/api/v1/lab/download" + query)
    assert status == 400
    assert body["error"]["message"].startswith("bytes:")


async def test_upload_counts_what_arrived(lab_server: LabServer) -> None:
    status, body, _ = await call(lab_server, "POST", "/api/v1/lab/upload", data=os.urandom(300_000))
    assert status == 200
    assert body["bytes"] == 300_000
    assert body["seconds"] >= 0


async def test_upload_over_16_mib_is_refused_before_reading(lab_server: LabServer) -> None:
    status, body, _ = await call(
        lab_server,
        "POST",
        "/api/v1/lab/upload",
        data=b"x" * 10,
        headers={"Content-Length": str(MAX_TRANSFER + 1)},
        skip_auto_headers=["Content-Length"],
    )
    assert (status, body["error"]["code"]) == (413, "too_large")


async def test_chunked_upload_over_16_mib_is_refused(lab_server: LabServer) -> None:
    async def body() -> Any:
        block = b"\0" * (1024 * 1024)
        for _ in range(17):
            yield block

    status, data, _ = await call(lab_server, "POST", "/api/v1/lab/upload", data=body())
    assert (status, data["error"]["code"]) == (413, "too_large")


async def test_a_report_is_stored_and_judged_by_the_server(lab_server: LabServer) -> None:
    status, body, _ = await call(
        lab_server, "POST", "/api/v1/lab/reports", json=report("LAB-PC-01")
    )
    assert status == 201
    assert body["hostname"] == "LAB-PC-01"
    assert body["passed"] is True
    assert await rows(lab_server, "LAB-PC-01") == 1


async def test_the_server_does_not_take_the_agents_word(lab_server: LabServer) -> None:
    # An agent run with a lowered baseline claims a pass; the server's rules say no.
    claim = report("SLOW-PC", cpu__score_single=120.0, cpu__i3_or_better=True, passed=True)
    status, body, _ = await call(lab_server, "POST", "/api/v1/lab/reports", json=claim)
    assert status == 201
    assert body["passed"] is False
    failing = [c for c in body["checks"] if not c["passed"]]
    assert [c["name"] for c in failing] == ["cpu"]
    assert "single-core score 120.0 < 350" in failing[0]["detail"]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda r: r.pop("link"), "report: missing link"),
        (lambda r: r.update(extra=1), "report: unknown field extra"),
        (lambda r: r["cpu"].update(score_single="fast"), "report.cpu.score_single: must be"),
        (lambda r: r["cpu"].update(score_single=True), "report.cpu.score_single: must be"),
        (lambda r: r["link"].update(rtt_ms=-1), "report.link.rtt_ms: must be a finite"),
        (lambda r: r.update(hostname=" "), "report.hostname: must not be empty"),
        (lambda r: r.update(hostname="a\nb"), "report.hostname: must not contain control"),
        (lambda r: r.update(browsers=[{"name": "x"}]), "report.browsers[0]: missing version"),
        (lambda r: r["cpu"].update(logical_cores=0), "report.cpu.logical_cores: must be"),
        (lambda r: r.update(passed="yes"), "report.passed: must be true or false"),
    ],
)
async def test_a_bad_report_is_refused_naming_the_field(
    lab_server: LabServer, mutate: Any, message: str
) -> None:
    data = report("BAD-PC")
    mutate(data)
    status, body, _ = await call(lab_server, "POST", "/api/v1/lab/reports", json=data)
    assert status == 400, body
    assert body["error"]["message"].startswith(message)
    assert await rows(lab_server) == 0


async def test_a_report_that_is_not_json_is_refused(lab_server: LabServer) -> None:
    status, body, _ = await call(lab_server, "POST", "/api/v1/lab/reports", data=b"{not json")
    assert status == 400
    assert body["error"]["message"].startswith("report: the body is not JSON")


async def test_a_report_over_64_kib_is_refused(lab_server: LabServer) -> None:
    data = report("BIG-PC", os="x" * 70_000)
    status, body, _ = await call(lab_server, "POST", "/api/v1/lab/reports", json=data)
    assert (status, body["error"]["code"]) == (413, "too_large")
    assert await rows(lab_server) == 0


async def test_only_the_last_ten_reports_of_a_pc_are_kept(lab_server: LabServer) -> None:
    for score in range(12):
        data = report("LAB-PC-01", cpu__score_single=400.0 + score)
        assert (await call(lab_server, "POST", "/api/v1/lab/reports", json=data))[0] == 201
    await call(lab_server, "POST", "/api/v1/lab/reports", json=report("LAB-PC-02"))
    assert await rows(lab_server, "LAB-PC-01") == lab.REPORTS_KEPT_PER_PC
    assert await rows(lab_server, "LAB-PC-02") == 1
    _, body, _ = await call(lab_server, "GET", "/api/v1/lab/readiness")
    newest = {pc["hostname"]: pc["score_single"] for pc in body["pcs"]}
    assert newest == {"LAB-PC-01": 411.0, "LAB-PC-02": 520.0}


async def test_an_agent_that_goes_away_mid_transfer_is_no_server_error(
    lab_server: LabServer, caplog: pytest.LogCaptureFixture
) -> None:
    host, port = lab_server.url.removeprefix("http://").split(":")
    auth = f"Authorization: Bearer {lab_server.token}\r\nHost: {host}\r\n"
    # A download abandoned after the first bytes.
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(f"GET /api/v1/lab/download?bytes={MAX_TRANSFER} HTTP/1.1\r\n{auth}\r\n".encode())
    await writer.drain()
    await reader.read(65536)
    writer.transport.abort()
    # An upload that promises 1 MB and stops at 100 kB.
    reader, writer = await asyncio.open_connection(host, int(port))
    head = f"POST /api/v1/lab/upload HTTP/1.1\r\n{auth}Content-Length: 1000000\r\n\r\n"
    writer.write(head.encode() + b"\0" * 100_000)
    await writer.drain()
    writer.close()
    await asyncio.sleep(0.5)
    assert (await call(lab_server, "GET", "/api/v1/lab/ping"))[0] == 200
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
