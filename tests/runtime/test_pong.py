"""`pong` as protocol.md §4 describes it: `remaining_ms` is null, before and after login
and in the exam (the time left comes in `state`, `paused`, `resumed`, `time`)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import LiveServer
from tests.runtime.exam_setup import Exam
from tests.runtime.test_reconnect import started_candidate
from tests.runtime.wsclient import Client

ROOT = Path(__file__).parents[2]


async def test_pong_never_carries_the_time_left(server: LiveServer, exam: Exam) -> None:
    anonymous = await Client.open(f"{server.ws_url}/ws/candidate")
    await anonymous.send({"type": "ping"})
    assert (await anonymous.expect("pong"))["remaining_ms"] is None
    await anonymous.close()
    client, state = await started_candidate(server, exam)
    assert state["remaining_ms"] > 0
    await client.send({"type": "ping"})
    pong = await client.expect("pong")
    assert pong["remaining_ms"] is None and pong["server_time"]
    await client.close()


def _text(name: str) -> str:
    return " ".join((ROOT / "docs" / name).read_text(encoding="utf-8").split())


def test_the_docs_say_what_the_code_does() -> None:
    """Claims issue 18 found wrong: each page now says what the code does."""
    assert "`remaining_ms` is **always `null`** in this version" in _text("protocol.md")
    readiness = _text("lab-readiness.md")
    assert "need no token" not in readiness
    assert "token, or a lab administrator's staff sign-in" in readiness
    assert "no roster importer" not in _text("security.md")
