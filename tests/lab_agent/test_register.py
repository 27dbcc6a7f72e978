"""``register``: MACs read the way each OS keeps them, the heartbeat loop's answers to a
forgotten PC and to a newer agent run, and the real command against a live server."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from lab_agent import nics, seat
from lab_agent.link import RefusedError, ServerError
from tests.lab_agent.conftest import LabServer, admin_client, run_agent


def test_linux_macs_skip_loopback_and_fakes(tmp_path: Path) -> None:
    for name, mac in (("lo", "00:00:00:00:00:00"), ("eth0", "02:FC:00:00:00:01"), ("x", "junk")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "address").write_text(mac + "\n")
    (tmp_path / "wlan0").mkdir()  # no address file
    assert nics.linux_macs(str(tmp_path)) == ["02:fc:00:00:00:01"]
    assert nics.linux_macs(str(tmp_path / "missing")) == []


def test_windows_macs_from_getmac() -> None:
    text = (
        '"00-1A-2B-3C-4D-5E","\\Device\\Tcpip_{1}"\r\n'
        '"N/A","Media disconnected"\r\n'
        '"00-1A-2B-3C-4D-5F","\\Device\\Tcpip_{2}"\r\n'
    )
    assert nics.windows_macs(lambda argv: text) == ["00:1a:2b:3c:4d:5e", "00:1a:2b:3c:4d:5f"]

    def missing(argv: list[str]) -> str:
        raise FileNotFoundError(argv[0])

    assert nics.windows_macs(missing) == []


class FakeClient:
    """Answers heartbeats from a script: a dict, or an exception to raise."""

    def __init__(self, beats: list[Any]) -> None:
        self.beats = beats
        self.registrations = 0
        self.closed = 0

    def url(self, endpoint: str) -> str:
        return f"http://server/api/v1/lab/{endpoint}"

    def register(self, body: dict[str, Any]) -> dict[str, Any]:
        self.registrations += 1
        return {"id": 7, "agent_id": f"run-{self.registrations}", "heartbeat_seconds": 15}

    def heartbeat(self, pc_id: int, agent_id: str) -> Any:
        answer = self.beats.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def close(self) -> None:
        self.closed += 1


def test_keep_alive_registers_again_retries_and_stops_when_stale() -> None:
    client = FakeClient(
        [
            {"seat": 3, "room": "R1"},
            ServerError("cannot reach the CBT server"),
            RefusedError("forgotten", "unknown_pc"),
            {"seat": 3, "room": "R1"},
            RefusedError("PC LAB-01 was registered again by another agent run", "stale_agent"),
        ]
    )
    err = io.StringIO()
    slept: list[float] = []
    code = seat.keep_alive(client, {"hostname": "LAB-01"}, err, sleep=slept.append)  # type: ignore[arg-type]
    assert code == 1
    assert client.registrations == 2 and client.closed == 1
    assert slept == [15.0] * 5
    log = err.getvalue()
    assert log.count("this PC is seat 3 of room R1") == 1  # said when it changes only
    assert "registering again" in log
    assert "retrying" in log and "another agent run" in log


def test_keep_alive_says_a_registration_waits_for_confirmation() -> None:
    note = "PC LAB-01 is mapped to a seat at address 10.0.0.2; its registration awaits"

    class Held(FakeClient):
        def register(self, body: dict[str, Any]) -> dict[str, Any]:
            return super().register(body) | {"pending": note, "seat": None}

    client = Held(
        [
            {"seat": None, "room": None, "pending": note},
            {"seat": None, "room": None, "pending": note},
            {"seat": 1, "room": "R1", "pending": None},  # confirmed
        ]
    )
    err = io.StringIO()
    code = seat.keep_alive(client, {"hostname": "LAB-01"}, err, beats=3, sleep=lambda _: None)  # type: ignore[arg-type]
    assert code == 0
    log = err.getvalue()
    assert log.count(f"waiting: {note}") == 1  # said at registration, not again per beat
    assert log.endswith("this PC is seat 1 of room R1\n")


async def test_register_command_against_a_live_server(
    lab_server: LabServer, tmp_path: Path
) -> None:
    report = tmp_path / "report.json"
    report.write_text(
        json.dumps({"checks": [{"name": "cpu", "passed": True}, {"name": "disk", "passed": False}]})
    )
    run = await run_agent(
        "register",
        "--server",
        lab_server.url,
        "--token",
        lab_server.token,
        "--source-address",
        "127.0.0.7",
        "--report",
        str(report),
        "--once",
    )
    assert run.returncode == 0, run.stderr
    assert "registered as PC" in run.stderr

    http = await admin_client(lab_server.live)
    try:
        async with http.get(lab_server.url + "/api/v1/lab/pcs") as resp:
            pcs = (await resp.json())["pcs"]
    finally:
        await http.close()
    assert len(pcs) == 1
    assert pcs[0]["address"] == "127.0.0.7"
    assert pcs[0]["failing"] == ["disk"] and pcs[0]["measured"] is True
    assert pcs[0]["macs"]  # this machine's cards

    bad = await run_agent(
        "register",
        "--server",
        lab_server.url,
        "--token",
        lab_server.token,
        "--report",
        str(tmp_path / "none.json"),
        "--once",
    )
    assert bad.returncode == 2 and "not a report written by `check --json`" in bad.stderr
    assert "Traceback" not in bad.stderr


async def test_register_to_an_unknown_room_names_the_room(lab_server: LabServer) -> None:
    """docs/lab-readiness.md: an unknown `--room` is a 404 naming it and exit 2, not the
    hint for a server that is not the CBT server."""
    run = await run_agent(
        "register",
        "--server",
        lab_server.url,
        "--token",
        lab_server.token,
        "--room",
        "NO-SUCH-ROOM",
        "--seat",
        "7",
        "--once",
    )
    assert run.returncode == 2
    assert "no room with code 'NO-SUCH-ROOM'" in run.stderr
    assert "is this the CBT server's address" not in run.stderr
    assert "Traceback" not in run.stderr
