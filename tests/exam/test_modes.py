"""Exam modes as pure rules: the paper's source and the package's validity window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cbt_server.errors import InvalidInput, OutsideWindow
from cbt_server.exam import modes
from cbt_server.exam.modes import Mode

NOON = datetime(2026, 12, 5, 4, 0, tzinfo=UTC)


def test_sources() -> None:
    modes.check_source(Mode.FORMAL, "pkg", "b")
    modes.check_source(Mode.REHEARSAL, None, "b")
    with pytest.raises(InvalidInput, match="only from a sealed package"):
        modes.check_source(Mode.FORMAL, None, "b")
    with pytest.raises(InvalidInput, match="never the formal package"):
        modes.check_source(Mode.REHEARSAL, "pkg", "b")
    modes.check_source(Mode.PRACTICE, None, "b")
    with pytest.raises(InvalidInput, match="a practice takes a paper from a bank file"):
        modes.check_source(Mode.PRACTICE, "pkg", "b")
    with pytest.raises(InvalidInput, match="formal, rehearsal or practice"):
        modes.mode_of("exam")
    assert modes.publishes("formal") and not modes.publishes("rehearsal")
    assert not modes.publishes("practice")


def test_window() -> None:
    hour = timedelta(hours=1)
    modes.check_window(None, None, None, what="the start")
    modes.check_window(NOON, NOON - hour, NOON + hour, what="the start")
    modes.check_window(NOON, NOON, NOON, what="the start")  # the ends are inside
    modes.check_window(NOON, None, NOON, what="the start")
    for moment in (NOON - 2 * hour, NOON + 2 * hour):
        with pytest.raises(OutsideWindow, match="不在有效期内"):
            modes.check_window(moment, NOON - hour, NOON + hour, what="the start")
    with pytest.raises(OutsideWindow, match="must be given"):
        modes.check_window(None, NOON, None, what="the scheduled time")
