"""Account lockout after repeated failed logins, as pure functions of the stored facts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from cbt_server.auth.config import AuthConfig


@dataclass(frozen=True, slots=True)
class LockState:
    failed_logins: int
    locked_until: datetime | None


def is_locked(locked_until: datetime | None, now: datetime) -> bool:
    return locked_until is not None and now < locked_until


def after_failure(state: LockState, now: datetime, config: AuthConfig) -> LockState:
    """The state after one more failed password. Reaching the threshold locks the account
    and restarts the count, so the next lock needs the full number of failures again."""
    failed = state.failed_logins
    if state.locked_until is not None and now >= state.locked_until:
        failed = 0  # an expired lock starts a fresh count
    failed += 1
    if failed >= config.lockout_threshold:
        return LockState(0, now + timedelta(seconds=config.lockout_seconds))
    return LockState(failed, None)


def after_success() -> LockState:
    return LockState(0, None)
