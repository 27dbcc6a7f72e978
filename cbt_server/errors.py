"""Domain errors: one small tree, raised by the core, mapped to HTTP/WebSocket at the edge.

Each error has a stable machine `code` (documented in docs/protocol.md) and a human
`message`. Domain code never raises web exceptions.
"""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    """Base of every error the system reports to a user or client.

    A subclass declares its code and HTTP status in its header,
    `class NotFound(DomainError, code="not_found", http_status=404)`; what it leaves out it
    inherits (a `Conflict` subclass is a 409).
    """

    code: ClassVar[str] = "error"
    http_status: ClassVar[int] = 400

    def __init_subclass__(
        cls, *, code: str | None = None, http_status: int | None = None, **kwargs: Any
    ) -> None:
        super().__init_subclass__(**kwargs)
        if code is not None:
            cls.code = code
        if http_status is not None:
            cls.http_status = http_status

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code  # type: ignore[misc]

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


class InvalidInput(DomainError, code="invalid_input", http_status=400): ...


SHOWN_PROBLEMS = 200
"""A rejection lists at most this many of its problems, then how many more there are."""


def rejection_message(what: str, problems: list[Any]) -> str:
    """ "<what> rejected, nothing imported (N problem(s)):" and the problems, one a line:
    the message of an import refused as a whole (a roster, a zip of photos)."""
    shown = "\n".join(f"  {p}" for p in problems[:SHOWN_PROBLEMS])
    more = len(problems) - SHOWN_PROBLEMS
    tail = f"\n  ... and {more} more" if more > 0 else ""
    return f"{what} rejected, nothing imported ({len(problems)} problem(s)):\n{shown}{tail}"


class NotAuthenticated(DomainError, code="not_authenticated", http_status=401): ...


class Forbidden(DomainError, code="forbidden", http_status=403): ...


class NotFound(DomainError, code="not_found", http_status=404): ...


class Conflict(DomainError, code="conflict", http_status=409):
    """The request is well-formed but the current state does not allow it."""


class TooLarge(DomainError, code="too_large", http_status=413): ...


class RateLimited(DomainError, code="rate_limited", http_status=429): ...


class Unavailable(DomainError, code="unavailable", http_status=503):
    """A dependency (usually the database) is unavailable; the client should retry."""


# --- exam delivery (cbt_server/exam, cbt_server/runtime) ------------------------------


class InvalidTransition(Conflict, code="invalid_transition"):
    """A session or candidate is not in a state that allows the requested step."""


class NotStarted(Conflict, code="not_started"): ...


class Paused(Conflict, code="paused"): ...


class TimeUp(Conflict, code="time_up"): ...


class AlreadySubmitted(Conflict, code="already_submitted"): ...


class LaterSitting(Conflict, code="later_sitting"):
    """A candidate came before their sitting (场次) is open: the message says when it is."""


class TooLate(Conflict, code="too_late"):
    """A first login after the sitting's late-admission limit; a proctor may admit."""


class SubmitTooEarly(Conflict, code="too_early"):
    """A candidate's hand-in before the sitting's earliest hand-in time."""


class OutsideWindow(Conflict, code="package_window"):
    """A formal session scheduled or started outside its sealed package's validity window."""


class StillAnswering(InvalidTransition, code="still_answering"):
    """The session cannot be ended: a candidate is still answering with time left."""


class AlreadyLoggedIn(Conflict, code="already_logged_in"):
    """The candidate holds a live login elsewhere; a proctor must unlock them first."""


class LoginFailed(NotAuthenticated, code="login_failed"): ...


class UnknownItem(InvalidInput, code="unknown_item"): ...


class InvalidResponse(InvalidInput, code="invalid_response"): ...


class StaleSeq(Conflict, code="stale_seq"):
    """A resent sequence number at or below the acknowledged mark that was never applied
    (it was refused when first sent): acknowledging it would claim an answer is stored
    that is not. The client sends the change again under a new number."""


class LoggedInElsewhere(Conflict, code="logged_in_elsewhere"):
    """This connection no longer holds the candidate: a newer login (after unlock) does."""


class PaperUnavailable(Conflict, code="paper_unavailable"):
    """No paper can be assembled for a candidate (blueprint or item pool missing/short)."""


# --- lab PCs and seats (cbt_server/lab) -------------------------------------------------


class UnknownPc(NotFound, code="unknown_pc"):
    """No lab PC is registered under this name, id or address."""


class WrongPc(Conflict, code="wrong_pc"):
    """A candidate tried to log in at a PC that is not their seat's (nor an unlocked spare)."""


class StaleAgent(Conflict, code="stale_agent"):
    """A heartbeat from a lab agent run that a newer registration of its PC replaced."""


class MacBound(Conflict, code="mac_bound"):
    """A MAC address already belongs to another lab PC."""


class DuplicateSeat(InvalidInput, code="duplicate_seat"):
    """A seat mapping gives one seat to two PCs."""


class NotPractice(Forbidden, code="not_practice"):
    """A key was asked for outside practice: it never leaves the server then."""


class NotCheckable(Conflict, code="not_checkable"):
    """The key cannot be shown now (before hand-in under `end`, after it under `item`…)."""


class ItemLocked(Conflict, code="item_locked"):
    """The item was checked (its key shown): its answer cannot change any more."""
