"""The proctor socket fuzzed against a live server: commands about candidates of a
session the console's user is not assigned to, commands from a supervisor, hellos for
other sessions, malformed and oversized frames.

Every frame gets its one direct reply, in order: the parser's error for a malformed
frame, and for a command `ack` or an `error` naming its `seq` (never `internal`). A
command about another session's candidate is never acknowledged and that session's data
(candidates, pauses, time grants, answers, results, notes, audit entries) is unchanged
afterwards; a supervisor's commands are all refused and change nothing at all; and each
acknowledged command left exactly one audit entry naming the proctor.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select
from websockets.sync.client import ClientConnection

from cbt_server.db import models
from cbt_server.keys import SESSIONMAKER
from cbt_server.protocol import ProtocolError, parse_proctor
from cbt_server.protocol import proctor as msg
from cbt_server.protocol.candidate import Ping
from tests.runtime.exam_setup import Exam
from tests.security.conftest import Site
from tests.security.frames import Context, proctor_frames, wire
from tests.security.snapshot import differences, snapshot
from tests.security.test_ws_candidate_fuzz import fuzz_settings, recv_json, sync_connect

EXAMPLES = 50
MAX_FRAMES = 10
DOMAIN_CODES = frozenset(
    {
        "invalid_transition",
        "not_found",
        "forbidden",
        "conflict",
        "not_started",
        "paused",
        "time_up",
        "already_submitted",
        "paper_unavailable",
        "invalid_input",
    }
)


@dataclass(frozen=True)
class Expect:
    """The reply a frame must get: `exact` (type, seq or ref_seq, code), or for a parsed
    command its `seq` and, when it must be refused, the codes allowed."""

    exact: tuple[str, Any, str] | None = None
    seq: int | None = None
    refused_with: frozenset[str] | None = None


def expect(frame: str | bytes, limit: int, others: set[int], supervisor: bool) -> Expect:
    if isinstance(frame, bytes):
        return Expect(exact=("error", None, "malformed"))
    try:
        message = parse_proctor(frame, limit)
    except ProtocolError as error:
        return Expect(exact=("error", error.ref_seq, error.code))
    if isinstance(message, Ping):
        return Expect(exact=("pong", None, ""))
    if isinstance(message, msg.ProctorHello):
        return Expect(exact=("error", None, "unexpected"))  # this console watches already
    seq: int = message.seq  # type: ignore[attr-defined]
    if supervisor:
        return Expect(seq=seq, refused_with=frozenset({"forbidden"}))
    if getattr(message, "candidate_id", None) in others:
        return Expect(seq=seq, refused_with=DOMAIN_CODES)
    return Expect(seq=seq)


def check(reply: dict[str, Any], want: Expect) -> bool:
    kind = reply["type"]
    if want.exact is not None:
        got = (kind, reply.get("seq") if kind == "ack" else reply.get("ref_seq"), "")
        if kind == "error":
            got = (kind, reply.get("ref_seq"), reply.get("code", ""))
        return got == want.exact
    if kind == "ack":
        return want.refused_with is None and reply.get("seq") == want.seq
    if kind != "error" or reply.get("ref_seq") != want.seq:
        return False
    allowed = want.refused_with if want.refused_with is not None else DOMAIN_CODES
    return reply.get("code") in allowed


@dataclass
class Console:
    ws: ClientConnection
    ctx: Context
    limit: int
    others: set[int]
    supervisor: bool
    acks: int = 0
    frames: int = 0
    trace: list[str] = field(default_factory=list)

    def exchange(self, frame: str | bytes) -> None:
        want = expect(frame, self.limit, self.others, self.supervisor)
        self.trace.append(repr(frame[:200]))
        self.ws.send(frame)
        self.frames += 1
        while True:
            reply = recv_json(self.ws)
            if reply["type"] in ("ack", "error", "pong"):
                break  # room and seat updates are not replies
        assert check(reply, want), f"{reply} does not answer {want}; frames:\n" + "\n".join(
            self.trace[-20:]
        )
        if reply["type"] == "ack":
            self.acks += 1


async def _audit_by(site: Site, actor: str) -> int:
    async with site.app[SESSIONMAKER]() as db:
        count = await db.scalar(
            select(func.count())
            .select_from(models.AuditEntry)
            .where(models.AuditEntry.actor == actor)
        )
    return int(count or 0)


CASES = {
    # who fuzzes, the session their console watches, the session they must not touch
    "proctor": ("proctor-S-01", "s1", "s2"),
    "outsider": ("proctor-S-02", "s2", "s1"),
    "supervisor": ("supervisor-S-01", "s1", None),
}


@pytest.mark.parametrize("who", sorted(CASES))
async def test_console_survives_hostile_frames(
    any_site: Site, who: str, caplog: pytest.LogCaptureFixture
) -> None:
    site = any_site
    caplog.set_level(logging.ERROR)
    username, watched_name, other_name = CASES[who]
    watched: Exam = getattr(site, watched_name)
    other: Exam | None = getattr(site, other_name) if other_name else None
    await site.start(site.s1)
    present = [await site.quiet_login(p) for p in site.s1.people[:3] + site.s2.people[:2]]
    maker = site.app[SESSIONMAKER]
    if other is not None:
        before = await snapshot(maker, other.session_id, other.code)
    else:
        before = await snapshot(maker)
    audited = await _audit_by(site, username)
    cookie = watched.supervisor_cookie if who == "supervisor" else watched.proctor_cookie
    others = {p.id for p in other.people} if other is not None else set()
    limit = site.settings.max_ws_message_bytes

    def fuzz() -> Console:
        with sync_connect(
            site.ws_url, "/ws/proctor", additional_headers={"Cookie": f"cbt_staff={cookie}"}
        ) as ws:
            if other is not None:  # first, the other session's room: refused
                ws.send(json.dumps({"type": "hello", "protocol": "cbt.v1",
                                    "session_id": other.session_id}))  # fmt: skip
                refused = recv_json(ws)
                assert (refused["type"], refused["code"]) == ("error", "forbidden")
                ws.send(json.dumps({"type": "pause", "seq": 1, "reason": "x"}))
                assert recv_json(ws)["code"] == "hello_required"
            ws.send(json.dumps({"type": "hello", "protocol": "cbt.v1",
                                "session_id": watched.session_id}))  # fmt: skip
            while recv_json(ws)["type"] != "room":
                pass
            console = Console(
                ws,
                Context(
                    acked=1,
                    own_candidates=[p.id for p in watched.people],
                    other_candidates=sorted(others) or [p.id for p in site.s2.people],
                    other_sessions=[site.s1.session_id, site.s2.session_id],
                ),
                limit,
                others,
                supervisor=who == "supervisor",
            )
            frames = proctor_frames(limit)

            @fuzz_settings(EXAMPLES)
            @given(st.lists(frames, min_size=3, max_size=MAX_FRAMES))
            def property_(drawn: list[Any]) -> None:
                for frame in drawn:
                    console.ctx.acked += 1
                    console.exchange(wire(frame, console.ctx))

            property_()
            return console

    console = await asyncio.to_thread(fuzz)
    assert console.frames >= EXAMPLES
    if who == "supervisor":
        assert console.acks == 0
    else:
        assert console.acks > 0, "no command was ever applied: the fuzzing is too weak"
    assert await _audit_by(site, username) == audited + console.acks
    if other is not None:
        after = await snapshot(maker, other.session_id, other.code)
    else:
        after = await snapshot(maker)
    assert differences(before, after) == []
    for client, _ in present:
        await client.send({"type": "ping"})
        await client.expect("pong")
        await client.close()
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]
