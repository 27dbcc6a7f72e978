"""Lab readiness: is this site fit to hold an exam? Pure: no web, no database, no clock.

Inputs are the stored lab-agent reports, facts about the server itself, the named lab
administrator and the room size to plan for; the output is a JSON-ready verdict. The
rules (docs/lab-readiness.md): at least 30 PCs that pass every lab-agent requirement,
a server that passes its own check, and a dedicated lab administrator.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cbt_server.lab_documents import (
    CheckRow,
    LabAdmin,
    LinkSummary,
    PcRow,
    Readiness,
    RoomPlan,
    ServerSummary,
    parse_report,
    whole_number,
)
from lab_agent.bench import Baseline
from lab_agent.checks import MIN_MEMORY_GB, Check, evaluate

REQUIRED_PCS = 30
# A 100-item theory paper as the candidate page receives it (stems and options, no
# keys), gzip-compressed; see docs/lab-readiness.md for how this was measured.
PAPER_BYTES = 60 * 1024
REPORT_MAX_AGE = timedelta(days=30)
DEFAULT_ROOM = REQUIRED_PCS
MAX_ROOM = 10_000

SERVER_MIN_CORES = 2
SERVER_MIN_MEMORY_GB = MIN_MEMORY_GB
SERVER_MIN_DISK_FREE_GB = 5.0


@dataclass(frozen=True)
class StoredReport:
    """One report as the server keeps it."""

    hostname: str
    received_at: datetime
    report: Mapping[str, Any]


@dataclass(frozen=True)
class ServerFacts:
    """What the server knows about its own machine."""

    cpu_model: str
    logical_cores: int
    memory_gb: float | None
    disk_free_gb: float | None


# --- one report -------------------------------------------------------------------------


def validate_report(data: Any) -> dict[str, Any]:
    """A clean copy of an agent report, or InvalidInput naming the first bad field."""
    return parse_report(data)


def judge_report(report: Mapping[str, Any], baseline: Baseline | None = None) -> list[Check]:
    """The server's own verdict on a report, by the same rules the agent applies.

    The server does not take the agent's word: an agent run with a lowered baseline,
    or an old agent, is judged by the rules in force here.
    """
    return evaluate(report, baseline or Baseline())


# --- the server itself ------------------------------------------------------------------


def server_checks(facts: ServerFacts) -> list[Check]:
    """The server's own check: enough cores, memory and free disk for the site."""
    return [
        Check(
            "server_cpu",
            facts.logical_cores >= SERVER_MIN_CORES,
            f"{facts.cpu_model}, {facts.logical_cores} logical cores (needs {SERVER_MIN_CORES})",
        ),
        _at_least(
            "server_memory",
            facts.memory_gb,
            SERVER_MIN_MEMORY_GB,
            "memory size",
            "GiB (needs {minimum} GiB visible: 4 GB)",
        ),
        _at_least(
            "server_disk",
            facts.disk_free_gb,
            SERVER_MIN_DISK_FREE_GB,
            "free disk space",
            "GiB free in the data folder (needs {minimum} GiB)",
        ),
    ]


def _at_least(name: str, measured: float | None, minimum: float, what: str, unit: str) -> Check:
    """A check that `measured` is at least `minimum`; failed when it was not measured."""
    if measured is None:
        return Check(name, False, f"{what} not measured")
    return Check(name, measured >= minimum, f"{measured:.2f} {unit.format(minimum=minimum)}")


# --- the room ---------------------------------------------------------------------------


def papers_seconds(
    candidates: int, median_down_mbps: float, slowest_down_mbps: float, paper_bytes: int
) -> float:
    """Seconds until every candidate of a room has received their paper.

    All papers cross the shared link, taken to carry what one PC measured alone (the
    median), and no PC gets its own paper faster than its own measured rate allows.
    Both rates must be positive.
    """
    bits = paper_bytes * 8
    shared = candidates * bits / (median_down_mbps * 1e6)
    own = bits / (slowest_down_mbps * 1e6)
    return max(shared, own)


def parse_room(raw: str | None) -> int:
    """The ``room`` query parameter: a number of candidates, 1 to 10,000."""
    if raw is None or raw == "":
        return DEFAULT_ROOM
    return whole_number(raw, "room", 1, MAX_ROOM, " of candidates")


# --- the site ---------------------------------------------------------------------------


def latest_per_host(
    reports: Iterable[StoredReport], now: datetime, max_age: timedelta = REPORT_MAX_AGE
) -> tuple[list[StoredReport], list[StoredReport]]:
    """The newest report of each PC, split into fresh ones and ones too old to count."""
    newest: dict[str, StoredReport] = {}
    for item in reports:
        kept = newest.get(item.hostname)
        if kept is None or item.received_at > kept.received_at:
            newest[item.hostname] = item
    ordered = sorted(newest.values(), key=lambda r: r.hostname)
    fresh = [r for r in ordered if now - r.received_at <= max_age]
    stale = [r for r in ordered if now - r.received_at > max_age]
    return fresh, stale


