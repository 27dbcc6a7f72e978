"""The candidate side of `cbt.v1` without I/O: frames and events in, effects out.

It holds what a connection knows (whether and as whom it is logged in), applies the login
limits, groups the answers and flags that arrived together (they share one transaction
and are acknowledged after it), and turns each outcome into `ack` or `error`, and each
event into the message the client is sent or the read that builds it. `ws_candidate`
carries out its effects (see `ws_core`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from datetime import datetime

from cbt_server.errors import LoginFailed
from cbt_server.exam.practice import normalize_code
from cbt_server.exam.state import SubmitReason
from cbt_server.protocol import ErrorCode, Message, ProtocolError, parse_candidate
from cbt_server.protocol import candidate as msg
from cbt_server.runtime.events import Event, Kind
from cbt_server.runtime.login_limit import LoginLimits
from cbt_server.runtime.ws_core import (
    Close,
    Fail,
    Grade,
    LoggedIn,
    Plan,
    Protocol,
    Read,
    Save,
    Send,
    require_protocol,
)

PAUSE_KINDS = frozenset(
    {Kind.SESSION_PAUSED, Kind.SESSION_RESUMED, Kind.CANDIDATE_PAUSED, Kind.CANDIDATE_RESUMED}
)
STATE_KINDS = frozenset(
    {Kind.RESYNC, Kind.SESSION_STARTED, Kind.SESSION_ENDED, Kind.CANDIDATE_ABSENT}
)
HANDLED = (
    PAUSE_KINDS
    | STATE_KINDS
    | {Kind.CANDIDATE_TIME, Kind.CANDIDATE_SUBMITTED, Kind.CANDIDATE_GRADED}
)
"""The events a candidate's client hears of (besides a takeover of their login)."""

Change = msg.Answer | msg.Flag

FOCUS_PER_MINUTE = 20

POLICY_VIOLATION = 1008
"""The close code of a connection whose login was taken over elsewhere."""


