"""Change events: what happened to a session or a candidate, for live connections.

Events are tiny (ids and a kind); a connection that receives one reads the current facts
from the database and sends its client what changed. So the database stays the only
source of truth and an event lost in transit costs a stale screen, never a wrong figure.
Two carry what their message says, written in the same transaction as the facts they
tell: a submission (its reason and time) and a grading (the result, or that scores are
hidden), so that a room submitting together is told without a read per candidate.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    SESSION_CHECKIN = "session.checkin"
    SESSION_STARTED = "session.started"
    SESSION_PAUSED = "session.paused"
    SESSION_RESUMED = "session.resumed"
    SESSION_ENDED = "session.ended"
    CANDIDATE_CONNECTED = "candidate.connected"
    CANDIDATE_DISCONNECTED = "candidate.disconnected"
    CANDIDATE_ANSWERED = "candidate.answered"
    CANDIDATE_PAUSED = "candidate.paused"
    CANDIDATE_RESUMED = "candidate.resumed"
    CANDIDATE_TIME = "candidate.time"
    CANDIDATE_SUBMITTED = "candidate.submitted"
    CANDIDATE_GRADED = "candidate.graded"
    CANDIDATE_ABSENT = "candidate.absent"
    CANDIDATE_UNLOCKED = "candidate.unlocked"
    CANDIDATE_FOCUS = "candidate.focus"  # the exam window lost focus or left full screen
    CANDIDATE_VERIFIED = "candidate.verified"  # identity checked (已核验) by a proctor
    CANDIDATE_TAKEOVER = "candidate.takeover"  # a new login holds the candidate now
    RESYNC = "resync"  # local only: events may have been missed, send the full state
    ALARMS = "alarms"  # local only: this process's alarms changed (consoles only)


CLOCK_KINDS = frozenset(
    {
        Kind.SESSION_STARTED,
        Kind.SESSION_PAUSED,
        Kind.SESSION_RESUMED,
        Kind.CANDIDATE_PAUSED,
        Kind.CANDIDATE_RESUMED,
        Kind.CANDIDATE_TIME,
        Kind.CANDIDATE_CONNECTED,
    }
)
"""Events after which a deadline may have moved (the auto-submit sweeper wakes up)."""


@dataclass(frozen=True, slots=True)
class Event:
    kind: Kind
    session_id: int
    candidate_id: int | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(
            {
                "kind": self.kind.value,
                "session_id": self.session_id,
                "candidate_id": self.candidate_id,
                "data": self.data,
            },
            separators=(",", ":"),
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, text: str) -> Event:
        raw = json.loads(text)
        return cls(
            kind=Kind(raw["kind"]),
            session_id=int(raw["session_id"]),
            candidate_id=None if raw.get("candidate_id") is None else int(raw["candidate_id"]),
            data=dict(raw.get("data") or {}),
        )
