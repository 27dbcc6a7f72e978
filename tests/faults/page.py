"""A candidate's page, simulated over the real protocol: what the fault tests drive.

It follows `client_web/static/candidate/` rule for rule, so that a fault test proves what
the real page would live through:

- every answer gets the next sequence number and stays in an outbox until its `ack`;
- the connection reconnects by itself with backoff and jitter, logs in again with the
  resume token of this PC, and then sends everything still in the outbox;
- on every `state` the outbox is reconciled: a message at or below the server's
  `acked_seq` that the state shows was not applied (it was refused, or lost with a dying
  link while a later one got through) is sent again under a fresh number;
- an answer refused "for now" (`unavailable`, `paused`, ...) is sent again later under a
  fresh number; a message without an ack for `resend_after` seconds is sent again.

The ledger it keeps is what the tests check against the database: `acked` holds each
message the page was told is committed, `sent` every message by its number.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.typing import Subprotocol

from cbt_server.protocol import SUBPROTOCOL

RETRY_LATER = frozenset({"paused", "unavailable", "internal", "rate_limited"})
"""Refusals meaning "not now": the page keeps the message and sends it again later."""
LOGIN_RETRY = frozenset({"not_started", "unavailable", "internal", "rate_limited"})
"""Login refusals the page retries by itself."""
FINISHED = frozenset({"submitted", "graded", "absent"})


@dataclass
class Snapshot:
    """A `state` as received, with the test's monotonic clock at its arrival."""

    at: float
    state: dict[str, Any]

    @property
    def remaining_ms(self) -> int:
        return int(self.state["remaining_ms"])


@dataclass
class Ledger:
    """What the page knows: every numbered message, and which of them were acknowledged."""

    sent: dict[int, dict[str, Any]] = field(default_factory=dict)
    acked: dict[int, dict[str, Any]] = field(default_factory=dict)
    first_sent_at: dict[int, float] = field(default_factory=dict)
    acked_at: dict[int, float] = field(default_factory=dict)
    acked_by_state: set[int] = field(default_factory=set)
    """Numbers never acknowledged over the wire but shown stored by a later `state`."""
    acked_after_closing: list[int] = field(default_factory=list)
    """Acks that arrived after the server said it was closing the connection."""
    skipped: set[int] = field(default_factory=set)
    """Numbers the server refused or did not apply: an ack for one of them (the server
    acknowledges any number up to its mark) does not mean that message is stored."""


