"""The one sliding-window rate limiter, kept in memory per server process: staff sign-in
counts every attempt per client address with it, candidate login
(`runtime/login_limit.py`) only failures.

With several processes each keeps its own window, so the effective limit is the limit
times the number of processes; the staff lockout (`lockout.py`, counted in the database)
is the guard that holds across processes. No staff limit here is keyed by username: a
stranger could fill it and lock the account's owner out, and no unlock could reach it.
"""

from __future__ import annotations

from collections import OrderedDict, deque


class SlidingWindow:
    """At most `limit` hits per key in any `window` seconds; at most `max_keys` keys are
    remembered (the least recently hit are forgotten first)."""

    def __init__(self, limit: int, window: float, *, max_keys: int = 10_000) -> None:
        if limit < 1 or window <= 0 or max_keys < 1:
            raise ValueError("limit, window and max_keys must be positive")
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, key: str, now: float) -> deque[float] | None:
        """The key's hits still inside the window (None, and forgotten, if there are none)."""
        hits = self._hits.get(key)
        if hits is None:
            return None
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if not hits:
            del self._hits[key]
            return None
        return hits

    def wait_time(self, key: str, now: float) -> float:
        """Seconds until `key` may be hit again (0 if it may now)."""
        hits = self._recent(key, now)
        if hits is None or len(hits) < self.limit:
            return 0.0
        return max(hits[0] + self.window - now, 0.001)

    def record(self, key: str, now: float) -> None:
        """Count one hit by `key` at `now` (seconds, monotonic), allowed or not."""
        hits = self._recent(key, now)
        if hits is None:
            hits = deque()
            self._hits[key] = hits
            while len(self._hits) > self.max_keys:
                self._hits.popitem(last=False)
        else:
            self._hits.move_to_end(key)
        hits.append(now)

    def hit(self, key: str, now: float) -> float | None:
        """Count one attempt by `key` at `now` (seconds, monotonic). Returns None if it is
        allowed, else the seconds until the next attempt would be (refused attempts are
        not counted)."""
        wait = self.wait_time(key, now)
        if wait > 0:
            self._hits.move_to_end(key)  # a key still trying is not the one to forget
            return wait
        self.record(key, now)
        return None

    def reset(self, key: str) -> None:
        self._hits.pop(key, None)
