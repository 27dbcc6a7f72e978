"""Lockout and login rate limiting as pure functions of their inputs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cbt_server.auth.config import AuthConfig
from cbt_server.auth.lockout import LockRule, LockState, after_failure, is_locked
from cbt_server.auth.ratelimit import SlidingWindow

NOW = datetime(2026, 5, 20, 8, 0, tzinfo=UTC)
CONFIG = AuthConfig().address_rule


def test_five_failures_lock_for_fifteen_minutes() -> None:
    state = LockState(0, None)
    for expected in range(1, 5):
        state = after_failure(state, NOW, CONFIG)
        assert state == LockState(expected, None)
    state = after_failure(state, NOW, CONFIG)
    assert state == LockState(0, NOW + timedelta(minutes=15))
    assert is_locked(state.locked_until, NOW + timedelta(minutes=14, seconds=59))
    assert not is_locked(state.locked_until, NOW + timedelta(minutes=15))


def test_count_restarts_after_an_expired_lock() -> None:
    expired = LockState(3, NOW - timedelta(seconds=1))
    assert after_failure(expired, NOW, CONFIG) == LockState(1, None)


def test_threshold_and_duration_are_configurable() -> None:
    config = AuthConfig(lockout_threshold=2, lockout_seconds=60).address_rule
    state = after_failure(LockState(1, None), NOW, config)
    assert state.locked_until == NOW + timedelta(seconds=60)


def test_the_account_wide_count_is_kept_within_its_window() -> None:
    rule = AuthConfig().account_rule
    assert rule == LockRule(50, 15 * 60, 15 * 60)
    state = LockState(0, None)
    for _ in range(49):
        state = after_failure(state, NOW, rule)
    assert state == LockState(49, None, NOW)
    locked = after_failure(state, NOW + timedelta(minutes=14), rule)
    assert locked.locked_until == NOW + timedelta(minutes=29)
    # Failures spread wider than the window never add up to a lock.
    late = after_failure(state, NOW + timedelta(minutes=15), rule)
    assert late == LockState(1, None, NOW + timedelta(minutes=15))


def test_config_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="lockout_threshold"):
        AuthConfig(lockout_threshold=0)


def test_sliding_window_limits_and_recovers() -> None:
    window = SlidingWindow(3, 10.0)
    assert [window.hit("a", t) for t in (0.0, 1.0, 2.0)] == [None, None, None]
    assert window.hit("a", 3.0) == pytest.approx(7.0)
    assert window.hit("b", 3.0) is None  # other keys are independent
    assert window.hit("a", 10.0) is None  # the hit at 0.0 has left the window
    assert window.hit("a", 10.5) == pytest.approx(0.5)


def test_refused_attempts_do_not_extend_the_wait() -> None:
    window = SlidingWindow(1, 10.0)
    assert window.hit("a", 0.0) is None
    for t in (1.0, 2.0, 9.0):
        assert window.hit("a", t) is not None
    assert window.hit("a", 10.0) is None


def test_key_count_is_bounded() -> None:
    window = SlidingWindow(1, 100.0, max_keys=2)
    window.hit("a", 0.0)
    window.hit("b", 0.0)
    window.hit("c", 0.0)  # evicts "a", the least recently used
    assert window.hit("a", 1.0) is None
    assert window.hit("c", 1.0) is not None
