"""Locust users for one exam room: N candidates and one proctor, over protocol cbt.v1.

`python -m loadtests.room` runs this headless after setting up the server and the room;
it passes the room file (candidates, proctor account, session id), the ledger folder and
the think-time scale through the options below (or their environment variables).

Each candidate user takes one candidate of the room, takes the whole exam once (login,
wait for the start, answer every item with think time, go offline once and come back,
change some answers, submit), writes its ledger record and stops. The proctor user
opens check-in, starts the session when everyone is in, pauses and resumes a few
candidates, and ends the run when everyone has submitted. Timings go into Locust's
statistics as request type "WS": login, paper delivery, answer ack, reconnect, submit,
and the proctor's commands.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import gevent
from locust import User, events, task
from locust.env import Environment
from locust.exception import StopUser

from loadtests.ledger import LedgerWriter
from loadtests.plan import ThinkTime
from loadtests.sync_candidate import CandidateRun, Person
from loadtests.sync_proctor import ProctorPlan, ProctorRun


@events.init_command_line_parser.add_listener
def _options(parser: Any) -> None:
    parser.add_argument(
        "--room-file", env_var="CBT_LT_ROOM", default="", help="Room JSON from loadtests.room"
    )
    parser.add_argument(
        "--ledger-dir", env_var="CBT_LT_LEDGER_DIR", default="", help="Folder for ledger files"
    )
    parser.add_argument(
        "--think-scale",
        env_var="CBT_LT_THINK_SCALE",
        type=float,
        default=1.0,
        help="Multiply every think time by this (1 = realistic, 0.02 = quick run)",
    )
    parser.add_argument(
        "--no-compression",
        env_var="CBT_LT_NO_COMPRESSION",
        action="store_true",
        default=False,
        help="Do not negotiate permessage-deflate (browsers do negotiate it)",
    )


class Room:
    """What the users of this process share: the room, the ledger, progress."""

    def __init__(self, environment: Environment) -> None:
        options = environment.parsed_options
        if options is None or not options.room_file:
            raise SystemExit("loadtests: --room-file (CBT_LT_ROOM) is required")
        data = json.loads(Path(options.room_file).read_text(encoding="utf-8"))
        self.environment = environment
        self.session_id = int(data["session_id"])
        self.people = [
            Person(str(c["ticket"]), str(c["id_number"]), int(c["seat"]))
            for c in data["candidates"]
        ]
        self.proctor = data["proctor"]
        self.seed = int(data.get("seed", 1))
        self.answer_items: int | None = data.get("answer_items")
        self.think = ThinkTime(scale=float(options.think_scale))
        self.compression = None if options.no_compression else "deflate"
        self.ledger = LedgerWriter(Path(options.ledger_dir or "."))
        self.next_person = 0
        self.finished = 0
        self.proctor_done = False
        self.start_at: float | None = None

    def take_person(self) -> Person | None:
        if self.next_person >= len(self.people):
            return None
        person = self.people[self.next_person]
        self.next_person += 1
        return person

    def fire(self, name: str, ms: float, length: int, exc: Exception | None) -> None:
        self.environment.events.request.fire(
            request_type="WS",
            name=name,
            response_time=ms,
            response_length=length,
            exception=exc,
            context={},
        )

    def candidate_finished(self) -> None:
        self.finished += 1
        self._maybe_quit()

    def proctor_finished(self) -> None:
        self.proctor_done = True
        self._maybe_quit()

    def _maybe_quit(self) -> None:
        runner = self.environment.runner
        if self.proctor_done and self.finished >= len(self.people) and runner is not None:
            gevent.spawn_later(0.5, runner.quit)


ROOM: Room | None = None


@events.init.add_listener
def _on_init(environment: Environment, **_: Any) -> None:
    global ROOM
    ROOM = Room(environment)


def _room() -> Room:
    if ROOM is None:
        raise RuntimeError("the room was not loaded (events.init did not run)")
    return ROOM


class CandidateUser(User):
    """One candidate taking the whole exam once."""

    weight = 1

    @task
    def take_exam(self) -> None:
        room = _room()
        person = room.take_person()
        if person is None:
            raise StopUser()
        run = CandidateRun(
            base_url=str(self.host),
            person=person,
            think=room.think,
            rng=random.Random(f"{room.seed}:{person.ticket}"),
            report=room.fire,
            start_at=lambda: room.start_at,
            compression=room.compression,
            answer_items=room.answer_items,
        )
        try:
            run.run()
        finally:  # also when Locust stops the user at its time limit
            room.ledger.write(run.record())
            room.candidate_finished()
        raise StopUser()


class ProctorUser(User):
    """The room's proctor."""

    fixed_count = 1

    @task
    def run_room(self) -> None:
        room = _room()

        def started(at: float) -> None:
            room.start_at = at

        run = ProctorRun(
            base_url=str(self.host),
            username=str(room.proctor["username"]),
            password=str(room.proctor["password"]),
            session_id=room.session_id,
            plan=ProctorPlan(expected=len(room.people)),
            think=room.think,
            rng=random.Random(f"{room.seed}:proctor"),
            report=room.fire,
            on_start=started,
            candidates_done=lambda: room.finished >= len(room.people),
        )
        try:
            run.run()
        finally:
            room.ledger.write(run.record())
            room.proctor_finished()
        raise StopUser()
