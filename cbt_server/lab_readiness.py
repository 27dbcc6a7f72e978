"""Lab readiness: is this site fit to hold an exam? Pure: no web, no database, no clock.

Inputs are the stored lab-agent reports, facts about the server itself, the named lab
administrator and the room size to plan for; the output is a JSON-ready verdict. The
rules (docs/lab-readiness.md): at least 30 PCs that pass every lab-agent requirement,
a server that passes its own check, and a dedicated lab administrator.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cbt_server.errors import InvalidInput
from lab_agent.bench import Baseline
from lab_agent.checks import MIN_MEMORY_GB, Check, evaluate
from lab_agent.report import CPU_KEYS, LINK_KEYS, REPORT_KEYS

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

_MAX_TEXT = 1024
_MAX_LIST = 64


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
    top = _object(data, "report", REPORT_KEYS)
    cpu = _object(top["cpu"], "report.cpu", CPU_KEYS)
    link = _object(top["link"], "report.link", LINK_KEYS)
    hostname = _text(top["hostname"], "report.hostname", 255)
    if not hostname.strip():
        raise InvalidInput("report.hostname: must not be empty")
    return {
        "hostname": hostname.strip(),
        "cpu": {
            "model": _text(cpu["model"], "report.cpu.model", 256),
            "physical_cores": _count(cpu["physical_cores"], "report.cpu.physical_cores", True),
            "logical_cores": _count(cpu["logical_cores"], "report.cpu.logical_cores", False),
            "mhz": _number(cpu["mhz"], "report.cpu.mhz", True),
            "score_single": _number(cpu["score_single"], "report.cpu.score_single", False),
            "score_multi": _number(cpu["score_multi"], "report.cpu.score_multi", False),
            "i3_or_better": _flag(cpu["i3_or_better"], "report.cpu.i3_or_better"),
        },
        "memory_gb": _number(top["memory_gb"], "report.memory_gb", True),
        "disk_free_gb": _number(top["disk_free_gb"], "report.disk_free_gb", True),
        "os": _text(top["os"], "report.os", 256),
        "screen": _text(top["screen"], "report.screen", 32),
        "browsers": [
            _browser(item, f"report.browsers[{i}]")
            for i, item in enumerate(_list(top["browsers"], "report.browsers"))
        ],
        "link": {key: _number(link[key], f"report.link.{key}", False) for key in LINK_KEYS},
        "checks": [
            _check(item, f"report.checks[{i}]")
            for i, item in enumerate(_list(top["checks"], "report.checks"))
        ],
        "passed": _flag(top["passed"], "report.passed"),
    }


def judge_report(report: Mapping[str, Any], baseline: Baseline | None = None) -> list[Check]:
    """The server's own verdict on a report, by the same rules the agent applies.

    The server does not take the agent's word: an agent run with a lowered baseline,
    or an old agent, is judged by the rules in force here.
    """
    return evaluate(report, baseline or Baseline())


# --- the server itself ------------------------------------------------------------------


def server_checks(facts: ServerFacts) -> list[Check]:
    """The server's own check: enough cores, memory and free disk for the site."""
    checks = [
        Check(
            "server_cpu",
            facts.logical_cores >= SERVER_MIN_CORES,
            f"{facts.cpu_model}, {facts.logical_cores} logical cores (needs {SERVER_MIN_CORES})",
        )
    ]
    if facts.memory_gb is None:
        checks.append(Check("server_memory", False, "memory size not measured"))
    else:
        checks.append(
            Check(
                "server_memory",
                facts.memory_gb >= SERVER_MIN_MEMORY_GB,
                f"{facts.memory_gb:.2f} GiB (needs {SERVER_MIN_MEMORY_GB} GiB visible: 4 GB)",
            )
        )
    if facts.disk_free_gb is None:
        checks.append(Check("server_disk", False, "free disk space not measured"))
    else:
        checks.append(
            Check(
                "server_disk",
                facts.disk_free_gb >= SERVER_MIN_DISK_FREE_GB,
                f"{facts.disk_free_gb:.2f} GiB free in the data folder "
                f"(needs {SERVER_MIN_DISK_FREE_GB} GiB)",
            )
        )
    return checks


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
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInput(f"room: must be a whole number of candidates, not {raw!r}") from None
    if not 1 <= value <= MAX_ROOM:
        raise InvalidInput(f"room: must be between 1 and {MAX_ROOM}, not {value}")
    return value


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
    """The site's readiness verdict, with every reason it is not ready."""
    fresh, stale = latest_per_host(reports, now)
    pcs = [_pc_row(item, judge_report(item.report, baseline)) for item in fresh]
    passing = [pc for pc in pcs if pc["passed"]]
    failing = [pc for pc in pcs if not pc["passed"]]
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
    if link["median_down_mbps"] and link["slowest_down_mbps"]:
        seconds = round(
            papers_seconds(room, link["median_down_mbps"], link["slowest_down_mbps"], paper_bytes),
            2,
        )
    return {
        "ready": not reasons,
        "reasons": reasons,
        "warnings": warnings,
        "required_pcs": required_pcs,
        "pcs_reported": len(pcs),
        "pcs_passing": len(passing),
        "pcs_stale": len(stale),
        "server": {
            "passed": all(c.passed for c in own),
            "cpu_model": server.cpu_model,
            "logical_cores": server.logical_cores,
            "memory_gb": server.memory_gb,
            "disk_free_gb": server.disk_free_gb,
            "checks": [c.as_json() for c in own],
        },
        "link": link,
        "lab_admin": {"named": bool(admin), "name": admin or None},
        "room": {
            "candidates": room,
            "paper_bytes": paper_bytes,
            "seconds": seconds,
            "basis": "passing PCs" if passing else ("reported PCs" if pcs else "no reports"),
        },
        "pcs": pcs,
        "generated_at": now.isoformat(),
    }


