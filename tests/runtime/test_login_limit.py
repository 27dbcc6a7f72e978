"""Candidate login limits, on the one sliding window: only failures count."""

from __future__ import annotations

import pytest

from cbt_server.auth.ratelimit import SlidingWindow
from cbt_server.errors import RateLimited
from cbt_server.runtime.login_limit import LoginLimits


def test_failures_hold_a_ticket_until_the_oldest_leaves_the_window() -> None:
    limits = LoginLimits(per_ticket=2, per_seat=10, per_address=30, window=100.0)
    limits.check("t", "s", 0.0)
    limits.failed("t", "s", 0.0)
    limits.failed("t", "s", 10.0)
    with pytest.raises(RateLimited, match="try again in 90 s"):
        limits.check("t", "other-seat", 10.0)
    limits.check("other-ticket", "s", 10.0)  # the seat has failed twice of ten
    limits.check("t", "s", 100.0)  # the failure at 0.0 has left the window


def test_a_success_clears_the_ticket_but_not_the_seat_or_address() -> None:
    limits = LoginLimits(per_ticket=1, per_seat=1, per_address=1, window=100.0)
    limits.failed("t", "s", 0.0, "a")
    limits.succeeded("t")
    limits.check("t", "s2", 1.0)
    with pytest.raises(RateLimited):
        limits.check("t2", "s", 1.0)
    with pytest.raises(RateLimited):
        limits.check("t2", "s2", 1.0, "a")


def test_checking_counts_nothing() -> None:
    window = SlidingWindow(1, 10.0)
    for t in (0.0, 1.0, 2.0):
        assert window.wait_time("a", t) == 0.0
    window.record("a", 3.0)
    assert window.wait_time("a", 4.0) == pytest.approx(9.0)
    assert window.wait_time("a", 13.0) == 0.0
