"""Admission of WebSocket upgrades: how many sockets are open, and how many of them have
not logged in yet, per client address and in all.

A socket that has not logged in costs the server a file descriptor and proves nothing
about its sender. Without a ceiling one lab PC opening idle sockets exhausted the
process's open-file limit and every other connection failed (issue 18). Past the ceiling
an upgrade is refused before it happens, with an HTTP error that says why. No I/O here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cbt_server.errors import RateLimited, Unavailable


@dataclass(eq=False, slots=True)
class Slot:
    """One socket's place among those not logged in; `release` it once (more is harmless)."""

    admission: Admission
    address: str
    held: bool = True

    def release(self) -> None:
        if self.held:
            self.held = False
            self.admission.left(self.address)


@dataclass(slots=True)
class Admission:
    """The counts and ceilings of sockets that have not logged in, and of all open ones."""

    per_address: int
    total: int
    pending: int = 0
    """Sockets upgraded (or being upgraded) that have not logged in yet."""
    open: int = 0
    """WebSocket connections open on this process, logged in or not."""
    by_address: dict[str, int] = field(default_factory=dict)

    def admit(self, address: str) -> Slot:
        """A slot for a new socket from `address`, or RateLimited (429) when that address
        holds its share already, Unavailable (503) when the server holds its total."""
        held = self.by_address.get(address, 0)
        if held >= self.per_address:
            raise RateLimited(
                f"{held} connections from {address} have not logged in yet "
                f"(at most {self.per_address} per address); log in on those or close them"
            )
        if self.pending >= self.total:
            raise Unavailable(
                f"{self.pending} connections are waiting to log in "
                f"(at most {self.total}); try again in a moment"
            )
        self.by_address[address] = held + 1
        self.pending += 1
        return Slot(self, address)

    def left(self, address: str) -> None:
        """A socket from `address` logged in or closed (called by its `Slot`)."""
        self.pending -= 1
        remaining = self.by_address.get(address, 1) - 1
        if remaining > 0:
            self.by_address[address] = remaining
        else:
            self.by_address.pop(address, None)