def readiness(
    reports: Iterable[StoredReport],
    server: ServerFacts,
    lab_admin_name: str | None,
    room: int,
    now: datetime,
    *,
    required_pcs: int = REQUIRED_PCS,
    paper_bytes: int = PAPER_BYTES,
    baseline: Baseline | None = None,
) -> dict[str, Any]:
    """The site's readiness verdict, with every reason it is not ready (`Readiness`)."""
    fresh, stale = latest_per_host(reports, now)
    pcs = [_pc_row(item, judge_report(item.report, baseline)) for item in fresh]
    passing = [pc for pc in pcs if pc.passed]
    failing = [pc for pc in pcs if not pc.passed]
    own = server_checks(server)
    admin = (lab_admin_name or "").strip()

    reasons: list[str] = []
    if not pcs:
        reasons.append(
            f"no lab PC has reported in the last {REPORT_MAX_AGE.days} days: "
            "run cbt-lab-agent check on every PC"
        )
    elif len(passing) < required_pcs:
        reasons.append(
            f"only {len(passing)} of the {required_pcs} PCs required pass every requirement "
            f"({len(pcs)} reported, {len(failing)} failing)"
        )
    if len(passing) < required_pcs:
        reasons.extend(_pc_reason(pc) for pc in failing)
    reasons.extend(f"server: {c.detail}" for c in own if not c.passed)
    if not admin:
        reasons.append(
            "no dedicated lab administrator is named (set CBT_LAB_ADMIN_NAME on the server)"
        )
    warnings = [_pc_reason(pc) for pc in failing] if len(passing) >= required_pcs else []
    warnings.extend(
        f"{r.hostname}: last report {r.received_at.date().isoformat()} is older than "
        f"{REPORT_MAX_AGE.days} days and does not count"
        for r in stale
    )

    link = _link_summary(passing or pcs)
    seconds = None
    if link.median_down_mbps and link.slowest_down_mbps:
        seconds = round(
            papers_seconds(room, link.median_down_mbps, link.slowest_down_mbps, paper_bytes), 2
        )
    verdict = Readiness(
        ready=not reasons,
        reasons=reasons,
        warnings=warnings,
        required_pcs=required_pcs,
        pcs_reported=len(pcs),
        pcs_passing=len(passing),
        pcs_stale=len(stale),
        server=ServerSummary(
            passed=all(c.passed for c in own),
            cpu_model=server.cpu_model,
            logical_cores=server.logical_cores,
            memory_gb=server.memory_gb,
            disk_free_gb=server.disk_free_gb,
            checks=[_row(c) for c in own],
        ),
        link=link,
        lab_admin=LabAdmin(named=bool(admin), name=admin or None),
        room=RoomPlan(
            candidates=room,
            paper_bytes=paper_bytes,
            seconds=seconds,
            basis="passing PCs" if passing else ("reported PCs" if pcs else "no reports"),
        ),
        pcs=pcs,
        generated_at=now.isoformat(),
    )
    return verdict.model_dump()


def _row(check: Check) -> CheckRow:
    return CheckRow(name=check.name, passed=check.passed, detail=check.detail)


def _pc_row(item: StoredReport, checks: Sequence[Check]) -> PcRow:
    report = item.report
    cpu = report.get("cpu") or {}
    link = report.get("link") or {}
    return PcRow(
        hostname=item.hostname,
        received_at=item.received_at.isoformat(),
        passed=all(c.passed for c in checks),
        failing=[_row(c) for c in checks if not c.passed],
        cpu_model=cpu.get("model"),
        score_single=cpu.get("score_single"),
        score_multi=cpu.get("score_multi"),
        down_mbps=link.get("down_mbps"),
        up_mbps=link.get("up_mbps"),
        rtt_ms=link.get("rtt_ms"),
    )


def _pc_reason(pc: PcRow) -> str:
    details = "; ".join(f"{c.name}: {c.detail}" for c in pc.failing)
    return f"{pc.hostname} fails {details}"


def _link_summary(pcs: Sequence[PcRow]) -> LinkSummary:
    downs = [(pc.down_mbps, pc.hostname) for pc in pcs if pc.down_mbps and pc.down_mbps > 0]
    ups = [pc.up_mbps for pc in pcs if pc.up_mbps and pc.up_mbps > 0]
    rtts = [pc.rtt_ms for pc in pcs if pc.rtt_ms is not None]
    slowest = min(downs) if downs else None
    return LinkSummary(
        slowest_down_mbps=slowest[0] if slowest else None,
        slowest_down_host=slowest[1] if slowest else None,
        median_down_mbps=_median([d for d, _ in downs]),
        slowest_up_mbps=min(ups) if ups else None,
        median_up_mbps=_median(ups),
        median_rtt_ms=_median(rtts),
        max_rtt_ms=max(rtts) if rtts else None,
    )


def _median(values: Sequence[float]) -> float | None:
    return round(statistics.median(values), 2) if values else None
