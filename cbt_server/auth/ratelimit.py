"""A sliding-window rate limiter for login attempts, kept in memory per server process.

With several processes each keeps its own window, so the effective limit is the limit
times the number of processes; the per-account lockout (stored in the database) is the
guard that holds across processes.
"""

from __future__ import annotations

from collections import OrderedDict, deque


class SlidingWindow:
    """At most `limit` hits per key in any `window` seconds."""

    def __init__(self, limit: int, window: float, *, max_keys: int = 10_000) -> None:
        if limit < 1 or window <= 0 or max_keys < 1:
            raise ValueError("limit, window and max_keys must be positive")
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()

    def hit(self, key: str, now: float) -> float | None:
        """Count one attempt by `key` at `now` (seconds, monotonic). Returns None if it is
        allowed, else the seconds until the next attempt would be (refused attempts are
        not counted)."""
        hits = self._hits.get(key)
        if hits is None:
            hits = deque()
            self._hits[key] = hits
            while len(self._hits) > self.max_keys:
                self._hits.popitem(last=False)
        else:
            self._hits.move_to_end(key)
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if len(hits) >= self.limit:
            return max(hits[0] + self.window - now, 0.001)
        hits.append(now)
        return None

    def reset(self, key: str) -> None:
        self._hits.pop(key, None)
