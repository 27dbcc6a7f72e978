"""HTTP edge of lab readiness: endpoints the lab agent measures against and reports to,
the readiness verdict as JSON, and the readiness page for the lab administrator.

All agent endpoints live under /api/v1/lab/ and take ``Authorization: Bearer <token>``
with scope lab:report (see docs/lab-readiness.md for the token policy and limits).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from sqlalchemy import delete, select

from cbt_server import lab_readiness
from cbt_server.auth.policy import Action
from cbt_server.auth.web import require, require_page
from cbt_server.db.models import LabReport
from cbt_server.db.types import utcnow
from cbt_server.errors import InvalidInput, TooLarge
from cbt_server.keys import LAB_STATE, SESSIONMAKER, SETTINGS
from cbt_server.lab_documents import whole_number
from cbt_server.tokens import Scope, authenticate, bearer_secret, hash_secret
from cbt_server.web.templates import render
from lab_agent import sysinfo
from lab_agent.bench import Baseline
from lab_agent.checks import MIN_MEASURED_MBPS
from lab_agent.link import MAX_TRANSFER

log = logging.getLogger(__name__)

LAB_SCOPE = Scope.LAB_REPORT
MAX_REPORT_BYTES = 64 * 1024
CHUNK = 64 * 1024
TOKEN_CACHE_SECONDS = 60.0
REPORTS_KEPT_PER_PC = 10


@dataclass
class LabState:
    """Per-app state: tokens seen recently, and the server's CPU model once read."""

    tokens: dict[str, float] = field(default_factory=dict)
    cpu_model: str | None = None
    logical_cores: int | None = None


# --- access -----------------------------------------------------------------------------


def token_required(settings: Any) -> bool:
    """Whether agent endpoints need a token: yes unless ``lab_token_required`` is False."""
    return getattr(settings, "lab_token_required", True) is not False


async def require_lab_token(request: web.Request) -> None:
    """Let the request through if it carries a live lab:report token (or none is needed).

    A token once checked is trusted for a minute without touching the database, so
    pings measure the network and not a database write.
    """
    secret = bearer_secret(request.headers.get("Authorization"))
    if secret is None and not token_required(request.app[SETTINGS]):
        return
    state = request.app[LAB_STATE]
    key = hash_secret(secret) if secret else ""
    now = time.monotonic()
    if secret and state.tokens.get(key, 0.0) > now:
        return
    async with request.app[SESSIONMAKER].begin() as session:
        await authenticate(session, secret, LAB_SCOPE)
    state.tokens[key] = now + TOKEN_CACHE_SECONDS


# --- measurement endpoints --------------------------------------------------------------


async def ping(request: web.Request) -> web.Response:
    """GET /api/v1/lab/ping: the smallest possible answer, for round-trip times."""
    await require_lab_token(request)
    return web.json_response({"ok": True, "server_time": utcnow().isoformat()})


async def download(request: web.Request) -> web.StreamResponse:
    """GET /api/v1/lab/download?bytes=N: N random (incompressible) bytes, N <= 16 MiB."""
    await require_lab_token(request)
    nbytes = parse_bytes(request.query.get("bytes"))
    response = web.StreamResponse(
        headers={
            "Content-Type": "application/octet-stream",
            "Cache-Control": "no-store",
            "Content-Encoding": "identity",
        }
    )
    response.content_length = nbytes
    await response.prepare(request)
    sent = 0
    try:
        while sent < nbytes:
            size = min(CHUNK, nbytes - sent)
            await response.write(os.urandom(size))
            sent += size
        await response.write_eof()
    except ConnectionError:
        # The agent went away mid-transfer (interrupted, or its PC lost the link):
        # nothing to answer and nothing wrong with the server.
        log.info("lab download of %d bytes stopped after %d: client gone", nbytes, sent)
    return response


