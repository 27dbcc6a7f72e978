"""One whole room, end to end: `python -m loadtests.room` with 5 candidates, unshaped.

Real server process, real Locust, real WebSockets, results pulled through the centre API.
Unshaped (--link-mbit 0) runs without root too (on the host's loopback). Timing limits
are opened wide: this checks that nothing is lost, not how fast (that is the benchmark's
job, on a quiet machine).
"""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from loadtests.report import REPORT_KEYS

PROJECT = Path(__file__).resolve().parents[2]


def run_room(
    tmp_path: Path, *extra: str
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """`python -m loadtests.room` with a room of 5, unshaped, think time compressed and
    timing limits opened wide; returns the finished process and its JSON report."""
    report_path = tmp_path / "report.json"
    done = subprocess.run(
        [
            sys.executable, "-m", "loadtests.room",
            "--candidates", "5", "--link-mbit", "0", "--think-scale", "0.02",
            "--max-ack-p99-ms", "5000", "--max-start-s", "60",
            "--json", str(report_path), *extra,
        ],
        # The work folder (server log, ledger, results) stays in pytest's tmp_path.
        env={**os.environ, "TMPDIR": str(tmp_path)},
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return done, json.loads(report_path.read_text(encoding="utf-8"))


@pytest.mark.slow
def test_a_room_of_five_loses_nothing(tmp_path: Path) -> None:
    done, report = run_room(tmp_path, "--keep")
    assert tuple(report) == REPORT_KEYS
    assert report["candidates"] == report["completed"] == 5
    assert report["lost"] == 0 and report["errors"] == 0 and report["passed"] is True
    # 100 items each plus changed answers; a change refused during a pause is sent again
    # under a new seq, so sent may exceed acknowledged, never the other way.
    assert report["answers_sent"] >= report["answers_acknowledged"] >= 5 * 100
    assert report["answers_in_results"] == 5 * 100
    assert report["link_mbit"] == 0 and report["database"] == "sqlite"
    assert report["bytes_per_candidate"] > 0
    assert "PASSED" in done.stderr


@pytest.mark.slow
def test_the_asyncio_driver_runs_a_room_and_reports_its_own_stalls(tmp_path: Path) -> None:
    details_path = tmp_path / "details.json"
    done, report = run_room(tmp_path, "--driver", "asyncio", "--details", str(details_path))
    assert report["candidates"] == report["completed"] == 5
    assert report["lost"] == 0 and report["passed"] is True
    assert report["answers_in_results"] == 5 * 100
    watched = json.loads(details_path.read_text(encoding="utf-8"))["load_generator"]
    assert watched is not None and watched["stalls_over_ms"] == 100.0
    assert watched["stalls"] >= 0 and watched["max_lag_ms"] > 0.0
    assert 0 <= watched["acks_during_stalls"] <= report["answers_acknowledged"]
    assert "load generator stalls" in done.stderr
