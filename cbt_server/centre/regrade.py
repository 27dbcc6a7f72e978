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

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from cbt_server.exam.grading import GradedItem, ItemKey, score_item

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


ItemScores = dict[tuple[str, tuple[str, ...], str], tuple[str, int, int]]
"""Cache of item scores: (item id, sorted response, points) -> (score with two places,
score in hundredths, points in hundredths)."""


def _cents(text: str) -> int:
    """Two-place decimal text as an exact number of hundredths."""
    whole, _, part = text.partition(".")
    sign = -1 if whole.startswith("-") else 1
    return sign * (abs(int(whole or "0")) * 100 + int((part + "00")[:2]))


def regrade(
    document: Mapping[str, Any], keys: Mapping[str, ItemKey], cache: ItemScores | None = None
) -> Regrade:
    """The centre's verdict on one verified result document (see the module docstring).

    Each item is scored by `exam.grading.score_item`, the site's own rule; the total is
    the sum of the rounded item scores and passed means total >= pass mark, as in
    `exam.grading.grade`, summed here in exact hundredths. A room answers the same
    items the same few ways, so item scores are kept in `cache` (pass one per process
    and item bank; the scores depend only on the key, the response and the points).
    """
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
    cache = {} if cache is None else cache
    differences = []
    total = top = 0
    try:
        for entry in responses:
            item_id, points = entry["item_id"], entry.get("max_score")
            answer = tuple(sorted(entry.get("response") or ()))
            slot = (item_id, answer, points)
            known = cache.get(slot)
            if known is None:
                key = keys[item_id]
                item = GradedItem(item_id, key.type, _as_float(points, "max_score"))
                text = two_places(score_item(item, key, answer).score)
                known = cache[slot] = (text, _cents(text), _cents(points))
            score, cents, point_cents = known
            total += cents
            top += point_cents
            if entry.get("score") != score:
                differences.append(f"item {item_id}: site {entry.get('score')}, centre {score}")
        pass_mark = (
            _cents(document["pass_mark"]) if isinstance(document.get("pass_mark"), str) else None
        )
        if pass_mark is None:
            raise ValueError("pass_mark is not a decimal string")
    except (ValueError, TypeError, KeyError) as exc:
        return Regrade(MISMATCH, None, f"cannot re-grade: {exc}")
    centre_total, centre_top = f"{total / 100:.2f}", f"{top / 100:.2f}"
    if document.get("score") != centre_total:
        differences.insert(0, f"score: site {document.get('score')}, centre {centre_total}")
    if document.get("max_score") != centre_top:
        differences.append(f"max_score: site {document.get('max_score')}, centre {centre_top}")
    passed = total >= pass_mark
    if document.get("passed") is not passed:
        differences.append(f"passed: site {document.get('passed')}, centre {passed}")
    if differences:
        more = f" (and {len(differences) - 4} more)" if len(differences) > 4 else ""
        return Regrade(MISMATCH, centre_total, "; ".join(differences[:4]) + more)
    return Regrade(OK, centre_total)


def exam_date(document: Mapping[str, Any]) -> date:
    """The exam's date (China time) from the result's `submitted_at`; ValueError if bad."""
    text = document.get("submitted_at")
    if not isinstance(text, str):
        raise ValueError("submitted_at is missing")
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(CHINA).date()
