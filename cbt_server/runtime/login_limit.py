"""Rate limits on failed candidate logins, per ticket and per seat (in memory, per process).

Only failures count. After `limit` failures within `window` seconds for a key, further
attempts for that key are refused until the oldest failure leaves the window. A
successful login clears its ticket's failures. With several server processes each keeps
its own count, so the effective limit is multiplied by the number of processes.

The seat a client names is its own claim, so a failure also counts against the address
it came from, with a looser limit (a room behind NAT or a reverse proxy shares one
address): claiming another seat at each try does not escape limits altogether.
"""

from __future__ import annotations

import math
from collections import OrderedDict, deque

from cbt_server.errors import RateLimited


class FailureLimiter:
    def __init__(self, limit: int, window: float, *, max_keys: int = 50_000) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("limit and window must be positive")
        self.limit = limit
        self.window = window
        self._max_keys = max_keys
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, key: str, now: float) -> deque[float] | None:
        failures = self._failures.get(key)
        if failures is None:
            return None
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        if not failures:
            del self._failures[key]
            return None
        return failures

    def wait_time(self, key: str, now: float) -> float:
        """Seconds until `key` may try again (0 if it may now)."""
        failures = self._recent(key, now)
        if failures is None or len(failures) < self.limit:
            return 0.0
        return failures[0] + self.window - now

    def fail(self, key: str, now: float) -> None:
        failures = self._recent(key, now)
        if failures is None:
            failures = deque()
            self._failures[key] = failures
            while len(self._failures) > self._max_keys:
                self._failures.popitem(last=False)
        failures.append(now)

    def clear(self, key: str) -> None:
        self._failures.pop(key, None)


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
        self.ticket = FailureLimiter(per_ticket, window)
        self.seat = FailureLimiter(per_seat, window)
        # Looser than the seat limit: behind NAT or a reverse proxy a whole room shares
        # one address, and ordinary typing mistakes must not lock it out.
        self.address = FailureLimiter(per_address, window)

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
        self.ticket.fail(ticket, now)
        self.seat.fail(seat, now)
        if address is not None:
            self.address.fail(address, now)

    def succeeded(self, ticket: str) -> None:
        self.ticket.clear(ticket)