async def upload(request: web.Request) -> web.Response:
    """POST /api/v1/lab/upload: read and discard up to 16 MiB; say how many bytes came."""
    await require_lab_token(request)
    declared = request.content_length
    if declared is not None and declared > MAX_TRANSFER:
        raise TooLarge(f"upload: at most {MAX_TRANSFER} bytes, not {declared}")
    received = 0
    started: float | None = None
    try:
        async for chunk in request.content.iter_chunked(CHUNK):
            if started is None:
                started = time.perf_counter()
            received += len(chunk)
            if received > MAX_TRANSFER:
                raise TooLarge(f"upload: at most {MAX_TRANSFER} bytes")
    except ConnectionError as exc:
        raise InvalidInput(f"upload: the body ended early after {received} bytes") from exc
    seconds = time.perf_counter() - started if started is not None else 0.0
    return web.json_response({"bytes": received, "seconds": round(seconds, 6)})


def parse_bytes(raw: str | None) -> int:
    """The ``bytes`` query parameter of a download: 1 to 16 MiB."""
    if raw is None:
        raise InvalidInput(f"bytes: give the number of bytes to send (1 to {MAX_TRANSFER})")
    return whole_number(raw, "bytes", 1, MAX_TRANSFER)


# --- reports ----------------------------------------------------------------------------


async def post_report(request: web.Request) -> web.Response:
    """POST /api/v1/lab/reports: validate one PC's report, judge it, store it."""
    await require_lab_token(request)
    body = await read_limited(request, MAX_REPORT_BYTES)
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidInput(f"report: the body is not JSON ({exc})") from None
    except RecursionError:  # nesting deeper than the parser goes: no report looks like that
        raise InvalidInput("report: the body is nested too deeply to be a report") from None
    report = lab_readiness.validate_report(data)
    checks = lab_readiness.judge_report(report, Baseline())
    passed = all(c.passed for c in checks)
    async with request.app[SESSIONMAKER].begin() as session:
        row = LabReport(hostname=report["hostname"], passed=passed, report=report)
        session.add(row)
        await session.flush()
        keep = (
            select(LabReport.id)
            .where(LabReport.hostname == row.hostname)
            .order_by(LabReport.id.desc())
            .limit(REPORTS_KEPT_PER_PC)
        )
        await session.execute(
            delete(LabReport).where(
                LabReport.hostname == row.hostname, LabReport.id.not_in(keep.scalar_subquery())
            )
        )
        row_id = row.id
    return web.json_response(
        {
            "id": row_id,
            "hostname": report["hostname"],
            "passed": passed,
            "checks": [c.as_json() for c in checks],
        },
        status=201,
    )


async def read_limited(request: web.Request, limit: int) -> bytes:
    """The request body, or TooLarge as soon as it passes ``limit`` bytes."""
    declared = request.content_length
    if declared is not None and declared > limit:
        raise TooLarge(f"report: at most {limit} bytes, not {declared}")
    parts: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(CHUNK):
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"report: at most {limit} bytes")
        parts.append(chunk)
    return b"".join(parts)


# --- readiness --------------------------------------------------------------------------


async def readiness_data(request: web.Request) -> dict[str, Any]:
    """The verdict for this site, from the stored reports and a look at this machine."""
    room = lab_readiness.parse_room(request.query.get("room"))
    async with request.app[SESSIONMAKER]() as session:
        rows = (
            await session.execute(
                select(LabReport.hostname, LabReport.received_at, LabReport.report)
            )
        ).all()
    stored = [lab_readiness.StoredReport(h, at, rep) for h, at, rep in rows]
    facts = await server_facts(request.app)
    settings = request.app[SETTINGS]
    return lab_readiness.readiness(
        stored, facts, getattr(settings, "lab_admin_name", None), room, utcnow()
    )


async def server_facts(app: web.Application) -> lab_readiness.ServerFacts:
    """CPU, memory and free disk of the machine the server runs on."""
    state = app[LAB_STATE]
    if state.cpu_model is None:
        cpu = await asyncio.to_thread(sysinfo.cpu_facts)
        state.cpu_model, state.logical_cores = cpu.model, cpu.logical_cores
    data_path = app[SETTINGS].data_path
    where = str(data_path if data_path.exists() else data_path.resolve().anchor or ".")
    memory = await asyncio.to_thread(sysinfo.memory_gb)
    disk = await asyncio.to_thread(shutil.disk_usage, where)
    return lab_readiness.ServerFacts(
        cpu_model=state.cpu_model,
        logical_cores=state.logical_cores or 1,
        memory_gb=memory,
        disk_free_gb=round(disk.free / sysinfo.GIB, 2),
    )


