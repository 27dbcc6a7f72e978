"""Lockout after repeated failed staff logins, as pure functions of the stored facts.

Two counters guard each account. One per (account, client address): a few failures lock
the account *from that address* only, so a stranger typing wrong passwords on another
PC cannot lock a proctor out. One per account, much looser and counted in a time window:
it stops a guesser spraying from many addresses. Both are stored in the database (so
every worker process and `cbt-server user unlock` see the same state).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class LockRule:
    threshold: int
    """Failures that lock."""
    seconds: int
    """How long a lock lasts."""
    window: int | None = None
    """Failures count only within this many seconds of the first; None: until a success."""


@dataclass(frozen=True, slots=True)
class LockState:
    failed_logins: int
    locked_until: datetime | None
    since: datetime | None = None
    """When the current count began (for a rule with a window)."""


def is_locked(locked_until: datetime | None, now: datetime) -> bool:
    return locked_until is not None and now < locked_until


def after_failure(state: LockState, now: datetime, rule: LockRule) -> LockState:
    """The state after one more failed password. Reaching the threshold locks and
    restarts the count, so the next lock needs the full number of failures again."""
    failed = state.failed_logins
    if state.locked_until is not None and now >= state.locked_until:
        failed = 0  # an expired lock starts a fresh count
    if rule.window is not None and (
        state.since is None or now - state.since >= timedelta(seconds=rule.window)
    ):
        failed = 0  # the window of the earlier failures has passed
    since = state.since if failed else now
    if rule.window is None:
        since = None  # a count without a window has no start to keep
    failed += 1
    if failed >= rule.threshold:
        return LockState(0, now + timedelta(seconds=rule.seconds))
    return LockState(failed, None, since)
