"""Grading: exact match, all-or-nothing, QTI-style mapping with bounds, totals."""

from __future__ import annotations

import pytest

from cbt_server.errors import InvalidResponse
from cbt_server.exam.answers import normalize_response
from cbt_server.exam.grading import (
    GradedItem,
    ItemKey,
    ItemType,
    Outcome,
    ScoreMapping,
    grade,
    score_item,
)

SINGLE = ItemType.SINGLE
MULTI = ItemType.MULTIPLE
TF = ItemType.TRUE_FALSE


def item(item_id: str, kind: ItemType, score: float = 1.0) -> GradedItem:
    order = () if kind is TF else ("C", "A", "D", "B")
    return GradedItem(item_id=item_id, type=kind, score=score, option_order=order)


def key(item_id: str, kind: ItemType, *choices: str, mapping: ScoreMapping | None = None):
    return ItemKey(item_id=item_id, type=kind, key=frozenset(choices), mapping=mapping)


def test_single_exact_match() -> None:
    r = score_item(item("s1", SINGLE), key("s1", SINGLE, "A"), ["A"])
    assert (r.correct, r.outcome, r.score, r.max_score) == (True, Outcome.CORRECT, 1.0, 1.0)
    r = score_item(item("s1", SINGLE), key("s1", SINGLE, "A"), ["B"])
    assert (r.correct, r.outcome, r.score) == (False, Outcome.WRONG, 0.0)
    r = score_item(item("s1", SINGLE), key("s1", SINGLE, "A"), [])
    assert (r.correct, r.outcome, r.score) == (False, Outcome.UNANSWERED, 0.0)
    # Two choices on a single item never match one key.
    r = score_item(item("s1", SINGLE), key("s1", SINGLE, "A"), ["A", "B"])
    assert r.score == 0.0


def test_true_false() -> None:
    assert score_item(item("t", TF), key("t", TF, "true"), ["true"]).score == 1.0
    assert score_item(item("t", TF), key("t", TF, "true"), ["false"]).score == 0.0
    assert score_item(item("t", TF), key("t", TF, "false"), ["false"]).correct


def test_multiple_all_or_nothing() -> None:
    k = key("m", MULTI, "A", "B", "C")
    assert score_item(item("m", MULTI, 2), k, ["C", "B", "A"]).score == 2.0
    partial = score_item(item("m", MULTI, 2), k, ["A", "B"])
    assert (partial.score, partial.outcome) == (0.0, Outcome.WRONG)
    assert score_item(item("m", MULTI, 2), k, ["A", "B", "C", "D"]).score == 0.0


def test_mapping_sums_clamps_and_scales() -> None:
    mapping = ScoreMapping(
        entries={"A": 1, "B": 1, "C": -0.5}, default=0, lower_bound=0, upper_bound=2
    )
    k = key("m", MULTI, "A", "B", mapping=mapping)
    it = item("m", MULTI, 1)  # the blueprint says 1 point; the mapping's scale is 0..2
    full = score_item(it, k, ["A", "B"])
    assert (full.score, full.correct, full.outcome) == (1.0, True, Outcome.CORRECT)
    half = score_item(it, k, ["A"])
    assert (half.score, half.correct, half.outcome) == (0.5, False, Outcome.PARTIAL)
    assert score_item(it, k, ["A", "C"]).score == 0.25  # (1 - 0.5) / 2
    assert score_item(it, k, ["C"]).score == 0.0  # -0.5 clamped to the lower bound 0
    assert score_item(it, k, ["D"]).score == 0.0  # unmapped -> default 0


def test_mapping_upper_bound_caps_the_sum() -> None:
    mapping = ScoreMapping(entries={"A": 2, "B": 2, "C": 2}, upper_bound=3)
    it = item("m", MULTI, 6)
    k = key("m", MULTI, "A", "B", mapping=mapping)
    assert score_item(it, k, ["A"]).score == 4.0  # 2/3 of 6
    assert score_item(it, k, ["A", "B", "C"]).score == 6.0  # 6 clamped to 3 -> full marks