class PageCandidate:
    """One candidate's page on one PC. `start()` it, `answer()` items, `stop()` it."""

    def __init__(
        self,
        ws_url: str,
        ticket: str,
        id_number: str,
        *,
        seat: int | None = None,
        resend_after: float = 3.0,
        first_retry: float = 0.2,
        max_retry: float = 2.0,
        ping_interval: float | None = 5.0,
        name: str = "",
    ) -> None:
        self.url = f"{ws_url}/ws/candidate"
        self.ticket = ticket
        self.id_number = id_number
        self.seat = seat
        self.name = name or ticket
        self.resend_after = resend_after
        self.first_retry = first_retry
        self.max_retry = max_retry
        self.ping_interval = ping_interval
        self.ledger = Ledger()
        self.outbox: list[dict[str, Any]] = []
        self.last_seq = 0
        self.resume_token: str | None = None
        self.paper: list[dict[str, Any]] = []
        self.snapshots: list[Snapshot] = []
        self.closings: list[dict[str, Any]] = []
        self.clock_reports: list[dict[str, Any]] = []
        """Every message carrying the server's `remaining_ms` and `server_time`."""
        self.close_codes: list[int | None] = []
        self.errors: list[dict[str, Any]] = []
        self.refused_login: dict[str, Any] | None = None
        self.connects = 0
        self.logins = 0
        self.paused = False
        self.submitted = False
        self.logged_in = False
        self._ws: ClientConnection | None = None
        self._generation = 0
        self._in_flight: dict[int, tuple[int, float]] = {}  # seq -> (generation, sent at)
        self._hold_until = 0.0
        self._retry_delay = 0.0
        self._attempt = 0
        self._stopped = False
        self._task: asyncio.Task[None] | None = None
        self._progress = asyncio.Event()
        self._kicks: set[asyncio.Task[None]] = set()
        self._closing_heard = False
        self.outbox_at_close: list[list[dict[str, Any]]] = []
        """The unacknowledged messages at the end of each connection."""

    # --- life cycle ----------------------------------------------------------------------

    def start(self) -> None:
        self._stopped = False
        self._task = asyncio.create_task(self._run(), name=f"page-{self.name}")

    async def stop(self) -> None:
        """Close the page (a clean close, as when the browser tab is closed)."""
        self._stopped = True
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._ws.close(), timeout=2)
        await self._end_task()

    async def power_off(self) -> None:
        """The PC dies: no close frame, no FIN; the outbox dies with the PC's storage."""
        self._stopped = True
        if self._ws is not None:
            self._ws.transport.abort()
        await self._end_task()

    async def _end_task(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    @property
    def online(self) -> bool:
        return self.logged_in and self._ws is not None

    # --- what the candidate does ---------------------------------------------------------

    def answer(self, item_id: str, response: list[str]) -> int:
        """Choose an answer: queued at once (online or not), sent when possible."""
        message = {"type": "answer", "item_id": item_id, "response": list(response)}
        self._supersede(message)
        seq = self._number(message)
        self._kick()
        return seq

    def submit(self) -> int:
        seq = self._number({"type": "submit"})
        self._kick()
        return seq

    # --- waiting -------------------------------------------------------------------------

    async def until(self, ready: Any, limit_s: float, what: str) -> None:
        """Wait until `ready()` holds, or fail naming `what` and this candidate."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit_s
        while not ready():
            left = deadline - loop.time()
            if left <= 0:
                raise AssertionError(
                    f"{self.name}: {what} not reached within {limit_s:.0f} s "
                    f"(outbox {len(self.outbox)}, connects {self.connects}, "
                    f"errors {self.errors[-3:]}, refused login {self.refused_login})"
                )
            self._progress.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._progress.wait(), timeout=min(left, 0.5))

    async def until_paper(self, limit_s: float = 30) -> None:
        await self.until(lambda: bool(self.paper) and self.logged_in, limit_s, "paper")

    async def until_all_acked(self, limit_s: float = 60) -> None:
        await self.until(lambda: not self.outbox and self.logged_in, limit_s, "all acked")

    async def until_logins(self, count: int, limit_s: float = 60) -> None:
        await self.until(lambda: self.logins >= count, limit_s, f"{count} logins")

    # --- the ledger ----------------------------------------------------------------------

    def acked_answers(self) -> list[tuple[int, dict[str, Any]]]:
        return sorted((s, m) for s, m in self.ledger.acked.items() if m["type"] == "answer")

    def intended(self) -> dict[str, list[str]]:
        """The latest answer the candidate chose for each item (by sequence number)."""
        latest: dict[str, tuple[int, list[str]]] = {}
        for seq, message in self.ledger.sent.items():
            if message["type"] != "answer":
                continue
            item = message["item_id"]
            if item not in latest or latest[item][0] < seq:
                latest[item] = (seq, message["response"])
        return {item: response for item, (_, response) in latest.items()}

    def last_snapshot(self) -> Snapshot:
        assert self.snapshots, f"{self.name}: no state received"
        return self.snapshots[-1]

    # --- internals: the outbox -----------------------------------------------------------

    def _number(self, message: dict[str, Any]) -> int:
        self.last_seq += 1
        stamped = {**message, "seq": self.last_seq}
        self.outbox.append(stamped)
        self.ledger.sent[self.last_seq] = stamped
        return self.last_seq

    def _supersede(self, message: dict[str, Any]) -> None:
        self.outbox = [
            old
            for old in self.outbox
            if not (old["type"] == message["type"] and old.get("item_id") == message["item_id"])
        ]

    def _take(self, seq: int) -> dict[str, Any] | None:
        for index, message in enumerate(self.outbox):
            if message["seq"] == seq:
                return self.outbox.pop(index)
        return None

    def _renumber(self, message: dict[str, Any]) -> None:
        """Send again under a fresh number, unless a newer one for the same thing waits."""
        self.ledger.skipped.add(message["seq"])
        newer = any(
            other["type"] == message["type"]
            and (message["type"] == "submit" or other.get("item_id") == message.get("item_id"))
            for other in self.outbox
        )
        if not newer:
            copy = {k: v for k, v in message.items() if k != "seq"}
            self._number(copy)

    def _reconcile(self, state: dict[str, Any]) -> None:
        acked_seq = int(state["acked_seq"])
        in_exam = (
            state["candidate"]["state"] in ("answering", "paused")
            and state["session"]["state"] == "started"
        )
        self.last_seq = max(self.last_seq, acked_seq)
        passed = [m for m in self.outbox if m["seq"] <= acked_seq]
        self.outbox = [m for m in self.outbox if m["seq"] > acked_seq]
        for message in passed:
            if _applied(message, state):
                self.ledger.acked[message["seq"]] = message
                self.ledger.acked_by_state.add(message["seq"])
            else:
                self.ledger.skipped.add(message["seq"])
                if in_exam and message["type"] != "submit":
                    self._renumber(message)

    # --- internals: the connection -------------------------------------------------------

    async def _run(self) -> None:
        while not self._stopped:
            with contextlib.suppress(
                OSError, TimeoutError, ConnectionClosed, InvalidHandshake, InvalidStatus
            ):
                await self._session()
            self._ws = None
            self.logged_in = False
            self._progress.set()
            if self._stopped:
                return
            base = min(self.max_retry, self.first_retry * 2**self._attempt)
            self._attempt += 1
            await asyncio.sleep(base * (0.8 + random.random() * 0.4))

    async def _session(self) -> None:
        async with connect(
            self.url,
            subprotocols=[Subprotocol(SUBPROTOCOL)],
            open_timeout=5,
            close_timeout=2,
            ping_interval=self.ping_interval,
            ping_timeout=self.ping_interval,
            max_size=8 * 1024 * 1024,
        ) as ws:
            self._ws = ws
            self._closing_heard = False
            self._generation += 1
            self.connects += 1
            self.logged_in = False
            self._in_flight.clear()
            hello = {
                "type": "hello",
                "protocol": SUBPROTOCOL,
                "ticket": self.ticket,
                "id_number": self.id_number,
                "seat": self.seat,
                "resume_token": self.resume_token,
            }
            await ws.send(json.dumps(hello))
            resender = asyncio.create_task(self._resend_stale(ws))
            try:
                async for raw in ws:
                    if isinstance(raw, str):
                        self._receive(json.loads(raw))
                        await self._flush(ws)
                        self._progress.set()
                    if self._stopped:
                        return
            finally:
                resender.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await resender
                self.close_codes.append(ws.close_code)
                self.outbox_at_close.append(list(self.outbox))

    def _kick(self) -> None:
        ws = self._ws
        if ws is not None and self.logged_in:
            task = asyncio.create_task(self._flush_quietly(ws))
            self._kicks.add(task)
            task.add_done_callback(self._kicks.discard)

    async def _flush_quietly(self, ws: ClientConnection) -> None:
        with contextlib.suppress(ConnectionClosed, OSError):
            await self._flush(ws)

    async def _flush(self, ws: ClientConnection) -> None:
        """Send every outbox message not yet sent on this connection, in seq order."""
        if not self.logged_in or self.paused or ws is not self._ws:
            return
        loop = asyncio.get_running_loop()
        if loop.time() < self._hold_until:
            return
        for message in list(self.outbox):
            sent = self._in_flight.get(message["seq"])
            if sent is not None and sent[0] == self._generation:
                continue
            self._in_flight[message["seq"]] = (self._generation, loop.time())
            self.ledger.first_sent_at.setdefault(message["seq"], loop.time())
            await ws.send(json.dumps(message))

    async def _resend_stale(self, ws: ClientConnection) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(0.25)
            now = loop.time()
            for seq, (_, at) in list(self._in_flight.items()):
                if now - at > self.resend_after:
                    del self._in_flight[seq]
            with contextlib.suppress(ConnectionClosed, OSError):
                await self._flush(ws)

    # --- internals: what the server says -------------------------------------------------

    def _receive(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if "remaining_ms" in message and "server_time" in message:
            self.clock_reports.append(message)
        if kind == "state":
            self._on_state(message)
        elif kind == "ack":
            self._on_ack(int(message["seq"]))
        elif kind == "error":
            self._on_error(message)
        elif kind == "paused":
            self.paused = True
        elif kind == "resumed":
            self.paused = False
        elif kind == "submitted":
            self.submitted = True
            self.outbox.clear()
        elif kind == "closing":
            self._closing_heard = True
            self.closings.append(message)
            if not message.get("reconnect", True):
                self._stopped = True

    def _on_state(self, state: dict[str, Any]) -> None:
        loop = asyncio.get_running_loop()
        self.snapshots.append(Snapshot(loop.time(), state))
        if not self.logged_in:
            self.logins += 1
        self.logged_in = True
        self._attempt = 0
        self.refused_login = None
        if state.get("resume_token"):
            self.resume_token = state["resume_token"]
        if state.get("paper"):
            self.paper = [item for s in state["paper"]["sections"] for item in s["items"]]
        self.paused = bool(state["paused"])
        self._reconcile(state)
        self._in_flight.clear()
        self._hold_until = 0.0
        if state["candidate"]["state"] in FINISHED:
            self.submitted = state["candidate"]["state"] != "absent"
            self.outbox.clear()

    def _on_ack(self, seq: int) -> None:
        if self._closing_heard:
            self.ledger.acked_after_closing.append(seq)
        self._in_flight.pop(seq, None)
        self._retry_delay = 0.0
        self._take(seq)
        if seq in self.ledger.sent and seq not in self.ledger.skipped:
            self.ledger.acked[seq] = self.ledger.sent[seq]
            self.ledger.acked_at.setdefault(seq, asyncio.get_running_loop().time())

    def _on_error(self, error: dict[str, Any]) -> None:
        self.errors.append(error)
        ref = error.get("ref_seq")
        if not self.logged_in and ref is None:
            self.refused_login = error
            if error["code"] not in LOGIN_RETRY:
                self._stopped = True
            return
        if ref is None:
            return
        self._in_flight.pop(ref, None)
        message = self._take(ref)
        if message is None:
            self.ledger.skipped.add(ref)
            return
        if error["code"] in RETRY_LATER and not (
            message["type"] == "submit" and error["code"] == "paused"
        ):
            self._renumber(message)
            self._retry_delay = min(10.0, max(1.0, self._retry_delay * 2))
            self._hold_until = asyncio.get_running_loop().time() + self._retry_delay
        else:
            self.ledger.skipped.add(ref)


def _applied(message: dict[str, Any], state: dict[str, Any]) -> bool:
    """Whether the server's state shows `message` took effect (as the page judges it)."""
    if message["type"] == "answer":
        stored = state["answers"].get(message["item_id"], [])
        return sorted(stored) == sorted(message["response"])
    if message["type"] == "flag":
        return (message["item_id"] in state["flags"]) == message["flagged"]
    return state["candidate"]["state"] in FINISHED


def pick(item: dict[str, Any], n: int) -> list[str]:
    """A valid response to `item` that varies with `n`."""
    if item["type"] == "true_false":
        return [("true", "false")[n % 2]]
    options = [o["id"] for o in item["options"]]
    if item["type"] == "multiple":
        return sorted({options[n % len(options)], options[(n + 1) % len(options)]})
    return [options[n % len(options)]]
