"""A person's parts, their validity and the resit decision, without a database."""

from __future__ import annotations

from datetime import date

from cbt_server.centre.history import Attempt, one_year_on, part_states, resit_decision


def _attempt(
    day: date, passed: bool, *, site: str = "site-a", final: bool = True, status: str = "ok"
) -> Attempt:
    return Attempt(
        site, f"S-{day}", f"T-{day}", "electrician", 3, day, "70.00", passed, final, status
    )


TODAY = date(2026, 12, 6)


def test_a_pass_is_valid_for_one_year_then_expires() -> None:
    (state,) = part_states([_attempt(date(2026, 3, 1), True)], TODAY)
    assert state.state == "passed" and state.valid_until == date(2027, 3, 1)
    assert not state.may_resit
    (state,) = part_states([_attempt(date(2026, 3, 1), True)], date(2027, 3, 1))
    assert state.state == "passed"  # valid through that day
    (state,) = part_states([_attempt(date(2026, 3, 1), True)], date(2027, 3, 2))
    assert state.state == "expired"
    assert one_year_on(date(2028, 2, 29)) == date(2029, 2, 28)


def test_a_failed_part_may_be_resat_at_its_site_only() -> None:
    states = part_states([_attempt(date(2026, 11, 1), False, site="site-b")], TODAY)
    assert states[0].state == "failed" and states[0].resit_site == "site-b"
    assert resit_decision(states, "electrician", 3, TODAY).accepted
    assert resit_decision(states, "electrician", 3, TODAY, site="site-b").accepted
    refused = resit_decision(states, "electrician", 3, TODAY, site="site-a")
    assert not refused.accepted and "original site site-b" in refused.reason


def test_a_valid_pass_anywhere_refuses_a_resit() -> None:
    attempts = [
        _attempt(date(2026, 6, 1), False, site="site-b"),
        _attempt(date(2026, 9, 1), True, site="site-a"),
    ]
    states = part_states(attempts, TODAY)
    assert states[0].state == "passed" and len(states[0].attempts) == 2
    decision = resit_decision(states, "electrician", 3, TODAY)
    assert not decision.accepted and "valid until 2027-09-01" in decision.reason


def test_unsigned_or_flagged_results_decide_nothing() -> None:
    states = part_states([_attempt(date(2026, 12, 5), True, final=False)], TODAY)
    assert states[0].state == "pending"
    assert not resit_decision(states, "electrician", 3, TODAY).accepted
    states = part_states([_attempt(date(2026, 12, 5), True, status="mismatch")], TODAY)
    assert states[0].state == "pending" and "re-grade" in states[0].reason


def test_no_attempt_is_no_resit_and_an_expired_pass_is_a_new_exam() -> None:
    assert not resit_decision([], "electrician", 3, TODAY).accepted
    states = part_states([_attempt(date(2024, 1, 1), True)], TODAY)
    decision = resit_decision(states, "electrician", 3, TODAY)
    assert not decision.accepted and "full exam" in decision.reason
    other_level = resit_decision(states, "electrician", 4, TODAY)
    assert "no theory attempt at electrician level 4" in other_level.reason
