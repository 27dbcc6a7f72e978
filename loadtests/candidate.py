"""A simulated candidate's side of protocol cbt.v1, without I/O (sans-I/O).

`CandidateClient` makes the frames a candidate's page sends and digests the frames the
server sends back: it numbers answers, keeps every answer until it is acknowledged,
resends the unacknowledged ones after a reconnect, times logins, paper delivery and
acknowledgements, and checks that the state the server reports after a reconnect holds
every acknowledged answer. The Locust user and the asyncio driver only move frames.

Times: `clock` (monotonic) for durations, `wall` (epoch seconds) for moments compared
across users, such as the proctor's start and a candidate receiving the paper.
"""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

PROTOCOL = "cbt.v1"

# Refusals a real page meets and handles by sending the change again later under a new
# seq (docs/protocol.md): counted in `refusals`, not errors. "unavailable" means the
# database could not be reached and nothing was saved; "stale_seq" that a resent seq was
# never stored (refused when first sent). The run's thresholds still see their delay.
EXPECTED_REFUSALS = frozenset({"paused", "not_started", "unavailable", "stale_seq"})
LOGIN_RETRY = frozenset({"not_started", "unavailable"})


class Event(StrEnum):
    LOGGED_IN = "logged_in"
    LOGIN_REFUSED = "login_refused"
    PAPER = "paper"
    ACK = "ack"
    REFUSED = "refused"  # an answer refused for an expected reason; it stays queued
    PAUSED = "paused"
    RESUMED = "resumed"
    SUBMITTED = "submitted"
    CLOSING = "closing"
    ERROR = "error"
    OTHER = "other"


@dataclass(slots=True)
class SentAnswer:
    seq: int
    item_id: str
    response: list[str]
    created_wall: float
    sent_mono: float | None = None  # last (re)send
    sends: int = 0
    due: bool = True
    acked: bool = False
    retired: bool = False  # refused, not stored: its change went again under a new seq
    ack_ms: float | None = None


