"""The agent against a server behind a link shaped to 10 Mbit/s with tc, both inside a
network namespace of their own (needs root; skipped, saying why, otherwise)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.lab_agent.conftest import REPO

SHAPED_MBPS = 10.0
TOLERANCE = 0.15
PORT = 8080  # the namespace has its own ports: nothing else listens there

pytestmark = [pytest.mark.root, pytest.mark.slow]


def _why_not() -> str | None:
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return "needs root to create a network namespace and shape it with tc"
    for tool in ("ip", "tc"):
        if shutil.which(tool) is None:
            return f"needs the {tool!r} command (iproute2) to shape a link"
    return None


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=True)


@pytest.fixture
def shaped_namespace() -> Iterator[str]:
    """A network namespace whose loopback carries 10 Mbit/s; deleted afterwards."""
    reason = _why_not()
    if reason:
        pytest.skip(f"10 Mbit/s namespace test not run: {reason}")
    name = f"cbtlab-{uuid.uuid4().hex[:8]}"
    _run("ip", "netns", "add", name)
    try:
        # With lo's default 64 KiB MTU tbf stalls; Ethernet's 1500 behaves like a LAN.
        _run("ip", "netns", "exec", name, "ip", "link", "set", "lo", "mtu", "1500", "up")
        shape = "tc qdisc add dev lo root tbf rate 10mbit burst 32kbit latency 400ms"
        _run("ip", "netns", "exec", name, *shape.split())
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=60, check=False)


@pytest.fixture
def server_in(shaped_namespace: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """The real CBT server running inside the namespace; yields (namespace, token)."""
    data = tmp_path / "data"
    cbt = [sys.executable, "-m", "cbt_server", "--data-dir", str(data)]
    token = _run(*cbt, "token", "create", "--name", "lab", "--scope", "lab:report")
    server = subprocess.Popen(
        ["ip", "netns", "exec", shaped_namespace, *cbt, "serve", "--port", str(PORT)],
        cwd=str(REPO),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert server.stdout is not None
        first = server.stdout.readline()
        assert "CBT server ready" in first, first + server.stdout.read()
        yield shaped_namespace, token.stdout.strip()
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=20)
        if server.stdout is not None:
            server.stdout.close()


def test_throughput_over_a_10_mbit_link_is_measured_within_15_percent(
    server_in: tuple[str, str], tmp_path: Path
) -> None:
    namespace, token = server_in
    out = tmp_path / "report.json"
    agent = subprocess.run(
        [
            *("ip", "netns", "exec", namespace, sys.executable, "-m", "lab_agent", "check"),
            *("--server", f"http://127.0.0.1:{PORT}", "--token", token, "--json", str(out)),
            *("--baseline-single", "1", "--baseline-multi", "1"),
        ],
        cwd=str(REPO),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert agent.returncode in (0, 1), agent.stdout + agent.stderr
    report = json.loads(out.read_text(encoding="utf-8"))
    link = report["link"]
    print(f"shaped {SHAPED_MBPS} Mbit/s: measured {link}")
    low, high = SHAPED_MBPS * (1 - TOLERANCE), SHAPED_MBPS * (1 + TOLERANCE)
    assert low <= link["down_mbps"] <= high, link
    assert low <= link["up_mbps"] <= high, link
    assert link["rtt_ms"] < 50, link
    # A PC on exactly the site-standard line must pass the link requirements.
    verdicts = {c["name"]: c["passed"] for c in report["checks"]}
    assert verdicts["link_down"] and verdicts["link_up"], report["checks"]
    assert "Report sent" in agent.stderr
