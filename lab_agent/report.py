"""The JSON report of one lab PC (a contract with the server) and its printed summary."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .bench import Baseline, BenchResult
from .browsers import LABELS, Browser
from .checks import evaluate
from .link import LinkFigures
from .sysinfo import CpuFacts

REPORT_KEYS = (
    "hostname",
    "cpu",
    "memory_gb",
    "disk_free_gb",
    "os",
    "screen",
    "browsers",
    "link",
    "checks",
    "passed",
)
CPU_KEYS = (
    "model",
    "physical_cores",
    "logical_cores",
    "mhz",
    "score_single",
    "score_multi",
    "i3_or_better",
)
LINK_KEYS = ("down_mbps", "up_mbps", "rtt_ms")


def build_report(
    *,
    hostname: str,
    cpu: CpuFacts,
    bench: BenchResult,
    baseline: Baseline,
    memory_gb: float | None,
    disk_free_gb: float | None,
    os_name: str,
    screen: str,
    browsers: Sequence[Browser],
    link: LinkFigures,
) -> dict[str, Any]:
    """Assemble the report from what was measured, then judge every requirement."""
    report: dict[str, Any] = {
        "hostname": hostname,
        "cpu": {
            "model": cpu.model,
            "physical_cores": cpu.physical_cores,
            "logical_cores": cpu.logical_cores,
            "mhz": cpu.mhz,
            "score_single": bench.score_single,
            "score_multi": bench.score_multi,
            "i3_or_better": baseline.met_by(bench.score_single, bench.score_multi),
        },
        "memory_gb": memory_gb,
        "disk_free_gb": disk_free_gb,
        "os": os_name,
        "screen": screen,
        "browsers": [b.as_json() for b in browsers],
        "link": {
            "down_mbps": round(link.down_mbps, 2),
            "up_mbps": round(link.up_mbps, 2),
            "rtt_ms": round(link.rtt_ms, 2),
        },
    }
    checks = evaluate(report, baseline)
    report["checks"] = [c.as_json() for c in checks]
    report["passed"] = all(c.passed for c in checks)
    return report


def render_summary(report: dict[str, Any], server: str) -> str:
    """The report as lines an administrator reads at the PC."""
    cpu = report["cpu"]
    link = report["link"]
    cores = f"{cpu['physical_cores'] or '?'} cores / {cpu['logical_cores']} threads"
    mhz = f", {cpu['mhz']:.0f} MHz" if cpu.get("mhz") else ""
    browsers = ", ".join(
        f"{LABELS.get(b['name'], b['name'])} {b['version'] or ''}".strip()
        for b in report["browsers"]
    )
    memory = "?" if report["memory_gb"] is None else f"{report['memory_gb']:.2f}"
    lines = [
        f"Lab PC check: {report['hostname']}",
        f"  CPU       {cpu['model']}, {cores}{mhz}",
        f"  Benchmark single-core {cpu['score_single']:.1f}, multi-core {cpu['score_multi']:.1f}",
        f"  Memory    {memory} GiB",
        f"  Disk      {report['disk_free_gb']:.2f} GiB free",
        f"  OS        {report['os']}",
        f"  Screen    {report['screen']}",
        f"  Browsers  {browsers or 'none found'}",
        f"  Link      down {link['down_mbps']:.2f} Mbit/s, up {link['up_mbps']:.2f} Mbit/s, "
        f"round trip {link['rtt_ms']:.2f} ms to {server}",
        "",
    ]
    width = max(len(c["name"]) for c in report["checks"])
    for check in report["checks"]:
        mark = "PASS" if check["passed"] else "FAIL"
        lines.append(f"  {mark}  {check['name']:<{width}}  {check['detail']}")
    failed = [c["name"] for c in report["checks"] if not c["passed"]]
    lines.append("")
    if failed:
        total = len(report["checks"])
        lines.append(
            f"Result: FAIL - {len(failed)} of {total} requirements not met: {', '.join(failed)}"
        )
    else:
        lines.append("Result: PASS - this PC meets every requirement")
    return "\n".join(lines)


def write_json(path: str | os.PathLike[str], report: dict[str, Any]) -> None:
    """Write the report whole or not at all (a temporary file renamed into place)."""
    target = Path(path)
    text = json.dumps(report, ensure_ascii=False, indent=2) + "\n"
    fd, tmp = tempfile.mkstemp(prefix=".lab-report-", suffix=".json", dir=str(target.parent))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