async def require_readiness_reader(request: web.Request) -> None:
    """Readiness is the lab administrator's: a staff session allowed to manage the site,
    or a lab:report token (for the administrator's own scripts)."""
    if bearer_secret(request.headers.get("Authorization")) is not None:
        await require_lab_token(request)
        return
    await require(request, Action.MANAGE_SITE)


async def readiness_json(request: web.Request) -> web.Response:
    """GET /api/v1/lab/readiness[?room=N]: the verdict as JSON."""
    await require_readiness_reader(request)
    return web.json_response(await readiness_data(request))


async def readiness_page(request: web.Request) -> web.Response:
    """GET /lab/readiness[?room=N]: the verdict as a page with per-PC charts."""
    await require_page(request, Action.MANAGE_SITE)
    data = await readiness_data(request)
    baseline = Baseline()
    charts = [
        bar_chart(
            "下载速率 Download (Mbit/s)", data["pcs"], "down_mbps", MIN_MEASURED_MBPS, "Mbit/s"
        ),
        bar_chart("上传速率 Upload (Mbit/s)", data["pcs"], "up_mbps", MIN_MEASURED_MBPS, "Mbit/s"),
        bar_chart(
            "CPU 单核得分 Single-core score", data["pcs"], "score_single", baseline.single, ""
        ),
        bar_chart("CPU 多核得分 Multi-core score", data["pcs"], "score_multi", baseline.multi, ""),
    ]
    return render(request, "lab_readiness.html", {"r": data, "charts": charts})


# --- chart geometry (the template only draws it) ----------------------------------------

_LABEL_WIDTH = 150
_BAR_AREA = 420
_VALUE_WIDTH = 90
_ROW = 20
_TOP = 24


def bar_chart(
    title: str, pcs: Sequence[Mapping[str, Any]], key: str, threshold: float, unit: str
) -> dict[str, Any]:
    """Geometry of a horizontal bar chart: one bar per PC and a line at the threshold."""
    values = [_number(pc.get(key)) for pc in pcs]
    top = max([threshold, *(v for v in values if v is not None)]) * 1.1 or 1.0
    scale = _BAR_AREA / top
    bars = []
    for i, (pc, value) in enumerate(zip(pcs, values, strict=True)):
        width = round((value or 0.0) * scale, 1)
        bars.append(
            {
                "label": str(pc["hostname"])[:24],
                "y": _TOP + i * _ROW,
                "text_y": _TOP + i * _ROW + 14,
                "width": width,
                "text_x": round(_LABEL_WIDTH + width + 4, 1),
                "ok": value is not None and value >= threshold,
                "text": "—" if value is None else f"{value:.1f} {unit}".strip(),
            }
        )
    return {
        "title": title,
        "width": _LABEL_WIDTH + _BAR_AREA + _VALUE_WIDTH,
        "height": _TOP + max(len(bars), 1) * _ROW + 10,
        "label_width": _LABEL_WIDTH,
        "threshold_x": round(_LABEL_WIDTH + threshold * scale, 1),
        "threshold_text": f"{threshold:g} {unit}".strip(),
        "bars": bars,
    }


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def setup(app: web.Application) -> None:
    """Register the lab routes on the app (called once by create_app)."""
    app[LAB_STATE] = LabState()
    app.router.add_get("/api/v1/lab/ping", ping)
    app.router.add_get("/api/v1/lab/download", download)
    app.router.add_post("/api/v1/lab/upload", upload)
    app.router.add_post("/api/v1/lab/reports", post_report)
    app.router.add_get("/api/v1/lab/readiness", readiness_json)
    app.router.add_get("/lab/readiness", readiness_page)