@dataclass(slots=True)
class CandidateClient:
    ticket: str
    id_number: str
    seat: int | None = None
    clock: Callable[[], float] = time.monotonic
    wall: Callable[[], float] = time.time
    seq: int = 0
    answers: dict[int, SentAnswer] = field(default_factory=dict)
    resume_token: str | None = None
    candidate_state: str | None = None
    paper: dict[str, Any] | None = None
    paper_wall: float | None = None
    paused: bool = False
    submit_seq: int | None = None
    submitted: bool = False
    submit_acked: bool = False
    login_started: float | None = None
    login_ms: list[float] = field(default_factory=list)
    logins: int = 0
    refusals: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    last_login_refusal: str | None = None
    new_ack_ms: list[float] = field(default_factory=list)

    # --- frames to send ----------------------------------------------------------------

    def hello(self) -> str:
        """The login frame; after the first login it carries the resume token."""
        self.login_started = self.clock()
        message: dict[str, Any] = {
            "type": "hello",
            "protocol": PROTOCOL,
            "ticket": self.ticket,
            "id_number": self.id_number,
        }
        if self.seat is not None:
            message["seat"] = self.seat
        if self.resume_token is not None:
            message["resume_token"] = self.resume_token
        return json.dumps(message, ensure_ascii=False)

    def new_answer(self, item_id: str, response: list[str] | tuple[str, ...]) -> int:
        """Record an answer under the next sequence number; it is due to be sent."""
        self.seq += 1
        self.answers[self.seq] = SentAnswer(self.seq, item_id, list(response), self.wall())
        return self.seq

    def due_frames(self) -> list[str]:
        """Frames for every answer due to be sent, oldest first, stamped as sent now.

        Due: new answers, answers refused while paused, and after a (re)login every
        answer not yet acknowledged. Nothing is due while paused (the page blocks
        answering), and sending oldest first matters: the server treats a sequence
        number at or below the highest it committed as a resend.
        """
        if self.paused:
            return []
        frames = []
        for seq in sorted(self.answers):
            answer = self.answers[seq]
            if answer.due and not answer.acked and not answer.retired:
                answer.due = False
                answer.sent_mono = self.clock()
                answer.sends += 1
                frames.append(
                    json.dumps(
                        {
                            "type": "answer",
                            "seq": seq,
                            "item_id": answer.item_id,
                            "response": answer.response,
                        },
                        ensure_ascii=False,
                    )
                )
        return frames

    def unacked(self) -> list[int]:
        return sorted(seq for seq, a in self.answers.items() if not a.acked and not a.retired)

    def take_ack_ms(self) -> list[float]:
        """Acknowledgement times measured since the last call (for live statistics)."""
        taken, self.new_ack_ms = self.new_ack_ms, []
        return taken

    def submit_frame(self) -> str:
        """The submit frame; a retry (e.g. after a refusal while paused) keeps its seq."""
        if self.submit_seq is None:
            self.seq += 1
            self.submit_seq = self.seq
        return json.dumps({"type": "submit", "seq": self.submit_seq})

    # --- frames received ---------------------------------------------------------------

    def receive(self, frame: str | bytes) -> Event:
        try:
            message = json.loads(frame)
            kind = message["type"]
        except (ValueError, TypeError, KeyError):
            self.errors.append(f"unparseable frame from server: {str(frame)[:120]!r}")
            return Event.ERROR
        handler = _HANDLERS.get(kind)
        if handler is None:
            return Event.OTHER
        try:
            return handler(self, message)
        except (KeyError, TypeError, ValueError) as exc:
            self.errors.append(f"bad {kind} frame from server: {exc!r}")
            return Event.ERROR

    def _on_state(self, message: dict[str, Any]) -> Event:
        now = self.clock()
        if self.login_started is not None:
            self.login_ms.append((now - self.login_started) * 1000.0)
            self.login_started = None
        self.logins += 1
        self.last_login_refusal = None
        self.resume_token = message.get("resume_token") or self.resume_token
        self.candidate_state = message["candidate"]["state"]
        self.paused = bool(message["paused"])
        acked_seq = int(message["acked_seq"])
        stored: dict[str, list[str]] = message["answers"]
        for seq in sorted(self.answers):
            answer = self.answers[seq]
            if answer.acked or answer.retired:
                continue
            if seq > acked_seq:
                answer.due = True  # resent with its own seq on this connection
            elif (
                answer.sends
                and self._latest_for(answer.item_id) is answer
                and sorted(stored.get(answer.item_id, [])) == sorted(answer.response)
            ):
                answer.acked = True  # committed before the connection dropped
            else:
                self._retry_under_new_seq(seq)  # below the mark but not stored
        if self.submit_seq is not None and self.submit_seq <= acked_seq:
            self.submit_acked = True
        if self.candidate_state in ("submitted", "graded"):
            self.submitted = True
        self._check_stored_answers(message["answers"])
        paper = message.get("paper")
        if paper is not None and self.paper is None:
            self.paper = paper
            self.paper_wall = self.wall()
            return Event.PAPER
        return Event.LOGGED_IN

    def _latest_for(self, item_id: str) -> SentAnswer | None:
        latest = None
        for seq in sorted(self.answers):
            if self.answers[seq].item_id == item_id:
                latest = self.answers[seq]
        return latest

    def _retry_under_new_seq(self, seq: int) -> None:
        """A change that was not stored goes again under a new seq, unless a later change
        to the same item supersedes it anyway."""
        old = self.answers[seq]
        old.retired = True
        old.due = False
        if self._latest_for(old.item_id) is old:
            self.new_answer(old.item_id, old.response)

    def _check_stored_answers(self, stored: dict[str, list[str]]) -> None:
        """Every item whose latest answer is acknowledged must read back unchanged."""
        latest: dict[str, SentAnswer] = {}
        for seq in sorted(self.answers):
            latest[self.answers[seq].item_id] = self.answers[seq]
        for item_id, answer in latest.items():
            if answer.acked and sorted(stored.get(item_id, [])) != sorted(answer.response):
                self.errors.append(
                    f"{self.ticket}: acknowledged answer to {item_id} (seq {answer.seq}) "
                    f"reads back as {stored.get(item_id)!r}, sent {answer.response!r}"
                )

    def _on_ack(self, message: dict[str, Any]) -> Event:
        seq = int(message["seq"])
        if seq == self.submit_seq:
            self.submit_acked = True
            return Event.ACK
        answer = self.answers.get(seq)
        if answer is None:
            self.errors.append(f"{self.ticket}: ack for seq {seq}, which was never sent")
            return Event.ERROR
        if not answer.acked:
            answer.acked = True
            if answer.sent_mono is not None:
                answer.ack_ms = (self.clock() - answer.sent_mono) * 1000.0
                self.new_ack_ms.append(answer.ack_ms)
        return Event.ACK

    def _on_error(self, message: dict[str, Any]) -> Event:
        code = str(message.get("code", "?"))
        text = str(message.get("message", ""))
        if self.login_started is not None:
            # A refused login: the driver decides whether to retry (e.g. not open yet).
            self.login_started = None
            self.last_login_refusal = code
            if code in EXPECTED_REFUSALS:
                self.refusals[code] = self.refusals.get(code, 0) + 1
                return Event.LOGIN_REFUSED
            self.errors.append(f"{self.ticket}: login refused: {code}: {text}")
            return Event.LOGIN_REFUSED
        ref = message.get("ref_seq")
        if code in EXPECTED_REFUSALS:
            self.refusals[code] = self.refusals.get(code, 0) + 1
            answer = self.answers.get(ref) if isinstance(ref, int) else None
            if answer is not None and not answer.acked and not answer.retired:
                self._retry_under_new_seq(answer.seq)  # sent once not paused
            return Event.REFUSED
        self.errors.append(f"{self.ticket}: error {code} (seq {ref}): {text}")
        return Event.ERROR

    def _on_paused(self, message: dict[str, Any]) -> Event:
        self.paused = True
        return Event.PAUSED

    def _on_resumed(self, message: dict[str, Any]) -> Event:
        self.paused = False
        return Event.RESUMED

    def _on_submitted(self, message: dict[str, Any]) -> Event:
        self.submitted = True
        self.candidate_state = "submitted"
        return Event.SUBMITTED

    def _on_closing(self, message: dict[str, Any]) -> Event:
        return Event.CLOSING

    # --- outcome -------------------------------------------------------------------------

    @property
    def all_acked(self) -> bool:
        return all(answer.acked or answer.retired for answer in self.answers.values())

    def paper_sizes(self) -> tuple[int, int]:
        """Bytes of the paper as compact UTF-8 JSON, and gzip -9 of that (the floor no
        delivery can beat). Measured when asked, not on arrival, to keep the start cheap."""
        if self.paper is None:
            return 0, 0
        raw = json.dumps(self.paper, ensure_ascii=False, separators=(",", ":")).encode()
        return len(raw), len(gzip.compress(raw, compresslevel=9, mtime=0))

    def record(self, **extra: Any) -> dict[str, Any]:
        """The ledger line for this candidate: what was sent, what was acknowledged."""
        paper_json, paper_gzip = self.paper_sizes()
        return {
            "kind": "candidate",
            "ticket": self.ticket,
            "completed": self.submitted,
            "answers": [
                {
                    "seq": a.seq,
                    "item_id": a.item_id,
                    "response": a.response,
                    "sent": a.sends > 0,
                    "acked": a.acked,
                    "ack_ms": None if a.ack_ms is None else round(a.ack_ms, 3),
                    "at": round(a.created_wall, 3),
                }
                for a in sorted(self.answers.values(), key=lambda a: a.seq)
            ],
            "paper_at": self.paper_wall,
            "paper_items": _count_items(self.paper),
            "paper_json_bytes": paper_json,
            "paper_gzip_bytes": paper_gzip,
            "login_ms": [round(ms, 3) for ms in self.login_ms],
            "logins": self.logins,
            "refusals": dict(self.refusals),
            "errors": list(self.errors),
            **extra,
        }


def _count_items(paper: dict[str, Any] | None) -> int:
    if not paper:
        return 0
    return sum(len(section["items"]) for section in paper["sections"])


_HANDLERS: dict[str, Callable[[CandidateClient, dict[str, Any]], Event]] = {
    "state": CandidateClient._on_state,
    "ack": CandidateClient._on_ack,
    "error": CandidateClient._on_error,
    "paused": CandidateClient._on_paused,
    "resumed": CandidateClient._on_resumed,
    "submitted": CandidateClient._on_submitted,
    "closing": CandidateClient._on_closing,
}
