"""The centre's re-grade of a signed result, without servers."""

from __future__ import annotations

from datetime import date
from typing import Any

from cbt_server.centre.regrade import MISMATCH, OK, exam_date, regrade
from cbt_server.exam.grading import ItemKey, ItemType, ScoreMapping

KEYS = {
    "q1": ItemKey("q1", ItemType.SINGLE, frozenset({"A"})),
    "q2": ItemKey("q2", ItemType.TRUE_FALSE, frozenset({"true"})),
    "q3": ItemKey(
        "q3",
        ItemType.MULTIPLE,
        frozenset({"A", "B"}),
        ScoreMapping(entries={"A": 1.0, "B": 1.0, "C": -1.0}, upper_bound=2.0),
    ),
}


def _doc(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "score": "3.50",
        "max_score": "5.00",
        "pass_mark": "3.00",
        "passed": True,
        "submitted_at": "2026-12-05T01:30:00.000000+00:00",
        "responses": [
            {"item_id": "q1", "response": ["A"], "score": "1.00", "max_score": "1.00"},
            {"item_id": "q2", "response": ["true"], "score": "1.00", "max_score": "1.00"},
            # partial credit: A of A+B on a 0..2 mapping, worth 3 points -> 1.50
            {"item_id": "q3", "response": ["A"], "score": "1.50", "max_score": "3.00"},
        ],
    }
    doc.update(changes)
    return doc


def test_a_correct_result_regrades_to_the_site_score() -> None:
    verdict = regrade(_doc(), KEYS)
    assert verdict.status == OK and verdict.centre_score == "3.50" and verdict.reason == ""


def test_a_wrong_total_and_a_wrong_item_are_named() -> None:
    verdict = regrade(_doc(score="4.50"), KEYS)
    assert verdict.status == MISMATCH and verdict.centre_score == "3.50"
    assert verdict.reason == "score: site 4.50, centre 3.50"
    doc = _doc()
    doc["responses"][0]["response"] = ["B"]  # the site counted a wrong answer as right
    verdict = regrade(doc, KEYS)
    assert verdict.status == MISMATCH
    assert "score: site 3.50, centre 2.50" in verdict.reason
    assert "item q1: site 1.00, centre 0.00" in verdict.reason


def test_passed_and_max_score_are_checked() -> None:
    assert "passed: site False" in regrade(_doc(passed=False), KEYS).reason
    assert "max_score: site 6.00" in regrade(_doc(max_score="6.00"), KEYS).reason


def test_items_the_centre_does_not_hold_cannot_pass_silently() -> None:
    verdict = regrade(_doc(), {k: v for k, v in KEYS.items() if k != "q2"})
    assert verdict.status == MISMATCH and verdict.centre_score is None
    assert "not in the centre's item bank" in verdict.reason and "q2" in verdict.reason


def test_malformed_documents_are_a_mismatch_not_a_crash() -> None:
    assert regrade(_doc(responses=[]), KEYS).status == MISMATCH
    doc = _doc()
    doc["responses"][0]["max_score"] = 1
    verdict = regrade(doc, KEYS)
    assert verdict.status == MISMATCH and "cannot re-grade" in verdict.reason


def test_exam_date_is_the_date_in_china() -> None:
    assert exam_date({"submitted_at": "2026-12-05T01:30:00+00:00"}) == date(2026, 12, 5)
    assert exam_date({"submitted_at": "2026-12-05T17:30:00+00:00"}) == date(2026, 12, 6)
