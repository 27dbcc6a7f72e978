"""The simulated proctor over HTTP sign-in and a real WebSocket, with blocking I/O.

Signs in at /staff/login like a browser (double-submit login token), opens the room
console socket with the session cookie, opens check-in, waits until every candidate has
checked in, starts the session, pauses and resumes a few candidates part way, and waits
until everyone has submitted.
"""

from __future__ import annotations

import contextlib
import http.client
import random
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Origin, Subprotocol

from loadtests.plan import ThinkTime
from loadtests.proctor import DONE, WAITING, ProctorClient
from loadtests.sync_candidate import SUBPROTOCOL, Report
from loadtests.tcpinfo import TrafficMeter

STAFF_COOKIE = "cbt_staff"
LOGIN_COOKIE = "cbt_login"
LOGIN_PATH = "/staff/login"
DONE_GRACE_S = 10.0


class ProctorFailed(Exception):
    """The simulated proctor could not go on; the message says where it stopped."""


def _cookies(response: http.client.HTTPResponse) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    for header in response.headers.get_all("Set-Cookie") or []:
        jar.load(header)
    return {name: morsel.value for name, morsel in jar.items()}


def staff_login(base_url: str, username: str, password: str, timeout: float = 30.0) -> str:
    """Sign in through the login form; returns the staff session cookie's value."""
    parts = urllib.parse.urlsplit(base_url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=timeout)
    try:
        conn.request("GET", LOGIN_PATH)
        form_page = conn.getresponse()
        form_page.read()
        token = _cookies(form_page).get(LOGIN_COOKIE)
        if form_page.status != 200 or not token:
            raise ProctorFailed(f"GET {LOGIN_PATH}: status {form_page.status}, no login token")
        body = urllib.parse.urlencode(
            {"username": username, "password": password, "login_token": token, "next": "/"}
        )
        conn.request(
            "POST",
            LOGIN_PATH,
            body=body,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Cookie": f"{LOGIN_COOKIE}={token}",
                "Origin": base_url.rstrip("/"),
            },
        )
        answer = conn.getresponse()
        answer.read()
        secret = _cookies(answer).get(STAFF_COOKIE)
        if answer.status != 303 or not secret:
            raise ProctorFailed(f"POST {LOGIN_PATH}: status {answer.status}, not signed in")
        return secret
    finally:
        conn.close()


@dataclass(frozen=True, slots=True)
class ProctorPlan:
    """What the proctor does, in seconds before the think-time scale is applied."""

    expected: int
    briefing_s: float = 30.0  # between the last check-in and the start
    pause_after_s: float = 120.0  # from the start to the pauses
    pause_for_s: float = 30.0
    pause_fraction: float = 0.1  # of the room, at least one candidate
    checkin_timeout_s: float = 600.0  # not scaled
    finish_timeout_s: float = 4 * 3600.0  # not scaled


