"""One simulated candidate over a real WebSocket, with blocking I/O and threads.

Used by the Locust user (under gevent, where threads and sleeps are greenlets). Every
protocol decision is in `CandidateClient`; this module connects, reads frames on a
reader thread, sleeps the think times of the plan, and reconnects when a connection
drops, whether the plan cut it or the server went away.
"""

from __future__ import annotations

import contextlib
import random
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Origin, Subprotocol

from loadtests.candidate import LOGIN_RETRY, CandidateClient, Event
from loadtests.plan import (
    Answer,
    Disconnect,
    Reconnect,
    Submit,
    ThinkTime,
    make_plan,
    paper_items,
)
from loadtests.tcpinfo import TrafficMeter

Report = Callable[[str, float, int, Exception | None], None]
"""(name, milliseconds, bytes, exception or None): a timing for the load tool's statistics."""

SUBPROTOCOL = "cbt.v1"
MAX_FRAME = 16 * 1024 * 1024
RESEND_EVERY_S = 5.0


@dataclass(frozen=True, slots=True)
class Person:
    ticket: str
    id_number: str
    seat: int


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds to wait for the server (not scaled: these are failure limits)."""

    connect: float = 30.0
    login: float = 60.0
    checkin_open: float = 300.0
    paper: float = 900.0
    acks: float = 60.0
    reconnect: float = 180.0
    resumed: float = 600.0


class CandidateFailed(Exception):
    """The simulated candidate could not go on; the message says where it stopped."""


@dataclass
class CandidateRun:
    base_url: str
    person: Person
    think: ThinkTime
    rng: random.Random
    report: Report
    start_at: Callable[[], float | None] = lambda: None
    compression: str | None = "deflate"
    answer_items: int | None = None
    """Answer only the first N items of the paper (None: all), for short big-room runs."""
    timeouts: Timeouts = field(default_factory=Timeouts)
    client: CandidateClient = field(init=False)
    _cond: threading.Condition = field(init=False, default_factory=threading.Condition)
    _send_lock: threading.Lock = field(init=False, default_factory=threading.Lock)
    _ws: ClientConnection | None = field(init=False, default=None)
    _online: bool = field(init=False, default=False)
    _sent_bytes: int = field(init=False, default=0)
    _received_bytes: int = field(init=False, default=0)
    _traffic_known: bool = field(init=False, default=True)
    _meter: TrafficMeter | None = field(init=False, default=None)
    _reconnects: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self.client = CandidateClient(self.person.ticket, self.person.id_number, self.person.seat)

    # --- the exam ------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        """Take the whole exam; returns the ledger record (also after a failure)."""
        failure: str | None = None
        try:
            self._take_exam()
        except CandidateFailed as exc:
            failure = str(exc)
        except Exception as exc:  # a bug or an unforeseen I/O error: record it, go on
            failure = f"{type(exc).__name__}: {exc}"
        except BaseException:  # stopped from outside (the run's time limit): say so
            failure = "stopped before the end of the exam"
            raise
        finally:
            self._hang_up(graceful=True)
            if failure:
                self.client.errors.append(f"{self.person.ticket}: {failure}")
        return self.record()

    def record(self) -> dict[str, Any]:
        return self.client.record(
            bytes_sent=self._sent_bytes if self._traffic_known else None,
            bytes_received=self._received_bytes if self._traffic_known else None,
            reconnects=self._reconnects,
        )

    def _take_exam(self) -> None:
        self._log_in(first=True)
        # A page whose connection drops while it waits logs in again by itself: so do we.
        self._wait_online(lambda: self.client.paper is not None, self.timeouts.paper, "the paper")
        assert self.client.paper is not None
        start = self.start_at()
        if start is not None and self.client.paper_wall is not None:
            delay_ms = max(0.0, self.client.paper_wall - start) * 1000.0
            self.report("paper delivery", delay_ms, 0, None)
        items = paper_items(self.client.paper)[: self.answer_items]
        plan = make_plan(items, self.rng, self.think)
        for step in plan:
            if isinstance(step, Answer):
                time.sleep(step.think_s)
                self._wait_unpaused()
                with self._cond:
                    self.client.new_answer(step.item_id, step.response)
                if not step.offline:
                    self._flush_or_reconnect()
            elif isinstance(step, Disconnect):
                self._hang_up(graceful=False)
            elif isinstance(step, Reconnect):
                time.sleep(step.after_s)
                began = time.monotonic()
                self._log_in(first=False)
                self.report("reconnect", (time.monotonic() - began) * 1000.0, 0, None)
            elif isinstance(step, Submit):
                time.sleep(step.think_s)
                self._submit()

    def _submit(self) -> None:
        began = time.monotonic()
        while True:
            self._wait_all_acked()
            self._wait_unpaused()
            with self._send_lock:
                with self._cond:
                    frame = self.client.submit_frame()
                self._send(frame)
            # A pause can overtake the submit; then it is refused and sent again later.
            self._wait_online(
                lambda: self.client.submitted or self.client.paused,
                self.timeouts.acks,
                "the submission",
            )
            if self.client.submitted:
                break
        self.report("submit", (time.monotonic() - began) * 1000.0, 0, None)

    def _wait_all_acked(self) -> None:
        """Wait until every answer is acknowledged, sending what is due every few seconds
        (answers refused as unavailable); a connection that stays silent is replaced once
        (recorded as an error: the server failed to answer)."""
        stalled = False
        deadline = time.monotonic() + self.timeouts.acks
        while not self.client.all_acked:
            self._flush_or_reconnect()
            with contextlib.suppress(CandidateFailed):
                self._wait_online(lambda: self.client.all_acked, RESEND_EVERY_S, "acks")
            if self.client.all_acked:
                return
            if time.monotonic() > deadline:
                if stalled:
                    raise CandidateFailed(f"no acknowledgement for seqs {self.client.unacked()}")
                stalled = True
                self.client.errors.append(
                    f"{self.person.ticket}: no acknowledgement for seqs {self.client.unacked()} "
                    f"within {self.timeouts.acks:.0f} s; reconnecting"
                )
                self._hang_up(graceful=False)
                self._log_in(first=False)
                deadline = time.monotonic() + self.timeouts.acks

    # --- connection ----------------------------------------------------------------------

    def _ws_url(self) -> str:
        return self.base_url.replace("http", "ws", 1).rstrip("/") + "/ws/candidate"

    def _log_in(self, *, first: bool) -> None:
        """Connect and log in (retrying until check-in opens), then send what is due."""
        limit = self.timeouts.checkin_open if first else self.timeouts.reconnect
        deadline = time.monotonic() + limit
        while True:
            with self._cond:
                logins = self.client.logins
                self.client.last_login_refusal = None
            try:
                self._open()
                with self._cond:
                    hello = self.client.hello()
                self._send(hello)
                self._wait(partial(self._login_answered, logins), self.timeouts.login, "login")
            except (OSError, ConnectionClosed, InvalidHandshake, CandidateFailed) as exc:
                self._hang_up(graceful=False)
                if time.monotonic() > deadline:
                    raise CandidateFailed(f"could not log in: {exc}") from None
                time.sleep(1.0 + self.rng.random())  # the server may be restarting
                continue
            if self.client.logins > logins:
                break
            refusal = self.client.last_login_refusal
            self._hang_up(graceful=True)
            if refusal not in LOGIN_RETRY or time.monotonic() > deadline:
                raise CandidateFailed(f"login refused: {refusal}")
            time.sleep(0.5 + self.rng.random())  # check-in not open yet: wait as a person would
        if self.client.login_ms:
            self.report("login", self.client.login_ms[-1], 0, None)
        if not first:
            self._reconnects += 1
        self._flush()

    def _login_answered(self, logins_before: int) -> bool:
        return self.client.logins > logins_before or bool(self.client.last_login_refusal)

    def _open(self) -> None:
        ws = connect(
            self._ws_url(),
            subprotocols=[Subprotocol(SUBPROTOCOL)],
            origin=Origin(self.base_url.rstrip("/")),
            compression=self.compression,
            open_timeout=self.timeouts.connect,
            max_size=MAX_FRAME,
            proxy=None,
            legacy=True,
        )
        with self._cond:
            self._ws = ws
            self._meter = TrafficMeter(ws.socket)
            self._online = True
        threading.Thread(target=self._read, args=(ws, self._meter), daemon=True).start()

    def _read(self, ws: ClientConnection, meter: TrafficMeter) -> None:
        try:
            for frame in ws:
                meter.read()
                with self._cond:
                    event = self.client.receive(frame)
                    acks = self.client.take_ack_ms()
                    self._cond.notify_all()
                for ms in acks:
                    self.report("answer ack", ms, 0, None)
                if event is Event.RESUMED:
                    self._flush()  # what was refused during the pause goes out at once
        except (ConnectionClosed, OSError, CandidateFailed):
            pass
        finally:
            with self._cond:
                if self._ws is ws:
                    self._online = False
                self._cond.notify_all()

    def _hang_up(self, *, graceful: bool) -> None:
        with self._cond:
            ws, self._ws = self._ws, None
            self._online = False
            self._cond.notify_all()
        if ws is None:
            return
        self._count_traffic()
        if not graceful:
            # A pulled cable, as the server sees it: the TCP connection just ends.
            with contextlib.suppress(OSError):
                ws.socket.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(Exception):
            ws.close()

    def _count_traffic(self) -> None:
        meter, self._meter = self._meter, None
        counted = meter.read() if meter is not None else None
        if counted is None:
            self._traffic_known = False
            return
        self._sent_bytes += counted.sent
        self._received_bytes += counted.received

    def _send(self, frame: str) -> None:
        ws = self._ws
        if ws is None or not self._online:
            raise CandidateFailed("not connected")
        ws.send(frame)

    def _flush(self) -> None:
        """Send every due answer, oldest first; one sender at a time keeps the order."""
        with self._send_lock:
            with self._cond:
                frames = self.client.due_frames() if self._online else []
            for frame in frames:
                self._send(frame)

    def _flush_or_reconnect(self) -> None:
        try:
            self._flush()
        except (CandidateFailed, ConnectionClosed, OSError):
            self._hang_up(graceful=False)
            self._log_in(first=False)

    # --- waiting -------------------------------------------------------------------------

    def _wait(self, ready: Callable[[], object], timeout: float, what: str) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: ready() or not self._online, timeout):
                raise CandidateFailed(f"timed out after {timeout:.0f} s waiting for {what}")
            if ready():
                return
        raise CandidateFailed(f"connection lost waiting for {what}")

    def _wait_unpaused(self) -> None:
        if self.client.paused:
            self._wait_online(lambda: not self.client.paused, self.timeouts.resumed, "resume")

    def _wait_online(self, ready: Callable[[], bool], timeout: float, what: str) -> None:
        """Wait for `ready`, logging in again (and resending) if the connection drops."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self._wait(ready, max(0.0, deadline - time.monotonic()), what)
                return
            except CandidateFailed:
                if ready():
                    return
                if self._online or time.monotonic() > deadline:
                    raise
                self._hang_up(graceful=False)
                self._log_in(first=False)
