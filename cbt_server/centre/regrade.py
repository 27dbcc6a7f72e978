"""Re-grade a signed result from its responses with the centre's own answer key. Pure.

A site's signature proves who wrote a result, not that its score is right: a site whose
key is genuine could still sign a wrong score (a bug, a bad key file, a hand edit
re-signed). So the centre grades every result again with `exam.grading`, the same rules
the site uses, and its own copy of the item bank. Each item's points are the result's
own `max_score` for it (what the signature covers); the answer key is the centre's.

A result agrees (`ok`) when every item's score, the total, the maximum and `passed` come
out as the site signed them. Anything else is a `mismatch` with a reason naming what
differs; an item the centre's bank does not hold cannot be re-graded and is a mismatch
too, never a silent pass.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from cbt_server.exam.grading import GradedItem, ItemKey, grade

OK = "ok"
MISMATCH = "mismatch"
CHINA = timezone(timedelta(hours=8))
"""Exam dates are the date in China Standard Time (an exam at 09:00 is 01:00 UTC)."""


@dataclass(frozen=True, slots=True)
class Regrade:
    status: str  # OK or MISMATCH
    centre_score: str | None  # None when the result could not be re-graded at all
    reason: str = ""


def two_places(value: float) -> str:
    return f"{value:.2f}"


def _as_float(value: Any, name: str) -> float:
    if not isinstance(value, str):
        raise ValueError(f"{name} is not a decimal string")
    return float(value)


def regrade(document: Mapping[str, Any], keys: Mapping[str, ItemKey]) -> Regrade:
    """The centre's verdict on one verified result document (see the module docstring)."""
    responses = document.get("responses")
    if not isinstance(responses, list) or not responses:
        return Regrade(MISMATCH, None, "the result has no responses to re-grade")
    missing = [str(e.get("item_id")) for e in responses if e.get("item_id") not in keys]
    if missing:
        shown = ", ".join(missing[:5]) + (" …" if len(missing) > 5 else "")
        return Regrade(
            MISMATCH,
            None,
            f"{len(missing)} item(s) not in the centre's item bank, cannot re-grade: {shown}",
        )
    try:
        items = [
            GradedItem(
                item_id=e["item_id"],
                type=keys[e["item_id"]].type,
                score=_as_float(e.get("max_score"), "max_score"),
            )
            for e in responses
        ]
        answers: dict[str, Sequence[str]] = {
            e["item_id"]: e.get("response") or () for e in responses
        }
        outcome = grade(items, keys, answers, _as_float(document.get("pass_mark"), "pass_mark"))
    except (ValueError, TypeError, KeyError) as exc:
        return Regrade(MISMATCH, None, f"cannot re-grade: {exc}")
    differences = []
    for entry, item in zip(responses, outcome.items, strict=True):
        if entry.get("score") != two_places(item.score):
            differences.append(
                f"item {item.item_id}: site {entry.get('score')}, centre {two_places(item.score)}"
            )
    total = two_places(outcome.total)
    if document.get("score") != total:
        differences.insert(0, f"score: site {document.get('score')}, centre {total}")
    if document.get("max_score") != two_places(outcome.max_total):
        differences.append(
            f"max_score: site {document.get('max_score')}, centre {two_places(outcome.max_total)}"
        )
    if document.get("passed") is not outcome.passed:
        differences.append(f"passed: site {document.get('passed')}, centre {outcome.passed}")
    if differences:
        more = f" (and {len(differences) - 4} more)" if len(differences) > 4 else ""
        return Regrade(MISMATCH, total, "; ".join(differences[:4]) + more)
    return Regrade(OK, total)


def exam_date(document: Mapping[str, Any]) -> date:
    """The exam's date (China time) from the result's `submitted_at`; ValueError if bad."""
    text = document.get("submitted_at")
    if not isinstance(text, str):
        raise ValueError("submitted_at is missing")
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(CHINA).date()
