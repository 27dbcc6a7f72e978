"""The signed-in staff member a request or a console connection acts for."""

from __future__ import annotations

from dataclasses import dataclass

from cbt_server.auth.policy import Role


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: int
    username: str
    display_name: str
    role: Role
    staff_session_id: str
    """Hash of the cookie secret: the `staff_sessions` row this principal came from."""
    csrf_token: str
