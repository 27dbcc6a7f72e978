"""The agent as a lab administrator runs it: ``python -m lab_agent check`` in its own
process against a live server."""

from __future__ import annotations

import ast
import asyncio
import glob
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from cbt_server.db.models import LabReport
from cbt_server.keys import SESSIONMAKER
from cbt_server.web import lab
from lab_agent.bench import Baseline
from lab_agent.report import CPU_KEYS, LINK_KEYS, REPORT_KEYS
from tests.conftest import free_port
from tests.lab_agent.conftest import REPO, LabServer, check_args, run_agent


@pytest.fixture(autouse=True)
def server_baseline_like_the_agents(monkeypatch: pytest.MonkeyPatch) -> None:
    """The agent runs here with a baseline of 1 so that the verdict does not hang on how
    busy this shared machine is; the server, which judges again, gets the same one."""
    monkeypatch.setattr(lab, "Baseline", lambda: Baseline(1.0, 1.0))


async def stored_reports(server: LabServer) -> list[LabReport]:
    async with server.live.app[SESSIONMAKER]() as session:
        return list(await session.scalars(select(LabReport)))


async def test_a_good_pc_passes_and_its_report_reaches_the_server(
    lab_server: LabServer, fake_browsers: Path, tmp_path: Path
) -> None:
    out = tmp_path / "report.json"
    run = await run_agent(
        *check_args(lab_server.url, "--json", str(out), token=lab_server.token),
        path=fake_browsers,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Result: PASS - this PC meets every requirement" in run.stdout
    assert "Traceback" not in run.stderr
    # Progress bars for every step, on stderr.
    for label in ("latency", "download", "upload", "cpu 1 core"):
        assert f"{label:<10} [" + "#" * 30 + "] 100%" in run.stderr
    assert re.search(r"upload +\[#+\] 100%  [\d.]+ MiB in [\d.]+ s: [\d.]+ Mbit/s", run.stderr)

    report = json.loads(out.read_text(encoding="utf-8"))
    assert tuple(report) == REPORT_KEYS
    assert tuple(report["cpu"]) == CPU_KEYS
    assert tuple(report["link"]) == LINK_KEYS
    assert report["passed"] is True
    assert report["browsers"] == [
        {"name": "chromium", "version": "120.0.6099.224", "path": str(fake_browsers / "chromium")}
    ]
    assert report["screen"] == "unknown"
    assert report["link"]["down_mbps"] > 8.5 and report["link"]["up_mbps"] > 8.5
    assert 0 < report["link"]["rtt_ms"] < 50

    rows = await stored_reports(lab_server)
    assert [(r.hostname, r.report["link"]) for r in rows] == [(report["hostname"], report["link"])]


async def test_a_pc_below_the_i3_baseline_fails_with_the_reason(
    lab_server: LabServer, fake_browsers: Path, tmp_path: Path
) -> None:
    out = tmp_path / "report.json"
    args = [a for a in check_args(lab_server.url, token=lab_server.token)]
    args[args.index("--baseline-single") + 1] = "1000000000"
    run = await run_agent(*args, "--json", str(out), path=fake_browsers)
    assert run.returncode == 1, run.stdout + run.stderr
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["cpu"]["i3_or_better"] is False
    assert report["passed"] is False
    cpu = next(c for c in report["checks"] if c["name"] == "cpu")
    single = report["cpu"]["score_single"]
    assert cpu == {
        "name": "cpu",
        "passed": False,
        "detail": f"slower than an entry Core i3: single-core score {single:.1f} < 1000000000",
    }
    assert f"FAIL  cpu        {cpu['detail']}" in run.stdout
    assert "Result: FAIL - 1 of 8 requirements not met: cpu" in run.stdout


async def test_baseline_from_the_environment(lab_server: LabServer, fake_browsers: Path) -> None:
    args = ["check", "--server", lab_server.url, "--quick", "--no-send", "--token"]
    run = await run_agent(
        *args,
        lab_server.token,
        path=fake_browsers,
        env={"CBT_LAB_BASELINE_SINGLE": "1", "CBT_LAB_BASELINE_MULTI": "1e12"},
    )
    assert run.returncode == 1
    assert "multi-core score" in run.stdout and "< 1000000000000" in run.stdout
    assert await stored_reports(lab_server) == []


async def test_the_servers_fail_wins_over_a_lowered_baseline(
    lab_server: LabServer, fake_browsers: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The agent runs with a baseline of 1 and passes itself; the server judges with its
    # own baseline (made unreachable here), stores "failed" and the agent must say so.
    monkeypatch.setattr(lab, "Baseline", lambda: Baseline(1e12, 1e12))
    run = await run_agent(*check_args(lab_server.url, token=lab_server.token), path=fake_browsers)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "Result: PASS" in run.stdout
    assert "The server judged this PC as failing:\n  FAIL  cpu: slower than an entry Core i3" in (
        run.stderr
    )
    rows = await stored_reports(lab_server)
    assert [r.passed for r in rows] == [False]


async def test_an_unreachable_server_gives_exit_2_and_names_url_and_cause() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    run = await run_agent(*check_args(url))
    assert run.returncode == 2
    assert run.stdout == ""
    assert (
        f"error: cannot reach the CBT server at {url}/api/v1/lab/ping: connection refused"
        in run.stderr
    )
    assert "Traceback" not in run.stderr


async def test_a_refused_token_gives_exit_2(lab_server: LabServer) -> None:
    run = await run_agent(*check_args(lab_server.url, token="cbt_wrong"))
    assert run.returncode == 2
    assert "refused the request (HTTP 401 Unauthorized): pass --token" in run.stderr
    assert "invalid or revoked token" in run.stderr
    missing = await run_agent(*check_args(lab_server.url))
    assert missing.returncode == 2
    assert "missing bearer token" in missing.stderr


async def test_a_server_that_is_not_a_cbt_server_gives_exit_2(lab_server: LabServer) -> None:
    run = await run_agent(*check_args(lab_server.url + "/not-here", token=lab_server.token))
    assert run.returncode == 2
    assert "not found (HTTP 404): is this the CBT server's address?" in run.stderr


async def test_no_send_keeps_the_report_local(
    lab_server: LabServer, fake_browsers: Path, tmp_path: Path
) -> None:
    out = tmp_path / "r.json"
    run = await run_agent(
        *check_args(lab_server.url, "--no-send", "--json", str(out), token=lab_server.token),
        path=fake_browsers,
    )
    assert run.returncode == 0, run.stderr
    assert out.exists()
    assert "Report sent" not in run.stderr
    assert await stored_reports(lab_server) == []


async def test_an_unwritable_json_path_gives_exit_2_without_a_traceback(
    lab_server: LabServer, tmp_path: Path
) -> None:
    target = tmp_path / "missing" / "r.json"
    run = await run_agent(
        *check_args(lab_server.url, "--json", str(target), token=lab_server.token)
    )
    assert run.returncode == 2
    assert f"error: could not write the report to {target}" in run.stderr
    assert "Traceback" not in run.stderr
    assert await stored_reports(lab_server) == []


async def test_bad_arguments_give_exit_2() -> None:
    run = await run_agent("check", "--server", "ftp://x")
    assert run.returncode == 2
    assert "error: --server must be an http:// or https:// URL" in run.stderr
    run = await run_agent("check", "--server", "http://x", "--baseline-single", "-1")
    assert run.returncode == 2
    assert "must be a positive number" in run.stderr
    run = await run_agent("check")
    assert run.returncode == 2
    assert "--server" in run.stderr


async def test_bench_command_prints_scores() -> None:
    run = await run_agent("bench", "--seconds", "0.2", "--baseline-single", "1")
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("single-core ")
    assert "(baseline 1)" in run.stdout


def find_python39() -> str | None:
    """A Python 3.9 interpreter: $CBT_TEST_PYTHON39, python3.9 on the PATH, or pyenv's."""
    candidates = [os.environ.get("CBT_TEST_PYTHON39"), shutil.which("python3.9")]
    pyenv = shutil.which("pyenv")
    if pyenv:
        root = subprocess.run([pyenv, "root"], capture_output=True, text=True, check=False)
        pattern = str(Path(root.stdout.strip()) / "versions" / "3.9.*" / "bin" / "python3.9")
        candidates += sorted(glob.glob(pattern))
    for candidate in candidates:
        if not candidate:
            continue
        probe = subprocess.run(
            [candidate, "-c", "import sys; print(sys.version_info[:2])"],
            capture_output=True,
            text=True,
            check=False,
        )
        if probe.returncode == 0 and probe.stdout.strip() == "(3, 9)":
            return candidate
    return None


def test_agent_source_is_python_39_syntax() -> None:
    for path in sorted((REPO / "lab_agent").glob("*.py")):
        ast.parse(path.read_text(encoding="utf-8"), str(path), feature_version=(3, 9))


async def test_agent_runs_on_python_39_without_psutil_or_cpuinfo(
    lab_server: LabServer, fake_browsers: Path, tmp_path: Path
) -> None:
    python39 = find_python39()
    if python39 is None:
        pytest.skip("no Python 3.9 interpreter found (set CBT_TEST_PYTHON39 to one)")
    out = tmp_path / "report.json"
    args = check_args(lab_server.url, "--json", str(out), token=lab_server.token)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CBT_LAB_", "PYTHON"))}
    env["PATH"] = str(fake_browsers)
    proc = await asyncio.create_subprocess_exec(
        python39,
        "-m",
        "lab_agent",
        *args,
        cwd=str(REPO),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(proc.communicate(), 180)
    text = stdout.decode() + stderr.decode()
    assert proc.returncode == 0, text
    assert "Traceback" not in text
    report = json.loads(out.read_text(encoding="utf-8"))
    # The standard-library fallbacks filled in what psutil would have.
    assert report["cpu"]["physical_cores"] is None
    assert report["cpu"]["logical_cores"] == os.cpu_count()
    assert report["memory_gb"] > 0
    assert report["cpu"]["model"] not in ("", "unknown")
    rows = await stored_reports(lab_server)
    assert [r.hostname for r in rows] == [report["hostname"]]
