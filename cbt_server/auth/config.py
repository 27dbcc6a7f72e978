"""Tunable figures of staff sign-in: lockout, session lifetimes, login rate limit.

The defaults are what the site runs with; `auth.setup(app, config)` takes another
`AuthConfig` (tests use short lifetimes).
"""

from __future__ import annotations

from dataclasses import dataclass

from cbt_server.auth.lockout import LockRule


@dataclass(frozen=True, slots=True)
class AuthConfig:
    lockout_threshold: int = 5
    """Consecutive failed logins from one client address that lock the account for that
    address (other addresses still sign in)."""
    lockout_seconds: int = 15 * 60
    """How long a lock lasts (either kind)."""
    account_lockout_threshold: int = 50
    """Failed logins from all addresses together within `account_lockout_window_seconds`
    that lock the account everywhere (against guessing from many addresses)."""
    account_lockout_window_seconds: int = 15 * 60
    session_idle_seconds: int = 4 * 3600
    """A staff session unused this long ends (longer than any exam, so a proctor watching
    a quiet room is not signed out)."""
    session_max_seconds: int = 12 * 3600
    """A staff session ends this long after sign-in whatever happens."""
    login_attempts: int = 20
    """Login attempts allowed per client address per window (in each process's memory)."""
    login_window_seconds: int = 5 * 60
    cookie_name: str = "cbt_staff"
    login_cookie_name: str = "cbt_login"

    def __post_init__(self) -> None:
        for name in (
            "lockout_threshold",
            "lockout_seconds",
            "account_lockout_threshold",
            "account_lockout_window_seconds",
            "session_idle_seconds",
            "session_max_seconds",
            "login_attempts",
            "login_window_seconds",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"AuthConfig.{name} must be at least 1")

    @property
    def address_rule(self) -> LockRule:
        """The lock of one account from one client address."""
        return LockRule(self.lockout_threshold, self.lockout_seconds)

    @property
    def account_rule(self) -> LockRule:
        """The lock of one account from every address."""
        return LockRule(
            self.account_lockout_threshold,
            self.lockout_seconds,
            self.account_lockout_window_seconds,
        )
