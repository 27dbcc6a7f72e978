"""A generated selection of results with the awkward cases issue 23 names: ties at the
27 % boundary, items seen by fewer than 10, zero-variance items, partial-credit multiple
choice, omitted answers, a distractor nobody chooses and papers of two lengths."""

from __future__ import annotations

import random
from typing import Any

from cbt_server.stats.compute import BankItem

LABELS = ("A", "B", "C", "D")


def bank() -> dict[str, BankItem]:
    items = {f"s{i:02d}": BankItem("single", LABELS) for i in range(30)}
    items.update({f"m{i:02d}": BankItem("multiple", ("A", "B", "C", "D", "E")) for i in range(8)})
    items.update({f"t{i:02d}": BankItem("true_false", ("true", "false")) for i in range(6)})
    items["rare"] = BankItem("single", LABELS)  # seen by fewer than 10
    items["easy"] = BankItem("single", LABELS)  # everyone right: zero variance
    items["dead"] = BankItem("true_false", ("true", "false"))  # everyone wrong
    return items


def _row(item_id: str, response: list[str], score: float, worth: float) -> dict[str, Any]:
    return {
        "item_id": item_id,
        "response": response,
        "correct": score == worth,
        "score": f"{score:.2f}",
        "max_score": f"{worth:.2f}",
    }


def _answer(rng: random.Random, item_id: str, ability: float) -> dict[str, Any]:
    if item_id == "easy":
        return _row(item_id, ["A"], 1.0, 1.0)
    if item_id == "dead":
        return _row(item_id, ["false"], 0.0, 1.0)
    right = rng.random() < ability
    if item_id.startswith("m"):  # key A+C, 2 points; one of them right: 1 point
        if right:
            return _row(item_id, ["A", "C"], 2.0, 2.0)
        half = rng.random() < 0.5
        return _row(item_id, ["A"] if half else ["B", "E"], 1.0 if half else 0.0, 2.0)
    if item_id.startswith("t"):
        return _row(item_id, ["true" if right else "false"], float(right), 1.0)
    if right:
        return _row(item_id, ["A"], 1.0, 1.0)
    if rng.random() < 0.15:
        return _row(item_id, [], 0.0, 1.0)  # omitted
    return _row(item_id, [rng.choice(("B", "C"))], 0.0, 1.0)  # D: nobody chooses it


def documents(count: int = 160, seed: int = 23) -> list[dict[str, Any]]:
    """Result documents (published form); totals are coarse so ties are many."""
    rng = random.Random(seed)
    pool = [i for i in bank() if i not in ("rare", "easy", "dead")]
    out = []
    for c in range(count):
        ability = rng.choice((0.2, 0.5, 0.5, 0.8))
        length = 12 if c % 5 else 10  # two paper lengths; 12 the most common
        paper = rng.sample(pool, length - 2) + ["easy", "dead"]
        rng.shuffle(paper)
        if c % 23 == 0:
            paper[0] = "rare"
        rows = [_answer(rng, item_id, ability) for item_id in paper]
        total = sum(float(r["score"]) for r in rows)
        out.append(
            {
                # tickets not in candidate order, so the tie-break is by ticket, not by row
                "ticket": f"T{(c * 37) % count:05d}",
                "score": f"{total:.2f}",
                "passed": total >= 8,
                "responses": rows,
            }
        )
    return out
