"""Tunable figures of staff sign-in: lockout, session lifetimes, login rate limit.

The defaults are what the site runs with; `auth.setup(app, config)` takes another
`AuthConfig` (tests use short lifetimes).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class AuthConfig:
    lockout_threshold: int = 5
    """Consecutive failed logins that lock an account."""
    lockout_seconds: int = 15 * 60
    """How long a locked account stays locked."""
    session_idle_seconds: int = 4 * 3600
    """A staff session unused this long ends (longer than any exam, so a proctor watching
    a quiet room is not signed out)."""
    session_max_seconds: int = 12 * 3600
    """A staff session ends this long after sign-in whatever happens."""
    login_attempts: int = 20
    """Login attempts allowed per client address (and per username) per window."""
    login_window_seconds: int = 5 * 60
    cookie_name: str = "cbt_staff"
    login_cookie_name: str = "cbt_login"

    def __post_init__(self) -> None:
        for name in (
            "lockout_threshold",
            "lockout_seconds",
            "session_idle_seconds",
            "session_max_seconds",
            "login_attempts",
            "login_window_seconds",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"AuthConfig.{name} must be at least 1")
