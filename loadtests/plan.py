"""What one simulated candidate will do in the exam, decided up front (pure).

A plan is made from the paper the candidate received and a seeded random generator:
answer every item in paper order with a think time before each, go offline once part
way (the connection is cut right after an answer is sent, a few items are answered
while offline and kept, then the client reconnects and resends what is unacknowledged),
review and change some answers at the end, and submit.

Think times follow a log-normal distribution (median 20 s an item, clipped to 4..90 s),
so 100 items take about 40 minutes, as a candidate who uses part of a 90-minute exam.
`scale` compresses every duration for quick runs (0.02 makes that about 45 s).
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

TRUE_FALSE = ("true", "false")


@dataclass(frozen=True, slots=True)
class ThinkTime:
    """Durations a candidate takes, in seconds, before `scale` is applied."""

    scale: float = 1.0
    item_median_s: float = 20.0
    item_sigma: float = 0.5
    item_min_s: float = 4.0
    item_max_s: float = 90.0
    review_min_s: float = 3.0
    review_max_s: float = 15.0
    offline_min_s: float = 5.0
    offline_max_s: float = 30.0

    def __post_init__(self) -> None:
        if not (self.scale > 0 and math.isfinite(self.scale)):
            raise ValueError(f"think-time scale must be a positive number: {self.scale!r}")

    def item(self, rng: random.Random) -> float:
        raw = rng.lognormvariate(math.log(self.item_median_s), self.item_sigma)
        return min(max(raw, self.item_min_s), self.item_max_s) * self.scale

    def review(self, rng: random.Random) -> float:
        return rng.uniform(self.review_min_s, self.review_max_s) * self.scale

    def offline(self, rng: random.Random) -> float:
        return rng.uniform(self.offline_min_s, self.offline_max_s) * self.scale


@dataclass(frozen=True, slots=True)
class Answer:
    """Think for `think_s`, then answer `item_id` (kept locally when `offline`)."""

    item_id: str
    response: tuple[str, ...]
    think_s: float
    offline: bool = False
    change: bool = False


@dataclass(frozen=True, slots=True)
class Disconnect:
    """Cut the connection at once, without waiting for outstanding acknowledgements."""


@dataclass(frozen=True, slots=True)
class Reconnect:
    """Stay offline `after_s`, then log in again and resend everything unacknowledged."""

    after_s: float


@dataclass(frozen=True, slots=True)
class Submit:
    think_s: float


Step = Answer | Disconnect | Reconnect | Submit


@dataclass(frozen=True, slots=True)
class PaperItem:
    item_id: str
    type: str
    option_ids: tuple[str, ...]


def paper_items(paper: Mapping[str, Any]) -> list[PaperItem]:
    """The items of a `PaperView` (as received in `state.paper`) in paper order."""
    items: list[PaperItem] = []
    for section in paper["sections"]:
        for item in section["items"]:
            option_ids = tuple(str(option["id"]) for option in item["options"])
            items.append(PaperItem(str(item["item_id"]), str(item["type"]), option_ids))
    if not items:
        raise ValueError("the paper has no items")
    return items


def choices(item: PaperItem) -> tuple[str, ...]:
    return TRUE_FALSE if item.type == "true_false" else item.option_ids


def pick_response(
    item: PaperItem, rng: random.Random, *, other_than: tuple[str, ...] | None = None
) -> tuple[str, ...]:
    """A valid, non-empty response to `item`, different from `other_than` when given."""
    options = choices(item)
    if not options:
        raise ValueError(f"item {item.item_id} has no options to choose from")
    for _ in range(100):
        if item.type == "multiple":
            size = rng.randint(1, len(options))
            response = tuple(sorted(rng.sample(options, size)))
        else:
            response = (rng.choice(options),)
        if response != other_than:
            return response
    raise ValueError(f"item {item.item_id} allows no response other than {other_than}")


def make_plan(
    items: Sequence[PaperItem],
    rng: random.Random,
    think: ThinkTime,
    *,
    change_fraction: float = 0.1,
    offline_items: int = 2,
    go_offline: bool = True,
) -> list[Step]:
    """The steps of one candidate's exam; see the module docstring."""
    if not 0.0 <= change_fraction <= 1.0:
        raise ValueError(f"change fraction must be within 0..1: {change_fraction!r}")
    steps: list[Step] = []
    final: dict[str, tuple[str, ...]] = {}
    cut_after = -1
    if go_offline and len(items) >= offline_items + 2:
        # Somewhere in the middle, leaving room for the items answered while offline.
        low = max(0, len(items) * 3 // 10)
        high = max(low, min(len(items) * 7 // 10, len(items) - offline_items - 2))
        cut_after = rng.randint(low, high)
    offline_left = 0
    for index, item in enumerate(items):
        response = pick_response(item, rng)
        final[item.item_id] = response
        steps.append(Answer(item.item_id, response, think.item(rng), offline=offline_left > 0))
        if offline_left:
            offline_left -= 1
            if offline_left == 0:
                steps.append(Reconnect(think.offline(rng)))
        if index == cut_after:
            steps.append(Disconnect())
            offline_left = offline_items
            if offline_left == 0:
                steps.append(Reconnect(think.offline(rng)))
    changes = max(1, round(len(items) * change_fraction)) if change_fraction else 0
    for item in rng.sample(list(items), min(changes, len(items))):
        try:
            response = pick_response(item, rng, other_than=final[item.item_id])
        except ValueError:
            continue  # an item with a single possible response cannot be changed
        final[item.item_id] = response
        steps.append(Answer(item.item_id, response, think.review(rng), change=True))
    steps.append(Submit(think.review(rng)))
    return steps


def planned_duration_s(steps: Sequence[Step]) -> float:
    """The total think and offline time of a plan (a lower bound on how long it runs)."""
    total = 0.0
    for step in steps:
        if isinstance(step, Answer | Submit):
            total += step.think_s
        elif isinstance(step, Reconnect):
            total += step.after_s
    return total