@dataclass
class ProctorRun:
    base_url: str
    username: str
    password: str
    session_id: int
    plan: ProctorPlan
    think: ThinkTime
    rng: random.Random
    report: Report
    on_start: Callable[[float], None] = lambda _at: None
    candidates_done: Callable[[], bool] = lambda: False
    """True once every candidate user has stopped (finished or failed): stop waiting."""
    client: ProctorClient = field(init=False)
    _cond: threading.Condition = field(init=False, default_factory=threading.Condition)
    _ws: ClientConnection | None = field(init=False, default=None)
    _online: bool = field(init=False, default=False)
    start_at: float | None = field(init=False, default=None)
    paused_ids: list[int] = field(init=False, default_factory=list)
    _meter: TrafficMeter | None = field(init=False, default=None)
    _secret: str = field(init=False, default="")
    _earlier_bytes: tuple[int, int] = field(init=False, default=(0, 0))
    reconnects: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self.client = ProctorClient(self.session_id)

    def run(self) -> dict[str, Any]:
        """Run the room; returns the proctor's ledger record (also after a failure)."""
        try:
            self._run_room()
        except (ProctorFailed, ConnectionClosed, OSError) as exc:
            self.client.errors.append(f"proctor: {exc}")
        except Exception as exc:  # a bug: record it so the report fails loudly
            self.client.errors.append(f"proctor: {type(exc).__name__}: {exc}")
        except BaseException:  # stopped from outside (the run's time limit)
            self.client.errors.append("proctor: stopped before every candidate submitted")
            raise
        finally:
            ws, self._ws = self._ws, None
            if ws is not None:
                with contextlib.suppress(Exception):
                    ws.close()
        return self.record()

    def record(self) -> dict[str, Any]:
        self._count_bytes()
        sent, received = self._earlier_bytes
        return self.client.record(
            start_at=self.start_at,
            paused=self.paused_ids,
            bytes_sent=sent if self._earlier_bytes != (0, 0) else None,
            bytes_received=received if self._earlier_bytes != (0, 0) else None,
            console_reconnects=self.reconnects,
        )

    def _count_bytes(self) -> None:
        """Add the current connection's bytes to the total and stop counting it."""
        counted = self._meter.read() if self._meter is not None else None
        self._meter = None
        if counted is not None:
            sent, received = self._earlier_bytes
            self._earlier_bytes = (sent + counted.sent, received + counted.received)

    def _run_room(self) -> None:
        began = time.monotonic()
        secret = staff_login(self.base_url, self.username, self.password)
        self.report("staff login", (time.monotonic() - began) * 1000.0, 0, None)
        self._secret = secret
        self._open(secret)
        self._send(self.client.hello())
        self._wait(lambda: self.client.rooms_received > 0, 30.0, "the room")
        if self.client.session_state == "scheduled":
            self._command("open_checkin")
        scale = self.think.scale
        self._wait_or_done(
            lambda: self.client.count(WAITING) >= self.plan.expected,
            self.plan.checkin_timeout_s,
            f"{self.plan.expected} check-ins",
        )
        time.sleep(self.plan.briefing_s * scale)
        self.start_at = time.time()
        self.on_start(self.start_at)
        self._command("start")
        time.sleep(self.plan.pause_after_s * scale)
        candidates = self.client.in_exam()
        count = min(len(candidates), max(1, round(self.plan.expected * self.plan.pause_fraction)))
        self.paused_ids = sorted(self.rng.sample(candidates, count))
        for candidate_id in self.paused_ids:
            self._command("pause", candidate_id=candidate_id, reason="load test: PC check")
        time.sleep(self.plan.pause_for_s * scale)
        for candidate_id in self.paused_ids:
            self._command("resume", candidate_id=candidate_id, reason="load test: PC fine")
        self._wait_or_done(
            lambda: self.client.count(DONE) >= self.plan.expected,
            self.plan.finish_timeout_s,
            "every candidate to submit",
        )

    def _command(self, kind: str, **fields: Any) -> None:
        with self._cond:
            seq, frame = self.client.command(kind, **fields)
        self._send(frame)
        self._wait(lambda: self.client.done(seq), 60.0, f"the reply to {kind}")
        command = self.client.commands[seq]
        failure = None if command.refused is None else ProctorFailed(command.refused)
        self.report(kind, command.done_ms or 0.0, 0, failure)

    def _open(self, secret: str) -> None:
        url = self.base_url.replace("http", "ws", 1).rstrip("/") + "/ws/proctor"
        ws = connect(
            url,
            subprotocols=[Subprotocol(SUBPROTOCOL)],
            origin=Origin(self.base_url.rstrip("/")),
            additional_headers={"Cookie": f"{STAFF_COOKIE}={secret}"},
            open_timeout=30.0,
            max_size=64 * 1024 * 1024,
            proxy=None,
            legacy=True,
        )
        self._ws = ws
        self._meter = TrafficMeter(ws.socket)
        self._online = True
        threading.Thread(target=self._read, args=(ws,), daemon=True).start()

    def _read(self, ws: ClientConnection) -> None:
        try:
            for frame in ws:
                if self._meter is not None:
                    self._meter.read()
                with self._cond:
                    self.client.receive(frame)
                    self._cond.notify_all()
        except (ConnectionClosed, OSError):
            pass
        finally:
            with self._cond:
                self._online = False
                self._cond.notify_all()

    def _send(self, frame: str) -> None:
        if self._ws is None or not self._online:
            raise ProctorFailed("the console connection is closed")
        self._ws.send(frame)

    def _wait_or_done(self, ready: Callable[[], bool], timeout: float, what: str) -> None:
        """`_wait`, but give up early once no candidate is left to wait for."""
        deadline = time.monotonic() + timeout
        grace_until: float | None = None
        while not ready():
            now = time.monotonic()
            if self.candidates_done() and grace_until is None:
                grace_until = now + DONE_GRACE_S  # the last seat updates may still come
            if grace_until is not None and now > grace_until:
                raise ProctorFailed(f"every candidate stopped before {what}")
            if now > deadline:
                raise ProctorFailed(f"timed out after {timeout:.0f} s waiting for {what}")
            with contextlib.suppress(ProctorFailed):
                self._wait(ready, 1.0, what)
            if not self._online:
                self._reconnect(deadline, what)

    def _reconnect(self, deadline: float, what: str) -> None:
        """The server went away (a restart): open the console again, as a proctor would
        reload the page, and go on waiting; the room message brings the seats up to date."""
        self._count_bytes()
        rooms = self.client.rooms_received
        while True:
            try:
                self._open(self._secret)
                self._send(self.client.hello())
                self._wait(lambda: self.client.rooms_received > rooms, 30.0, "the room again")
            except Exception as exc:  # refused, reset, handshake failed: not up yet
                if time.monotonic() > deadline:
                    raise ProctorFailed(f"console lost waiting for {what}: {exc}") from None
                time.sleep(1.0)
                continue
            self.reconnects += 1
            return

    def _wait(self, ready: Callable[[], bool], timeout: float, what: str) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: ready() or not self._online, timeout):
                raise ProctorFailed(f"timed out after {timeout:.0f} s waiting for {what}")
            if not ready():
                raise ProctorFailed(f"console connection lost waiting for {what}")
