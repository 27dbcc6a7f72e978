"""The rules of a sitting as pure functions: late admission, earliest hand-in, figures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cbt_server.errors import InvalidInput, SubmitTooEarly, TooLate
from cbt_server.exam import rules
from cbt_server.exam.rules import SittingRules
from cbt_server.exam.state import CandidateState, SubmitReason

START = datetime(2026, 12, 6, 1, 0, tzinfo=UTC)
RULES = SittingRules(late_minutes=15, min_submit_minutes=30)


def test_late_login_after_the_limit_is_refused_unless_admitted() -> None:
    on_time = START + timedelta(minutes=15)
    late = on_time + timedelta(seconds=1)
    rules.check_late_login(CandidateState.REGISTERED, START, on_time, RULES, admitted=False)
    with pytest.raises(TooLate) as refused:
        rules.check_late_login(CandidateState.REGISTERED, START, late, RULES, admitted=False)
    assert "开考 15 分钟后不能再入场" in refused.value.message
    rules.check_late_login(CandidateState.REGISTERED, START, late, RULES, admitted=True)
    # Someone who logged in before (a reconnect) is never late; nor is anyone without a rule
    # or before the start.
    rules.check_late_login(CandidateState.ANSWERING, START, late, RULES, admitted=False)
    rules.check_late_login(CandidateState.CHECKED_IN, START, late, RULES, admitted=False)
    rules.check_late_login(CandidateState.REGISTERED, START, late, SittingRules(), admitted=False)
    rules.check_late_login(CandidateState.REGISTERED, None, late, RULES, admitted=False)


def test_earliest_hand_in_holds_the_candidate_only() -> None:
    opens = START + timedelta(minutes=30)
    assert rules.submit_opens_at(START, RULES) == opens
    assert rules.submit_opens_at(None, RULES) is None
    assert rules.submit_opens_at(START, SittingRules(min_submit_minutes=0)) is None
    early = opens - timedelta(seconds=1)
    with pytest.raises(SubmitTooEarly) as refused:
        rules.check_submit_time(SubmitReason.CANDIDATE, START, early, RULES)
    assert "开考 30 分钟后才能交卷" in refused.value.message
    rules.check_submit_time(SubmitReason.CANDIDATE, START, opens, RULES)
    for reason in (SubmitReason.PROCTOR, SubmitReason.TIMEOUT):
        rules.check_submit_time(reason, START, early, RULES)


def test_minutes_are_checked() -> None:
    rules.check_minutes("late admission", None)
    rules.check_minutes("late admission", 0)
    rules.check_minutes("late admission", rules.MAX_RULE_MINUTES)
    for bad in (-1, rules.MAX_RULE_MINUTES + 1):
        with pytest.raises(InvalidInput, match="late admission must be"):
            rules.check_minutes("late admission", bad)


def test_paper_summary_of_a_blueprint_document() -> None:
    spec = {
        "total_score": 100,
        "pass_mark": 60,
        "sections": [
            {"cells": [{"count": 3}, {"count": 57}]},
            {"cells": [{"count": 40}]},
        ],
    }
    assert rules.paper_summary(spec) == rules.PaperSummary(100, 100.0, 60.0)
    assert rules.paper_summary({"sections": []}) is None
    assert rules.paper_summary({"sections": "x", "total_score": 1, "pass_mark": 1}) is None
