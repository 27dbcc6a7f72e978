"""Every figure of the statistics core against the independent computation in
tests/stats/reference.py, on a generated data set with the awkward cases."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from cbt_server.results.formats import format_score
from cbt_server.stats.arrays import ArrayBuilder, ResultDataError, from_documents, result_rows
from cbt_server.stats.compute import candidate_ranks, statistics
from cbt_server.stats.documents import Statistics
from tests.stats import dataset, reference
from tests.stats.reference import assert_same

DOCS = dataset.documents()
BANK = dataset.bank()


@pytest.fixture(scope="module")
def figures() -> dict[str, Any]:
    return statistics(from_documents(DOCS), BANK)


def test_the_data_set_has_the_awkward_cases(figures: dict[str, Any]) -> None:
    items = figures["items"]
    assert 0 < items["rare"]["n"] < 10 and items["rare"]["discrimination_index"] is None
    assert items["easy"]["sd"] == 0.0 and items["easy"]["point_biserial"] is None
    assert items["easy"]["flags"] == ["too_easy"] and items["dead"]["flags"] == ["too_hard"]
    assert items["m00"]["options"]["E"] > 0 and 0 < items["m00"]["facility"] < 1
    assert items["s00"]["options"]["D"] == 0.0 and items["s00"]["omitted"] > 0
    # ties at the boundary: for most items the k-th and (k+1)-th ranked share a total
    tied = 0
    for item_id in items:
        rows = [d for d in DOCS if any(r["item_id"] == item_id for r in d["responses"])]
        totals = sorted((float(d["score"]) for d in rows), reverse=True)
        k = math.floor(0.27 * len(totals) + 0.5)
        tied += len(totals) >= 10 and totals[k - 1] == totals[k]
    assert tied >= 20
    assert figures["test"]["alpha_k"] == 12 and figures["test"]["alpha_n"] < len(DOCS)


def test_test_figures(figures: dict[str, Any]) -> None:
    assert_same(figures["test"], reference.exam_figures(DOCS), "test")


def test_item_figures(figures: dict[str, Any]) -> None:
    want = reference.item_figures(DOCS, BANK)
    assert set(figures["items"]) == set(want)
    for item_id, expected in want.items():
        got = figures["items"][item_id]
        assert_same({k: got[k] for k in expected}, expected, item_id)
        assert set(got) == set(expected)


def test_slot_figures(figures: dict[str, Any]) -> None:
    want = reference.slot_figures(DOCS, BANK)
    assert len(figures["slots"]) == len(want) == 12
    for got, expected in zip(figures["slots"], want, strict=True):
        assert_same({k: got[k] for k in expected}, expected, f"slot {expected['slot']}")
        assert set(got) == set(expected)


def test_the_tie_break_is_the_ticket_not_the_row_order() -> None:
    docs = [
        {"ticket": t, "score": s, "passed": False, "responses": []}
        for t, s in (("B", "5.00"), ("C", "7.00"), ("A", "5.00"), ("AA", "5.00"))
    ]
    ranks = candidate_ranks(from_documents(docs))
    assert ranks.tolist() == [3, 0, 1, 2]


def test_a_small_selection_gives_nulls_not_nans() -> None:
    docs = DOCS[:2]
    out = statistics(from_documents(docs), BANK)
    assert out["test"]["skewness"] is None and out["test"]["excess_kurtosis"] is None
    for figures in [*out["items"].values(), *out["slots"]]:
        assert figures["discrimination_index"] is None and figures["point_biserial"] is None
    assert statistics(from_documents([]))["test"]["n"] == 0


def test_constant_totals_leave_shape_and_alpha_undefined() -> None:
    docs = [
        {
            "ticket": f"T{c}",
            "score": "1.00",
            "passed": True,
            "responses": [
                {"item_id": "x", "response": ["A"], "score": "1.00", "max_score": "1.00"},
                {"item_id": "y", "response": [], "score": "0.00", "max_score": "1.00"},
            ],
        }
        for c in range(12)
    ]
    test = statistics(from_documents(docs))["test"]
    assert test["sd"] == 0.0 and test["skewness"] is None and test["alpha"] is None
    assert test["sem"] is None


def test_batches_give_the_same_arrays_as_one() -> None:
    builder = ArrayBuilder()
    for first in range(0, len(DOCS), 7):
        builder.add(result_rows(DOCS[first : first + 7]))
    split, whole = builder.build(), from_documents(DOCS)
    for name in ("totals", "cand", "slot", "item", "score", "max_score"):
        assert np.array_equal(getattr(split, name), getattr(whole, name)), name
    assert [split.combos[c] for c in split.combo] == [whole.combos[c] for c in whole.combo]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"score": "1.00", "passed": True, "responses": []}, "missing required field `ticket`"),
        ({"ticket": "T", "score": "x", "passed": True, "responses": []}, "Expected `float`"),
        ({"ticket": "T", "score": "nan", "passed": True, "responses": []}, "score: not a finite"),
        (
            {"ticket": "T", "score": "1", "passed": True, "responses": [{"response": []}]},
            "missing required field `item_id`",
        ),
        (
            {
                "ticket": "T",
                "score": "1",
                "passed": True,
                "responses": [{"item_id": "i", "response": [1], "score": "1", "max_score": "1"}],
            },
            "Expected `str`, got `int`",
        ),
    ],
)
def test_unreadable_documents_are_named(document: dict[str, Any], message: str) -> None:
    with pytest.raises(ResultDataError, match=message):
        from_documents([document])


def test_scores_are_read_as_published() -> None:
    """Stored numbers with more places are read as the results API publishes them
    (two places, half up), not as np.round would round them."""
    stored = [0.125, 1.005, 2.675, 72.5, 0.1 + 0.2, 3.0]
    docs = [
        {
            "ticket": f"T{n}",
            "score": v,
            "passed": True,
            "responses": [{"item_id": "i", "score": v, "max_score": 4.0, "response": ["A"]}],
        }
        for n, v in enumerate(stored)
    ]
    arrays = from_documents(docs)
    published = [float(format_score(v)) for v in stored]
    assert arrays.totals.tolist() == published == arrays.score.tolist()
    assert published[:3] == [0.13, 1.01, 2.68]


def test_the_answer_is_the_documented_model(figures: dict[str, Any]) -> None:
    selection = {"session": "S", "occupation": None, "level": None, "final": None}
    answer = {"selection": {**selection, "results": len(DOCS)}, **figures}
    assert Statistics.model_validate(answer).model_dump(mode="json") == answer