def test_mapping_default_applies_to_unlisted_choices() -> None:
    mapping = ScoreMapping(entries={"A": 1, "B": 1}, default=-1, lower_bound=-1, upper_bound=2)
    it = item("m", MULTI, 2)
    k = key("m", MULTI, "A", "B", mapping=mapping)
    assert score_item(it, k, ["A", "D"]).score == 0.0  # 1 + (-1)
    assert score_item(it, k, ["C", "D"]).score == -1.0  # -2 clamped to -1, scaled by 2/2


def test_mapping_without_bounds() -> None:
    # No upper bound: full marks are the sum of the positive entries; no lower bound: 0.
    mapping = ScoreMapping(entries={"A": 1, "B": 1, "C": 1, "D": -3})
    it = item("m", MULTI, 3)
    k = key("m", MULTI, "A", "B", "C", mapping=mapping)
    assert score_item(it, k, ["A", "B"]).score == 2.0
    assert score_item(it, k, ["A", "D"]).score == 0.0


def test_mapping_blank_scores_zero_even_with_positive_lower_bound() -> None:
    mapping = ScoreMapping(entries={"A": 1}, lower_bound=0.5, upper_bound=1)
    r = score_item(item("m", MULTI), key("m", MULTI, "A", mapping=mapping), [])
    assert (r.score, r.outcome) == (0.0, Outcome.UNANSWERED)


def test_mapping_from_item_file_dict() -> None:
    m = ScoreMapping.from_dict(
        {"default": 0, "lower_bound": 0, "upper_bound": 2, "entries": {"A": 1, "C": -0.5}}
    )
    assert m.entries == {"A": 1.0, "C": -0.5}
    assert (m.lower_bound, m.upper_bound, m.default) == (0.0, 2.0, 0.0)
    bare = ScoreMapping.from_dict({"entries": {"A": 1}})
    assert (bare.lower_bound, bare.upper_bound, bare.default) == (None, None, 0.0)
    assert ScoreMapping.from_dict({"entries": {"A": 1}, "default": None}).default == 0.0


def test_mapping_from_item_file_dict_keeps_its_default() -> None:
    m = ScoreMapping.from_dict({"default": -0.5, "entries": {"A": 1, "B": 1}})
    assert m.default == -0.5
    it = item("m", MULTI, 2)
    # A wrong extra choice costs half a point on the 0..2 scale: (1 + 1 - 0.5) / 2 * 2.
    assert score_item(it, key("m", MULTI, "A", "B", mapping=m), ["A", "B", "D"]).score == 1.5


@pytest.mark.parametrize(
    ("mapping", "response", "expected"),
    [
        (ScoreMapping(entries={"A": 0.5, "B": 0.5}), ["A", "B"], 1.0),  # full mark 1
        (ScoreMapping(entries={"A": 0.5, "B": 0.5}), ["A"], 0.5),
        (ScoreMapping(entries={"A": 0.25, "B": 0.25}), ["B"], 0.5),  # full mark 0.5
        (ScoreMapping(entries={"A": 1}, upper_bound=1), ["A"], 1.0),
    ],
)
def test_mapping_with_a_full_mark_of_one_or_less_scores(
    mapping: ScoreMapping, response: list[str], expected: float
) -> None:
    it = item("m", MULTI, 1)
    assert score_item(it, key("m", MULTI, "A", "B", mapping=mapping), response).score == expected


@pytest.mark.parametrize(
    "mapping",
    [
        ScoreMapping(entries={"A": 0, "B": -1}),  # no positive entry: full mark 0
        ScoreMapping(entries={"A": 1}, upper_bound=0),
        ScoreMapping(entries={"A": 1}, lower_bound=-1, upper_bound=-1),
    ],
)
def test_mapping_without_a_positive_full_mark_scores_zero(mapping: ScoreMapping) -> None:
    r = score_item(item("m", MULTI, 2), key("m", MULTI, "A", mapping=mapping), ["A"])
    assert (r.score, r.max_score) == (0.0, 2.0)  # not a ZeroDivisionError, not full marks


def test_rounding_half_up_to_two_decimals() -> None:
    mapping = ScoreMapping(entries={"A": 1, "B": 1, "C": 1}, upper_bound=3)
    it = item("m", MULTI, 1)
    k = key("m", MULTI, "A", "B", "C", mapping=mapping)
    assert score_item(it, k, ["A"]).score == 0.33
    assert score_item(it, k, ["A", "B"]).score == 0.67


