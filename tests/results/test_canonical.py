"""The canonical form pinned byte for byte, score/time formatting, the per-item mapping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from cbt_server.results.canonical import build_document, canonical_bytes, map_responses
from cbt_server.results.formats import DocumentError, format_score, format_time

FACTS = dict(
    ticket="2026001",
    id_number="32010219900101001X",
    name="张三",
    occupation="electrician",
    level=3,
    session="S1",
    room="R1",
    seat=7,
    paper_id="P1",
    started_at=None,
    submitted_at=datetime(2026, 12, 5, 2, 20, tzinfo=UTC),
    graded_at=datetime(2026, 12, 5, 2, 20, 0, 5, tzinfo=UTC),
    score=1.005,
    max_score=2,
    pass_mark=1.2,
    passed=False,
    final=True,
    responses=[
        {"item_id": "i1", "type": "single", "response": ["A"], "correct": True, "score": 1,
         "max_score": 1, "outcome": "correct", "option_order": ["B", "A"]},
        {"item_id": "i2", "response": [], "correct": False, "score": 0.0, "max_score": 1},
    ],
)  # fmt: skip

EXPECTED = (
    '{"final":true,"graded_at":"2026-12-05T02:20:00.000005+00:00","id_number":'
    '"32010219900101001X","level":3,"max_score":"2.00","name":"张三","occupation":'
    '"electrician","paper_id":"P1","pass_mark":"1.20","passed":false,"responses":['
    '{"correct":true,"item_id":"i1","max_score":"1.00","response":["A"],"score":"1.00"},'
    '{"correct":false,"item_id":"i2","max_score":"1.00","response":[],"score":"0.00"}],'
    '"room":"R1","score":"1.01","seat":7,"session":"S1","started_at":null,'
    '"submitted_at":"2026-12-05T02:20:00.000000+00:00","ticket":"2026001"}'
).encode()


def test_canonical_bytes_are_pinned() -> None:
    assert canonical_bytes(build_document(FACTS)) == EXPECTED


def test_signature_field_is_left_out() -> None:
    document = build_document(FACTS)
    assert canonical_bytes({**document, "signature": "abc"}) == canonical_bytes(document)


@pytest.mark.parametrize(
    ("value", "text"),
    [(85, "85.00"), (85.5, "85.50"), (1.005, "1.01"), (0.125, "0.13"), (-0.0, "0.00"),
     ("7.1", "7.10"), (99.994, "99.99")],
)  # fmt: skip
def test_scores_are_two_decimal_strings(value: float | str, text: str) -> None:
    assert format_score(value) == text


@pytest.mark.parametrize("value", [float("nan"), float("inf"), "abc", True])
def test_unusable_scores_are_refused(value: object) -> None:
    with pytest.raises(DocumentError, match="score"):
        format_score(value)  # type: ignore[arg-type]


def test_times_are_utc_with_offset() -> None:
    beijing = timezone(timedelta(hours=8))
    assert format_time(datetime(2026, 12, 5, 9, 30, tzinfo=beijing)) == (
        "2026-12-05T01:30:00.000000+00:00"
    )
    assert format_time(None) is None
    with pytest.raises(DocumentError, match="naive"):
        format_time(datetime(2026, 12, 5, 9, 30))


def test_responses_keep_the_published_fields_only() -> None:
    [row] = map_responses([{"item_id": "x", "response": "A", "correct": 1, "score": 2,
                            "max_score": 2, "outcome": "correct"}])  # fmt: skip
    assert row == {"item_id": "x", "response": ["A"], "correct": True, "score": "2.00",
                   "max_score": "2.00"}  # fmt: skip


@pytest.mark.parametrize(
    ("stored", "where"),
    [([1], "responses[0]"), ([{"response": []}], "item_id"),
     ([{"item_id": "x", "response": [1]}], "response"),
     ([{"item_id": "x", "score": "lots"}], "score")],
)  # fmt: skip
def test_bad_stored_rows_are_named(stored: list[object], where: str) -> None:
    with pytest.raises(DocumentError, match=where.replace("[", r"\[").replace("]", r"\]")):
        map_responses(stored)  # type: ignore[arg-type]
