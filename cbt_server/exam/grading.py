"""Automatic grading of a submitted paper: pure, with plain inputs.

Rules
- single and true_false: the response must equal the key exactly.
- multiple without a mapping: all or nothing (exactly the key's options).
- multiple (or any type) with a QTI-style mapping: the sum of the mapped values of the
  selected options (`default` for selected options the mapping does not list), clamped to
  `[lower_bound, upper_bound]`. A missing lower bound means 0 (no negative marks unless
  the item asks for them); a missing upper bound means the sum of the positive entries.
  The clamped value is then scaled so that the mapping's upper bound is worth the
  blueprint's `score_each`: score = clamped / upper_bound * score_each. So an item mapped
  on a 0..2 scale in a section of 1-point items scores 0.5 for a mapped value of 1.
- An empty response scores 0, also under a mapping (a positive lower bound is not
  awarded for leaving an item blank).
- Item scores are rounded half-up to 2 decimals; the total is the sum of rounded item
  scores, so a printed score sheet adds up. Passed means total >= pass mark.

Arithmetic is on Fractions so that 0.1 + 0.2 style errors never decide a pass.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from fractions import Fraction
from functools import lru_cache
from typing import Any


class ItemType(StrEnum):
    SINGLE = "single"
    MULTIPLE = "multiple"
    TRUE_FALSE = "true_false"


TRUE_FALSE_OPTIONS = ("true", "false")


class Outcome(StrEnum):
    CORRECT = "correct"
    PARTIAL = "partial"
    WRONG = "wrong"
    UNANSWERED = "unanswered"


@dataclass(frozen=True, slots=True)
class ScoreMapping:
    """QTI-style response mapping for partial credit."""

    entries: Mapping[str, float]
    default: float = 0.0
    lower_bound: float | None = None
    upper_bound: float | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ScoreMapping:
        """Build from the item-file form `{default, lower_bound, upper_bound, entries}`."""
        entries = {str(k): float(v) for k, v in dict(data.get("entries") or {}).items()}
        lower = data.get("lower_bound")
        upper = data.get("upper_bound")
        return cls(
            entries=entries,
            default=float(data.get("default") or 0),
            lower_bound=None if lower is None else float(lower),
            upper_bound=None if upper is None else float(upper),
        )

    def full_mark(self) -> Fraction:
        if self.upper_bound is not None:
            return _frac(self.upper_bound)
        return sum((_frac(v) for v in self.entries.values() if v > 0), Fraction(0))

    def raw(self, selected: frozenset[str]) -> Fraction:
        """Mapped and clamped value of a selection, before scaling."""
        total = sum(
            (_frac(self.entries.get(choice, self.default)) for choice in sorted(selected)),
            Fraction(0),
        )
        lower = Fraction(0) if self.lower_bound is None else _frac(self.lower_bound)
        upper = self.full_mark()
        return min(max(total, lower), upper)


@dataclass(frozen=True, slots=True)
class ItemKey:
    """What grading needs to know about one item: its key and optional mapping."""

    item_id: str
    type: ItemType
    key: frozenset[str]
    mapping: ScoreMapping | None = None


@dataclass(frozen=True, slots=True)
class GradedItem:
    """One item of a paper as given: its section score and option order."""

    item_id: str
    type: ItemType
    score: float  # the blueprint's score_each for the item's section
    option_order: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ItemResult:
    item_id: str
    type: ItemType
    response: tuple[str, ...]
    correct: bool
    outcome: Outcome
    score: float
    max_score: float
    option_order: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "item_id": self.item_id,
            "type": self.type.value,
            "response": list(self.response),
            "correct": self.correct,
            "outcome": self.outcome.value,
            "score": self.score,
            "max_score": self.max_score,
            "option_order": list(self.option_order),
        }


@dataclass(frozen=True, slots=True)
class GradeResult:
    items: tuple[ItemResult, ...]
    total: float
    max_total: float
    pass_mark: float
    passed: bool
    counts: Mapping[str, int] = field(default_factory=dict)

    def responses(self) -> list[dict[str, Any]]:
        """Per-item rows as stored in the results table."""
        return [item.to_dict() for item in self.items]


# Both are pure with few distinct inputs (the scores of a bank), and a room submitting
# together grades thousands of items a second: parsing and rounding each time were most
# of the grading's time.
@lru_cache(maxsize=4096)
def _frac(value: float | int) -> Fraction:
    # Via str so that 0.1 means one tenth, as written in the item file.
    return Fraction(str(value))


@lru_cache(maxsize=4096)
def _round(value: Fraction) -> float:
    quantized = (Decimal(value.numerator) / Decimal(value.denominator)).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP
    )
    return float(quantized)


def score_item(item: GradedItem, key: ItemKey, response: Sequence[str]) -> ItemResult:
    """Grade one item's response."""
    if key.item_id != item.item_id:
        raise ValueError(f"key for {key.item_id!r} given for item {item.item_id!r}")
    selected = frozenset(response)
    max_score = _frac(item.score)
    correct = bool(selected) and selected == key.key
    if not selected:
        earned = Fraction(0)
    elif key.mapping is not None:
        full = key.mapping.full_mark()
        earned = Fraction(0) if full <= 0 else key.mapping.raw(selected) / full * max_score
    else:
        earned = max_score if correct else Fraction(0)
    if not selected:
        outcome = Outcome.UNANSWERED
    elif correct:
        outcome = Outcome.CORRECT
    elif earned > 0:
        outcome = Outcome.PARTIAL
    else:
        outcome = Outcome.WRONG
    return ItemResult(
        item_id=item.item_id,
        type=item.type,
        response=tuple(sorted(selected)),
        correct=correct,
        outcome=outcome,
        score=_round(earned),
        max_score=_round(max_score),
        option_order=item.option_order,
    )


def grade(
    items: Sequence[GradedItem],
    keys: Mapping[str, ItemKey],
    responses: Mapping[str, Sequence[str]],
    pass_mark: float,
) -> GradeResult:
    """Grade a whole paper. Responses for items not on the paper are ignored."""
    results = []
    for item in items:
        if item.item_id not in keys:
            raise ValueError(f"no key for item {item.item_id!r}")
        results.append(score_item(item, keys[item.item_id], responses.get(item.item_id, ())))
    total = sum(_frac(r.score) for r in results)
    max_total = sum(_frac(r.max_score) for r in results)
    counts = {outcome.value: 0 for outcome in Outcome}
    for r in results:
        counts[r.outcome.value] += 1
    return GradeResult(
        items=tuple(results),
        total=_round(total),
        max_total=_round(max_total),
        pass_mark=float(pass_mark),
        passed=total >= _frac(pass_mark),
        counts=counts,
    )
