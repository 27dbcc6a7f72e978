"""A lighter load generator than Locust: every candidate is an asyncio task.

    python -m loadtests.async_driver --host http://127.0.0.1:8080 --room-file room.json \\
        --ledger-dir DIR [--think-scale X] [--spawn-rate R] [--no-compression]

It simulates the same candidates and proctor as `locustfile.py` (the same plans, the
same sans-I/O protocol clients, the same ledger), without gevent and Locust's
statistics machinery, so one process can hold thousands of connections. It prints a
short timing summary at the end; the report comes from the ledger as with Locust.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import sys
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.typing import Origin, Subprotocol

from loadtests.candidate import LOGIN_RETRY, CandidateClient, Event
from loadtests.ledger import LedgerWriter
from loadtests.loopwatch import GeneratorWatch
from loadtests.plan import Answer, Disconnect, Reconnect, Submit, ThinkTime, make_plan, paper_items
from loadtests.proctor import DONE, WAITING, ProctorClient
from loadtests.stats import summarize
from loadtests.sync_candidate import MAX_FRAME, RESEND_EVERY_S, SUBPROTOCOL, Person, Timeouts
from loadtests.sync_proctor import DONE_GRACE_S, ProctorPlan, staff_login
from loadtests.tcpinfo import TrafficMeter


class Failed(Exception):
    """A simulated user could not go on; the message says where it stopped."""


class Timings:
    """Named timing samples in milliseconds, summarised at the end."""

    def __init__(self) -> None:
        self.samples: dict[str, list[float]] = defaultdict(list)

    def add(self, name: str, ms: float) -> None:
        self.samples[name].append(ms)

    def lines(self) -> list[str]:
        points = {"p50": 0.5, "p95": 0.95, "p99": 0.99, "max": 1.0}
        return [
            f"{name}: n={len(values)} {summarize(values, points, digits=1)} ms"
            for name, values in sorted(self.samples.items())
        ]


class Shared:
    def __init__(self) -> None:
        self.start_at: float | None = None


class Link:
    """One WebSocket with a reader task that feeds frames to `on_frame`."""

    def __init__(
        self, ws: ClientConnection, on_frame: Callable[[str | bytes], Awaitable[None]]
    ) -> None:
        self.ws = ws
        self.online = True
        self._on_frame = on_frame
        self.closed = asyncio.Event()
        self.meter = TrafficMeter(ws.transport.get_extra_info("socket"))
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for frame in self.ws:
                self.meter.read()
                await self._on_frame(frame)
        except (ConnectionClosed, OSError):
            pass
        finally:
            self.online = False
            self.closed.set()
            await self._on_frame(b"")  # wake the waiters: the connection is gone

    def bytes(self) -> tuple[int, int] | None:
        counted = self.meter.read()
        return None if counted is None else (counted.sent, counted.received)

    async def close(self, *, graceful: bool) -> None:
        self.online = False
        if not graceful:
            with contextlib.suppress(Exception):
                self.ws.transport.abort()  # the TCP connection just ends, as on a cut cable
        with contextlib.suppress(Exception):
            async with asyncio.timeout(5):
                await self.ws.close()
        self.reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self.reader


async def _open(url: str, origin: str, compression: str | None, **extra: Any) -> ClientConnection:
    return await connect(
        url,
        subprotocols=[Subprotocol(SUBPROTOCOL)],
        origin=Origin(origin),
        compression=compression,
        open_timeout=30,
        max_size=MAX_FRAME,
        proxy=None,
        **extra,
    )


class AsyncCandidate:
    def __init__(
        self,
        base_url: str,
        person: Person,
        think: ThinkTime,
        rng: random.Random,
        timings: Timings,
        shared: Shared,
        compression: str | None,
        timeouts: Timeouts | None = None,
        answer_items: int | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.person = person
        self.think = think
        self.rng = rng
        self.timings = timings
        self.shared = shared
        self.compression = compression
        self.timeouts = timeouts or Timeouts()
        self.answer_items = answer_items
        self.client = CandidateClient(person.ticket, person.id_number, person.seat)
        self.link: Link | None = None
        self.changed = asyncio.Condition()
        self.send_lock = asyncio.Lock()
        self.sent_bytes = 0
        self.received_bytes = 0
        self.traffic_known = True
        self.reconnects = 0

    async def run(self) -> dict[str, Any]:
        failure = None
        try:
            await self._take_exam()
        except Failed as exc:
            failure = str(exc)
        except Exception as exc:  # unforeseen: record it and go on with the others
            failure = f"{type(exc).__name__}: {exc}"
        finally:
            await self._hang_up(graceful=True)
        if failure:
            self.client.errors.append(f"{self.person.ticket}: {failure}")
        return self.client.record(
            bytes_sent=self.sent_bytes if self.traffic_known else None,
            bytes_received=self.received_bytes if self.traffic_known else None,
            reconnects=self.reconnects,
        )

    async def _take_exam(self) -> None:
        await self._log_in(first=True)
        # A page whose connection drops while it waits logs in again by itself: so do we.
        await self._wait_online(lambda: self.client.paper is not None, self.timeouts.paper, "paper")
        assert self.client.paper is not None
        if self.shared.start_at is not None and self.client.paper_wall is not None:
            self.timings.add(
                "paper delivery", max(0.0, self.client.paper_wall - self.shared.start_at) * 1000
            )
        items = paper_items(self.client.paper)[: self.answer_items]
        for step in make_plan(items, self.rng, self.think):
            if isinstance(step, Answer):
                await asyncio.sleep(step.think_s)
                await self._wait_unpaused()
                self.client.new_answer(step.item_id, step.response)
                if not step.offline:
                    await self._flush_or_reconnect()
            elif isinstance(step, Disconnect):
                await self._hang_up(graceful=False)
            elif isinstance(step, Reconnect):
                await asyncio.sleep(step.after_s)
                began = time.monotonic()
                await self._log_in(first=False)
                self.timings.add("reconnect", (time.monotonic() - began) * 1000)
            elif isinstance(step, Submit):
                await asyncio.sleep(step.think_s)
                await self._submit()

    async def _submit(self) -> None:
        began = time.monotonic()
        while True:
            await self._wait_all_acked()
            await self._wait_unpaused()
            async with self.send_lock:
                await self._send(self.client.submit_frame())
            await self._wait_online(
                lambda: self.client.submitted or self.client.paused,
                self.timeouts.acks,
                "the submission",
            )
            if self.client.submitted:
                break
        self.timings.add("submit", (time.monotonic() - began) * 1000)

    async def _wait_all_acked(self) -> None:
        """As in the Locust user: resend what is due every few seconds; replace a silent
        connection once (recorded as an error)."""
        stalled = False
        deadline = time.monotonic() + self.timeouts.acks
        while not self.client.all_acked:
            await self._flush_or_reconnect()
            with contextlib.suppress(Failed):
                await self._wait_online(lambda: self.client.all_acked, RESEND_EVERY_S, "acks")
            if self.client.all_acked:
                return
            if time.monotonic() > deadline:
                if stalled:
                    raise Failed(f"no acknowledgement for seqs {self.client.unacked()}")
                stalled = True
                self.client.errors.append(
                    f"{self.person.ticket}: no acknowledgement for seqs {self.client.unacked()} "
                    f"within {self.timeouts.acks:.0f} s; reconnecting"
                )
                await self._hang_up(graceful=False)
                await self._log_in(first=False)
                deadline = time.monotonic() + self.timeouts.acks

    async def _on_frame(self, frame: str | bytes) -> None:
        event = self.client.receive(frame) if frame else Event.OTHER
        for ms in self.client.take_ack_ms():
            self.timings.add("answer ack", ms)
        async with self.changed:
            self.changed.notify_all()
        if event is Event.RESUMED:
            await self._flush_quietly()  # what was refused during the pause goes out now

    async def _log_in(self, *, first: bool) -> None:
        limit = self.timeouts.checkin_open if first else self.timeouts.reconnect
        deadline = time.monotonic() + limit
        url = self.base_url.replace("http", "ws", 1) + "/ws/candidate"
        while True:
            logins = self.client.logins
            self.client.last_login_refusal = None
            try:
                ws = await _open(url, self.base_url, self.compression)
                self.link = Link(ws, self._on_frame)
                await self._send(self.client.hello())
                await self._wait(
                    partial(self._login_answered, logins), self.timeouts.login, "login"
                )
            except (OSError, ConnectionClosed, InvalidHandshake, Failed, TimeoutError) as exc:
                await self._hang_up(graceful=False)
                if time.monotonic() > deadline:
                    raise Failed(f"could not log in: {exc}") from None
                await asyncio.sleep(1.0 + self.rng.random())
                continue
            if self.client.logins > logins:
                break
            refusal = self.client.last_login_refusal
            await self._hang_up(graceful=True)
            if refusal not in LOGIN_RETRY or time.monotonic() > deadline:
                raise Failed(f"login refused: {refusal}")
            await asyncio.sleep(0.5 + self.rng.random())
        if self.client.login_ms:
            self.timings.add("login", self.client.login_ms[-1])
        if not first:
            self.reconnects += 1
        await self._flush()

    def _login_answered(self, logins_before: int) -> bool:
        return self.client.logins > logins_before or bool(self.client.last_login_refusal)

    async def _hang_up(self, *, graceful: bool) -> None:
        link, self.link = self.link, None
        if link is None:
            return
        counted = link.bytes()
        if counted is None:
            self.traffic_known = False
        else:
            self.sent_bytes += counted[0]
            self.received_bytes += counted[1]
        await link.close(graceful=graceful)

    def _online(self) -> bool:
        return self.link is not None and self.link.online

    async def _send(self, frame: str) -> None:
        if self.link is None or not self.link.online:
            raise Failed("not connected")
        await self.link.ws.send(frame)

    async def _flush(self) -> None:
        """Send every due answer, oldest first; one sender at a time keeps the order."""
        async with self.send_lock:
            for frame in self.client.due_frames() if self._online() else []:
                await self._send(frame)

    async def _flush_quietly(self) -> None:
        with contextlib.suppress(Failed, ConnectionClosed, OSError):
            await self._flush()

    async def _flush_or_reconnect(self) -> None:
        try:
            await self._flush()
        except (Failed, ConnectionClosed, OSError):
            await self._hang_up(graceful=False)
            await self._log_in(first=False)

    async def _wait(self, ready: Callable[[], bool], limit_s: float, what: str) -> None:
        try:
            async with asyncio.timeout(limit_s), self.changed:
                await self.changed.wait_for(lambda: ready() or not self._online())
        except TimeoutError:
            raise Failed(f"timed out after {limit_s:.0f} s waiting for {what}") from None
        if not ready():
            raise Failed(f"connection lost waiting for {what}")

    async def _wait_unpaused(self) -> None:
        if self.client.paused:
            await self._wait_online(lambda: not self.client.paused, self.timeouts.resumed, "resume")

    async def _wait_online(self, ready: Callable[[], bool], limit_s: float, what: str) -> None:
        deadline = time.monotonic() + limit_s
        while True:
            try:
                await self._wait(ready, max(0.0, deadline - time.monotonic()), what)
                return
            except Failed:
                if ready():
                    return
                if self._online() or time.monotonic() > deadline:
                    raise
                await self._hang_up(graceful=False)
                await self._log_in(first=False)


class AsyncProctor:
    def __init__(
        self,
        base_url: str,
        room: dict[str, Any],
        think: ThinkTime,
        rng: random.Random,
        timings: Timings,
        shared: Shared,
        candidates_done: Callable[[], bool],
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.room = room
        self.plan = ProctorPlan(expected=len(room["candidates"]))
        self.think = think
        self.rng = rng
        self.timings = timings
        self.shared = shared
        self.candidates_done = candidates_done
        self.client = ProctorClient(int(room["session_id"]))
        self.changed = asyncio.Condition()
        self.link: Link | None = None
        self.paused_ids: list[int] = []
        self.secret = ""
        self.earlier_bytes = (0, 0)
        self.reconnects = 0

    async def run(self) -> dict[str, Any]:
        try:
            await self._run_room()
        except Exception as exc:
            self.client.errors.append(f"proctor: {type(exc).__name__}: {exc}")
        finally:
            if self.link is not None:
                await self.link.close(graceful=True)
        self._count_bytes()
        counted = self.earlier_bytes if self.earlier_bytes != (0, 0) else None
        return self.client.record(
            start_at=self.shared.start_at,
            paused=self.paused_ids,
            bytes_sent=None if counted is None else counted[0],
            bytes_received=None if counted is None else counted[1],
            console_reconnects=self.reconnects,
        )

    def _count_bytes(self) -> None:
        counted = self.link.bytes() if self.link is not None else None
        if counted is not None:
            sent, received = self.earlier_bytes
            self.earlier_bytes = (sent + counted[0], received + counted[1])

    async def _on_frame(self, frame: str | bytes) -> None:
        if frame:
            self.client.receive(frame)
        async with self.changed:
            self.changed.notify_all()

    async def _run_room(self) -> None:
        began = time.monotonic()
        proctor = self.room["proctor"]
        secret = await asyncio.to_thread(
            staff_login, self.base_url, proctor["username"], proctor["password"]
        )
        self.timings.add("staff login", (time.monotonic() - began) * 1000)
        self.secret = secret
        await self._connect()
        await self._wait(lambda: self.client.rooms_received > 0, 30, "the room")
        if self.client.session_state == "scheduled":
            await self._command("open_checkin")
        await self._wait_or_done(
            lambda: self.client.count(WAITING) >= self.plan.expected,
            self.plan.checkin_timeout_s,
            "every check-in",
        )
        await asyncio.sleep(self.plan.briefing_s * self.think.scale)
        self.shared.start_at = time.time()
        await self._command("start")
        await asyncio.sleep(self.plan.pause_after_s * self.think.scale)
        in_exam = self.client.in_exam()
        count = min(len(in_exam), max(1, round(self.plan.expected * self.plan.pause_fraction)))
        self.paused_ids = sorted(self.rng.sample(in_exam, count))
        for candidate_id in self.paused_ids:
            await self._command("pause", candidate_id=candidate_id, reason="load test: PC check")
        await asyncio.sleep(self.plan.pause_for_s * self.think.scale)
        for candidate_id in self.paused_ids:
            await self._command("resume", candidate_id=candidate_id, reason="load test: PC fine")
        await self._wait_or_done(
            lambda: self.client.count(DONE) >= self.plan.expected,
            self.plan.finish_timeout_s,
            "every candidate to submit",
        )

    async def _wait_or_done(self, ready: Callable[[], bool], limit_s: float, what: str) -> None:
        """`_wait`, but give up once no candidate is left to wait for (after a grace for
        the last seat updates)."""
        deadline = time.monotonic() + limit_s
        grace_until: float | None = None
        while not ready():
            now = time.monotonic()
            if self.candidates_done() and grace_until is None:
                grace_until = now + DONE_GRACE_S
            if grace_until is not None and now > grace_until:
                raise Failed(f"every candidate stopped before {what}")
            if now > deadline:
                raise Failed(f"timed out after {limit_s:.0f} s waiting for {what}")
            with contextlib.suppress(Failed):
                await self._wait(ready, 1.0, what)
            if self.link is None or not self.link.online:
                await self._reconnect(deadline, what)

    async def _connect(self) -> None:
        url = self.base_url.replace("http", "ws", 1) + "/ws/proctor"
        ws = await _open(
            url, self.base_url, "deflate", additional_headers={"Cookie": f"cbt_staff={self.secret}"}
        )
        self.link = Link(ws, self._on_frame)
        await ws.send(self.client.hello())

    async def _reconnect(self, deadline: float, what: str) -> None:
        """The server went away (a restart): open the console again, as a proctor would
        reload the page, and go on waiting; the room message brings the seats up to date."""
        self._count_bytes()
        if self.link is not None:
            await self.link.close(graceful=False)
            self.link = None
        rooms = self.client.rooms_received
        while True:
            try:
                await self._connect()
                await self._wait(lambda: self.client.rooms_received > rooms, 30, "the room again")
            except Exception as exc:  # refused, reset, handshake failed: not up yet
                if self.link is not None:
                    await self.link.close(graceful=False)
                    self.link = None
                if time.monotonic() > deadline:
                    raise Failed(f"console lost waiting for {what}: {exc}") from None
                await asyncio.sleep(1.0)
                continue
            self.reconnects += 1
            return

    async def _command(self, kind: str, **fields: Any) -> None:
        seq, frame = self.client.command(kind, **fields)
        assert self.link is not None
        await self.link.ws.send(frame)
        await self._wait(lambda: self.client.done(seq), 60, f"the reply to {kind}")
        self.timings.add(kind, self.client.commands[seq].done_ms or 0.0)

    async def _wait(self, ready: Callable[[], bool], limit_s: float, what: str) -> None:
        def online() -> bool:
            return self.link is not None and self.link.online

        try:
            async with asyncio.timeout(limit_s), self.changed:
                await self.changed.wait_for(lambda: ready() or not online())
        except TimeoutError:
            raise Failed(f"timed out after {limit_s:.0f} s waiting for {what}") from None
        if not ready():
            raise Failed(f"console connection lost waiting for {what}")


async def drive(args: argparse.Namespace, room: dict[str, Any]) -> int:
    think = ThinkTime(scale=args.think_scale)
    ledger = LedgerWriter(Path(args.ledger_dir))
    timings, shared = Timings(), Shared()
    compression = None if args.no_compression else "deflate"
    seed = int(room.get("seed", 1))
    people = [Person(c["ticket"], c["id_number"], int(c["seat"])) for c in room["candidates"]]
    finished = 0
    watch = GeneratorWatch()
    watch.start()

    proctor = AsyncProctor(
        args.host, room, think, random.Random(f"{seed}:proctor"), timings, shared,
        lambda: finished >= len(people),
    )  # fmt: skip
    proctor_task = asyncio.create_task(proctor.run())

    async def one(person: Person) -> None:
        nonlocal finished
        candidate = AsyncCandidate(
            args.host, person, think, random.Random(f"{seed}:{person.ticket}"), timings, shared,
            compression, answer_items=room.get("answer_items"),
        )  # fmt: skip
        try:
            ledger.write(await candidate.run())
        finally:
            finished += 1

    tasks = []
    try:
        for index, person in enumerate(people):
            tasks.append(asyncio.create_task(one(person)))
            if args.spawn_rate and index + 1 < len(people):
                await asyncio.sleep(1.0 / args.spawn_rate)
        await asyncio.gather(*tasks)
        ledger.write(await proctor_task)
    finally:  # a failed run still says whether the generator itself stalled
        await watch.stop()
        ledger.write(watch.record())
    for line in timings.lines():
        print(line, flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", required=True, help="base URL of the server")
    parser.add_argument("--room-file", required=True)
    parser.add_argument("--ledger-dir", required=True)
    parser.add_argument("--think-scale", type=float, default=1.0)
    parser.add_argument("--spawn-rate", type=float, default=200.0, help="logins per second")
    parser.add_argument("--no-compression", action="store_true")
    args = parser.parse_args(argv)
    if not args.think_scale > 0:
        parser.error("--think-scale must be positive")
    room = json.loads(Path(args.room_file).read_text(encoding="utf-8"))
    return asyncio.run(drive(args, room))


if __name__ == "__main__":
    sys.exit(main())