def _pc_row(item: StoredReport, checks: Sequence[Check]) -> dict[str, Any]:
    report = item.report
    cpu = report.get("cpu") or {}
    link = report.get("link") or {}
    return {
        "hostname": item.hostname,
        "received_at": item.received_at.isoformat(),
        "passed": all(c.passed for c in checks),
        "failing": [c.as_json() for c in checks if not c.passed],
        "cpu_model": cpu.get("model"),
        "score_single": cpu.get("score_single"),
        "score_multi": cpu.get("score_multi"),
        "down_mbps": link.get("down_mbps"),
        "up_mbps": link.get("up_mbps"),
        "rtt_ms": link.get("rtt_ms"),
    }


def _pc_reason(pc: Mapping[str, Any]) -> str:
    details = "; ".join(f"{c['name']}: {c['detail']}" for c in pc["failing"])
    return f"{pc['hostname']} fails {details}"


def _link_summary(pcs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    downs = [(pc["down_mbps"], pc["hostname"]) for pc in pcs if _positive(pc["down_mbps"])]
    ups = [pc["up_mbps"] for pc in pcs if _positive(pc["up_mbps"])]
    rtts = [pc["rtt_ms"] for pc in pcs if isinstance(pc["rtt_ms"], (int, float))]
    slowest = min(downs) if downs else None
    return {
        "slowest_down_mbps": slowest[0] if slowest else None,
        "slowest_down_host": slowest[1] if slowest else None,
        "median_down_mbps": _median([d for d, _ in downs]),
        "slowest_up_mbps": min(ups) if ups else None,
        "median_up_mbps": _median(ups),
        "median_rtt_ms": _median(rtts),
        "max_rtt_ms": max(rtts) if rtts else None,
    }


def _median(values: Sequence[float]) -> float | None:
    return round(statistics.median(values), 2) if values else None


def _positive(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


# --- field validators -------------------------------------------------------------------


def _object(value: Any, where: str, keys: Sequence[str]) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidInput(f"{where}: must be a JSON object")
    missing = [k for k in keys if k not in value]
    if missing:
        raise InvalidInput(f"{where}: missing {', '.join(missing)}")
    unknown = sorted(k for k in value if k not in keys)
    if unknown:
        raise InvalidInput(f"{where}: unknown field {', '.join(map(str, unknown))}")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise InvalidInput(f"{where}: must be a list")
    if len(value) > _MAX_LIST:
        raise InvalidInput(f"{where}: at most {_MAX_LIST} entries")
    return value


def _text(value: Any, where: str, limit: int) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{where}: must be text")
    if len(value) > limit:
        raise InvalidInput(f"{where}: at most {limit} characters")
    if any(ord(ch) < 32 and ch not in "\t" for ch in value):
        raise InvalidInput(f"{where}: must not contain control characters")
    return value


def _optional_text(value: Any, where: str, limit: int) -> str | None:
    return None if value is None else _text(value, where, limit)


def _number(value: Any, where: str, nullable: bool) -> float | None:
    if value is None and nullable:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        kind = "a number or null" if nullable else "a number"
        raise InvalidInput(f"{where}: must be {kind}")
    if not math.isfinite(value) or value < 0:
        raise InvalidInput(f"{where}: must be a finite number >= 0, not {value!r}")
    return float(value)


def _count(value: Any, where: str, nullable: bool) -> int | None:
    if value is None and nullable:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 4096:
        kind = "a whole number from 1 to 4096" + (" or null" if nullable else "")
        raise InvalidInput(f"{where}: must be {kind}")
    return value


def _flag(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidInput(f"{where}: must be true or false")
    return value


def _browser(value: Any, where: str) -> dict[str, Any]:
    item = _object(value, where, ("name", "version", "path"))
    return {
        "name": _text(item["name"], f"{where}.name", 64),
        "version": _optional_text(item["version"], f"{where}.version", 64),
        "path": _text(item["path"], f"{where}.path", _MAX_TEXT),
    }


def _check(value: Any, where: str) -> dict[str, Any]:
    item = _object(value, where, ("name", "passed", "detail"))
    return {
        "name": _text(item["name"], f"{where}.name", 64),
        "passed": _flag(item["passed"], f"{where}.passed"),
        "detail": _text(item["detail"], f"{where}.detail", _MAX_TEXT),
    }
