import random

import pytest

from loadtests.plan import (
    Answer,
    Disconnect,
    PaperItem,
    Reconnect,
    Submit,
    ThinkTime,
    make_plan,
    paper_items,
    pick_response,
    planned_duration_s,
)

PAPER = {
    "paper_id": "p1",
    "sections": [
        {
            "type": "single",
            "title": "单项选择题",
            "items": [
                {"item_id": f"S{i}", "type": "single", "stem": "?",
                 "options": [{"id": o, "text": o} for o in "ABCD"]}
                for i in range(12)
            ],
        },
        {
            "type": "multiple",
            "title": "多项选择题",
            "items": [
                {"item_id": f"M{i}", "type": "multiple", "stem": "?",
                 "options": [{"id": o, "text": o} for o in "ABCDE"]}
                for i in range(5)
            ],
        },
        {
            "type": "true_false",
            "title": "判断题",
            "items": [
                {"item_id": f"T{i}", "type": "true_false", "stem": "?", "options": []}
                for i in range(3)
            ],
        },
    ],
}  # fmt: skip


def test_paper_items_keeps_paper_order_and_options() -> None:
    items = paper_items(PAPER)
    assert [i.item_id for i in items][:2] == ["S0", "S1"]
    assert [i.item_id for i in items][-1] == "T2"
    assert items[12] == PaperItem("M0", "multiple", ("A", "B", "C", "D", "E"))


def test_paper_without_items_is_refused() -> None:
    with pytest.raises(ValueError, match="no items"):
        paper_items({"paper_id": "x", "sections": []})


def test_responses_are_valid_for_each_type() -> None:
    rng = random.Random(1)
    for item in paper_items(PAPER):
        for _ in range(20):
            response = pick_response(item, rng)
            if item.type == "true_false":
                assert response in (("true",), ("false",))
            elif item.type == "single":
                assert len(response) == 1 and response[0] in item.option_ids
            else:
                assert 1 <= len(response) <= 5
                assert list(response) == sorted(set(response))
                assert set(response) <= set(item.option_ids)


def test_a_changed_response_differs() -> None:
    rng = random.Random(2)
    item = PaperItem("T", "true_false", ())
    assert pick_response(item, rng, other_than=("true",)) == ("false",)
    only = PaperItem("S", "single", ("A",))
    with pytest.raises(ValueError, match="no response other than"):
        pick_response(only, rng, other_than=("A",))


def test_plan_answers_every_item_goes_offline_once_changes_some_and_submits() -> None:
    items = paper_items(PAPER)
    steps = make_plan(items, random.Random(7), ThinkTime(), change_fraction=0.1)
    answers = [s for s in steps if isinstance(s, Answer)]
    first = [a for a in answers if not a.change]
    assert [a.item_id for a in first] == [i.item_id for i in items]
    changes = [a for a in answers if a.change]
    assert len(changes) == 2  # 10% of 20
    assert isinstance(steps[-1], Submit)
    kinds = [type(s) for s in steps]
    assert kinds.count(Disconnect) == 1 and kinds.count(Reconnect) == 1
    cut = kinds.index(Disconnect)
    back = kinds.index(Reconnect)
    # Two answers made while offline, between the cut and the reconnect.
    between = steps[cut + 1 : back]
    assert len(between) == 2
    assert all(isinstance(s, Answer) and s.offline for s in between)
    assert sum(1 for a in answers if a.offline) == 2
    # The last answer to each item is what the plan expects the results to hold.
    for change in changes:
        earlier = next(a for a in first if a.item_id == change.item_id)
        assert change.response != earlier.response


def test_plan_without_offline_or_changes() -> None:
    steps = make_plan(
        paper_items(PAPER), random.Random(3), ThinkTime(), change_fraction=0, go_offline=False
    )
    assert not any(isinstance(s, Disconnect | Reconnect) for s in steps)
    assert sum(isinstance(s, Answer) for s in steps) == 20


def test_plans_are_reproducible_from_the_seed() -> None:
    items = paper_items(PAPER)
    assert make_plan(items, random.Random(5), ThinkTime()) == make_plan(
        items, random.Random(5), ThinkTime()
    )


def test_think_time_is_realistic_by_default_and_scales() -> None:
    rng = random.Random(11)
    think = ThinkTime()
    samples = [think.item(rng) for _ in range(2000)]
    assert min(samples) >= 4.0 and max(samples) <= 90.0
    assert 18.0 < sum(samples) / len(samples) < 28.0
    fast = ThinkTime(scale=0.02)
    assert fast.item(random.Random(11)) == pytest.approx(0.02 * think.item(random.Random(11)))


def test_scaled_plan_duration() -> None:
    items = paper_items(PAPER)
    slow = planned_duration_s(make_plan(items, random.Random(9), ThinkTime()))
    fast = planned_duration_s(make_plan(items, random.Random(9), ThinkTime(scale=0.1)))
    assert fast == pytest.approx(slow * 0.1)
    assert 20 * 4.0 <= slow <= 20 * 90.0 + 4 * 30


@pytest.mark.parametrize("scale", [0.0, -1.0, float("inf"), float("nan")])
def test_think_scale_must_be_positive(scale: float) -> None:
    with pytest.raises(ValueError, match="positive"):
        ThinkTime(scale=scale)