class CandidateProtocol(Protocol):
    """One candidate connection's protocol state, from the first frame to the close.

    Answers and flags in a row are kept back and saved in one unit of work (group
    commit), acknowledged after it: a client resending a backlog after a reconnect costs
    one commit, not one each.
    """

    def __init__(
        self,
        limits: LoginLimits,
        *,
        remote: str,
        max_bytes: int,
        now: Callable[[], datetime],
        monotonic: Callable[[], float],
    ) -> None:
        super().__init__(parse_candidate, max_bytes=max_bytes, now=now)
        self.limits = limits
        self.remote = remote
        self.monotonic = monotonic
        self.login: LoggedIn | None = None
        self.group: list[Change] = []
        """Answers and flags taken and not yet saved."""
        self.focus_times: deque[float] = deque()
        """When the focus reports of the last minute came (monotonic seconds)."""

    # --- frames in ------------------------------------------------------------------------

    def take(self, message: Message) -> Plan:
        if isinstance(message, msg.Answer | msg.Flag):
            self.group.append(message)
            return
        yield from self.taken()
        yield from super().take(message)

    def taken(self) -> Plan:
        group, self.group = self.group, []
        yield from self._save(group)

    def handle(self, message: Message) -> Plan:
        if isinstance(message, msg.Hello | msg.PracticeHello):
            yield from self._hello(message)
        elif isinstance(message, msg.Check | msg.Review):
            # Practice only (the service refuses any other mode): after the answers taken
            # before it are saved (`take`), so the key is checked against the latest.
            self._logged_in()
            told = yield message
            assert isinstance(told, Message)
            yield Send(told)
        elif isinstance(message, msg.Focus):
            self._logged_in()
            if self._focus_allowed():
                yield message  # counted for the proctor; no answer
        elif isinstance(message, msg.Submit):
            login = self._logged_in()
            applied = yield message
            yield Send(msg.Ack(seq=message.seq))
            if applied:
                yield Grade(login.candidate_id)
        else:  # pragma: no cover - the parser admits no other type
            raise ProtocolError(ErrorCode.UNEXPECTED, f"unexpected {message!r}")

    def _focus_allowed(self) -> bool:
        """At most FOCUS_PER_MINUTE focus reports a minute are stored per connection: a
        real window loses focus a few times an exam, a client sending thousands is not
        let flood the audit log (the rest are dropped, silently)."""
        now = self.monotonic()
        while self.focus_times and now - self.focus_times[0] >= 60.0:
            self.focus_times.popleft()
        if len(self.focus_times) >= FOCUS_PER_MINUTE:
            return False
        self.focus_times.append(now)
        return True

    def _logged_in(self) -> LoggedIn:
        if self.login is None:
            raise ProtocolError(ErrorCode.HELLO_REQUIRED, "log in with `hello` first")
        return self.login

    def _hello(self, hello: msg.Hello | msg.PracticeHello) -> Plan:
        if self.login is not None:
            raise ProtocolError(ErrorCode.UNEXPECTED, "this connection is logged in already")
        require_protocol(hello.protocol)
        # A practice code is limited like a ticket; guessing codes (a new one each try)
        # meets the seat and address limits as guessing tickets does.
        if isinstance(hello, msg.PracticeHello):
            ticket_key = f"code:{normalize_code(hello.code)}"
        else:
            ticket_key = f"ticket:{hello.ticket.strip()}"
        address_key = f"ip:{self.remote}"
        # A seat is the client's claim: counted per claiming address, or junk logins
        # naming seat 29 from any PC would hold the real seat-29 PC (issue 18).
        seat_key = f"seat:{self.remote}:{hello.seat}" if hello.seat is not None else address_key
        self.limits.check(ticket_key, seat_key, self.monotonic(), address_key)
        try:
            login = yield hello
        except LoginFailed:
            self.limits.failed(ticket_key, seat_key, self.monotonic(), address_key)
            raise
        assert isinstance(login, LoggedIn)
        self.limits.succeeded(ticket_key)
        self.login = login
        yield login

    def _save(self, group: list[Change]) -> Plan:
        """Save answers and flags in one unit of work; then ack each (or report its error).

        The service checks every change before it writes it, so a change refused with a
        domain error leaves nothing behind and the others of the group still commit.
        """
        if not group:
            return
        try:
            self._logged_in()
            outcomes = yield Save(group)
        except Exception as error:  # nothing was committed: each message gets the error
            for message in group:
                yield Fail(error, message.seq)
            return
        assert isinstance(outcomes, list)
        for message, refused in zip(group, outcomes, strict=True):
            yield Send(msg.Ack(seq=message.seq)) if refused is None else Fail(refused, message.seq)

    # --- events in ------------------------------------------------------------------------

    @staticmethod
    def hears(event: Event) -> bool:
        """Whether the client may be told anything of this event (most events, one for
        each answer, are not its business: they cost no plan)."""
        return event.kind in HANDLED or event.kind is Kind.CANDIDATE_TAKEOVER

    def event(self, event: Event) -> Plan:
        """The plan for one event of this candidate's: what their client is told."""
        login = self._logged_in()
        if event.kind is Kind.CANDIDATE_TAKEOVER:
            if event.data.get("conn_id") != login.conn_id:
                yield Close(POLICY_VIOLATION, "logged_in_elsewhere", reconnect=False)
            return
        if event.kind not in HANDLED:
            return
        if event.kind is Kind.SESSION_STARTED:
            # Everyone's paper at once: one read of the room serves every connection.
            state = yield Read("room", event)
            if isinstance(state, Message):
                yield Send(state)
                return
        if event_tells(event):
            told = message_of_event(event)
            if told is not None:
                yield Send(told)
            return
        message = yield Read("state" if event.kind in STATE_KINDS else "event", event)
        if isinstance(message, Message):
            yield Send(message)


def event_tells(event: Event) -> bool:
    """Whether the event carries all its message says (a submission's reason and time, a
    grading's result or that scores are not shown); older events are answered from the
    database."""
    if event.kind is Kind.CANDIDATE_SUBMITTED:
        return "at" in event.data
    if event.kind is Kind.CANDIDATE_GRADED:
        return "shown" in event.data
    return False


def message_of_event(event: Event) -> Message | None:
    """The `submitted` or `result` message from an event that tells it (`event_tells`)."""
    if event.kind is Kind.CANDIDATE_SUBMITTED:
        return msg.Submitted(
            reason=SubmitReason(str(event.data["reason"])),
            submitted_at=datetime.fromisoformat(str(event.data["at"])),
        )
    result = event.data.get("result")
    if not event.data.get("shown") or not isinstance(result, dict):
        return None
    return msg.Result(**msg.ResultView.model_validate(result).model_dump())