def test_whole_paper_total_and_pass() -> None:
    items = [item(f"s{i}", SINGLE) for i in range(60)] + [
        item(f"m{i}", MULTI, 2) for i in range(20)
    ]
    keys = {f"s{i}": key(f"s{i}", SINGLE, "A") for i in range(60)}
    keys |= {f"m{i}": key(f"m{i}", MULTI, "A", "B") for i in range(20)}
    responses: dict[str, list[str]] = {f"s{i}": ["A"] for i in range(40)}
    responses |= {f"m{i}": ["A", "B"] for i in range(10)}
    responses["not-on-paper"] = ["A"]
    result = grade(items, keys, responses, pass_mark=60)
    assert (result.total, result.max_total, result.passed) == (60.0, 100.0, True)
    assert result.pass_mark == 60.0 and isinstance(result.pass_mark, float)
    assert result.counts == {"correct": 50, "partial": 0, "wrong": 0, "unanswered": 30}
    responses.pop("s0")
    failed = grade(items, keys, responses, pass_mark=60)
    assert (failed.total, failed.passed) == (59.0, False)


def test_total_is_sum_of_rounded_item_scores() -> None:
    mapping = ScoreMapping(entries={"A": 1, "B": 1, "C": 1}, upper_bound=3)
    items = [item(f"m{i}", MULTI, 1) for i in range(3)]
    keys = {i.item_id: key(i.item_id, MULTI, "A", "B", "C", mapping=mapping) for i in items}
    result = grade(items, keys, {i.item_id: ["A"] for i in items}, pass_mark=0.99)
    assert result.total == 0.99  # 3 x 0.33, not 1.0
    assert result.passed


def test_result_rows_keep_response_correctness_score_and_option_order() -> None:
    items = [item("s1", SINGLE), item("t1", TF)]
    keys = {"s1": key("s1", SINGLE, "D"), "t1": key("t1", TF, "false")}
    result = grade(items, keys, {"s1": ["D"], "t1": ["true"]}, pass_mark=60)
    assert result.responses() == [
        {
            "item_id": "s1",
            "type": "single",
            "response": ["D"],
            "correct": True,
            "outcome": "correct",
            "score": 1.0,
            "max_score": 1.0,
            "option_order": ["C", "A", "D", "B"],
        },
        {
            "item_id": "t1",
            "type": "true_false",
            "response": ["true"],
            "correct": False,
            "outcome": "wrong",
            "score": 0.0,
            "max_score": 1.0,
            "option_order": [],
        },
    ]


def test_missing_key_is_an_error_not_a_zero() -> None:
    with pytest.raises(ValueError, match="no key"):
        grade([item("s1", SINGLE)], {}, {}, pass_mark=60)
    with pytest.raises(ValueError):
        score_item(item("s1", SINGLE), key("s2", SINGLE, "A"), ["A"])


# --- response validation --------------------------------------------------------------


def test_normalize_response() -> None:
    opts = ["A", "B", "C", "D"]
    assert normalize_response(SINGLE, opts, ["B"]) == ["B"]
    assert normalize_response(SINGLE, opts, []) == []
    assert normalize_response(MULTI, opts, ["D", "A"]) == ["A", "D"]
    assert normalize_response(TF, [], ["false"]) == ["false"]


@pytest.mark.parametrize(
    ("kind", "response", "fragment"),
    [
        (SINGLE, ["A", "B"], "at most one"),
        (SINGLE, ["E"], "'E'"),
        (MULTI, ["A", "A"], "more than once"),
        (MULTI, ["a"], "'a'"),
        (TF, ["A"], "'A'"),
        (TF, ["true", "false"], "at most one"),
    ],
)
def test_normalize_response_refusals(kind: ItemType, response: list[str], fragment: str) -> None:
    with pytest.raises(InvalidResponse) as info:
        normalize_response(kind, ["A", "B", "C", "D"], response)
    assert fragment in info.value.message
    assert info.value.code == "invalid_response"
