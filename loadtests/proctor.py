"""The proctor console's side of protocol cbt.v1, without I/O (sans-I/O).

`ProctorClient` numbers commands, tracks which were acknowledged or refused, and keeps
the room's seats up to date from `room` and `seat` messages, so the driver can wait for
"everyone checked in" or "everyone submitted".
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from loadtests.candidate import PROTOCOL

WAITING = frozenset({"checked_in"})
IN_EXAM = frozenset({"answering", "paused"})
DONE = frozenset({"submitted", "graded"})

# Refusals a proctor meets when a candidate moved on before the command arrived (e.g.
# pausing someone who just submitted): recorded, not errors.
EXPECTED_REFUSALS = frozenset({"invalid_transition", "already_submitted"})


@dataclass(slots=True)
class Command:
    seq: int
    kind: str
    candidate_id: int | None
    sent_mono: float
    done_ms: float | None = None
    refused: str | None = None


@dataclass(slots=True)
class ProctorClient:
    session_id: int
    clock: Callable[[], float] = time.monotonic
    seq: int = 0
    session_state: str | None = None
    room_paused: bool = False
    seats: dict[int, dict[str, Any]] = field(default_factory=dict)
    commands: dict[int, Command] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    rooms_received: int = 0

    def hello(self) -> str:
        return json.dumps({"type": "hello", "protocol": PROTOCOL, "session_id": self.session_id})

    def command(self, kind: str, **fields: Any) -> tuple[int, str]:
        """A command frame under the next sequence number."""
        self.seq += 1
        self.commands[self.seq] = Command(
            self.seq, kind, fields.get("candidate_id"), sent_mono=self.clock()
        )
        return self.seq, json.dumps({"type": kind, "seq": self.seq, **fields}, ensure_ascii=False)

    def receive(self, frame: str | bytes) -> str:
        """Digest one frame; returns its type ("invalid" for a frame that is not JSON)."""
        try:
            message = json.loads(frame)
            kind = str(message["type"])
        except (ValueError, TypeError, KeyError):
            self.errors.append(f"proctor: unparseable frame: {str(frame)[:120]!r}")
            return "invalid"
        try:
            if kind == "room":
                self.rooms_received += 1
                self.session_state = message["state"]
                self.room_paused = bool(message["room_paused"])
                self.seats = {int(s["candidate_id"]): s for s in message["candidates"]}
            elif kind == "seat":
                seat = message["candidate"]
                self.seats[int(seat["candidate_id"])] = seat
            elif kind == "ack":
                self._settle(int(message["seq"]), None)
            elif kind == "error":
                self._on_error(message)
        except (KeyError, TypeError, ValueError) as exc:
            self.errors.append(f"proctor: bad {kind} frame: {exc!r}")
            return "invalid"
        return kind

    def _settle(self, seq: int, refused: str | None) -> None:
        command = self.commands.get(seq)
        if command is None:
            self.errors.append(f"proctor: reply to seq {seq}, which was never sent")
            return
        if command.done_ms is None:
            command.done_ms = (self.clock() - command.sent_mono) * 1000.0
            command.refused = refused

    def _on_error(self, message: dict[str, Any]) -> None:
        code = str(message.get("code", "?"))
        ref = message.get("ref_seq")
        command = self.commands.get(ref) if isinstance(ref, int) else None
        if command is not None:
            self._settle(command.seq, code)
            if code in EXPECTED_REFUSALS and command.kind in ("pause", "resume"):
                return
        self.errors.append(f"proctor: error {code} (seq {ref}): {message.get('message', '')}")

    # --- questions the driver asks ------------------------------------------------------

    def done(self, seq: int) -> bool:
        return self.commands[seq].done_ms is not None

    def acked(self, seq: int) -> bool:
        command = self.commands[seq]
        return command.done_ms is not None and command.refused is None

    def count(self, states: Iterable[str], *, online: bool | None = None) -> int:
        wanted = set(states)
        return sum(
            1
            for seat in self.seats.values()
            if seat.get("state") in wanted and (online is None or seat.get("online") is online)
        )

    def in_exam(self) -> list[int]:
        return sorted(cid for cid, seat in self.seats.items() if seat.get("state") in IN_EXAM)

    def record(self, **extra: Any) -> dict[str, Any]:
        """The ledger line of the proctor."""
        return {
            "kind": "proctor",
            "session_id": self.session_id,
            "commands": [
                {
                    "seq": c.seq,
                    "kind": c.kind,
                    "candidate_id": c.candidate_id,
                    "done_ms": None if c.done_ms is None else round(c.done_ms, 3),
                    "refused": c.refused,
                }
                for c in self.commands.values()
            ],
            "errors": list(self.errors),
            **extra,
        }
