"""Rate limits on failed candidate logins, per ticket and per seat (in memory, per process).

Only failures count. After `limit` failures within `window` seconds for a key, further
attempts for that key are refused until the oldest failure leaves the window. A
successful login clears its ticket's failures. With several server processes each keeps
its own count, so the effective limit is multiplied by the number of processes.

The seat a client names is its own claim, so the seat limit counts per (address, seat):
another PC claiming the same seat number does not hold this one. A failure also counts
against the address it came from, with a looser limit (a room behind NAT or a reverse
proxy shares one address): claiming another seat at each try does not escape limits
altogether.
"""

from __future__ import annotations

import math

from cbt_server.auth.ratelimit import SlidingWindow
from cbt_server.errors import RateLimited

MAX_KEYS = 50_000
"""Tickets, seats and addresses remembered per limit (the least recently failed go first)."""


class LoginLimits:
    """The limits of candidate login: per ticket number, per seat, per client address."""

    def __init__(
        self,
        *,
        per_ticket: int = 5,
        per_seat: int = 10,
        per_address: int = 30,
        window: float = 300.0,
    ) -> None:
        self.ticket = SlidingWindow(per_ticket, window, max_keys=MAX_KEYS)
        self.seat = SlidingWindow(per_seat, window, max_keys=MAX_KEYS)
        # Looser than the seat limit: behind NAT or a reverse proxy a whole room shares
        # one address, and ordinary typing mistakes must not lock it out.
        self.address = SlidingWindow(per_address, window, max_keys=MAX_KEYS)

    def check(self, ticket: str, seat: str, now: float, address: str | None = None) -> None:
        """Raise RateLimited if this ticket, this seat or this address has failed too
        often lately."""
        wait = max(self.ticket.wait_time(ticket, now), self.seat.wait_time(seat, now))
        if address is not None:
            wait = max(wait, self.address.wait_time(address, now))
        if wait > 0:
            raise RateLimited(
                f"too many failed logins; try again in {math.ceil(wait)} s or ask a proctor"
            )

    def failed(self, ticket: str, seat: str, now: float, address: str | None = None) -> None:
        self.ticket.record(ticket, now)
        self.seat.record(seat, now)
        if address is not None:
            self.address.record(address, now)

    def succeeded(self, ticket: str) -> None:
        self.ticket.reset(ticket)
