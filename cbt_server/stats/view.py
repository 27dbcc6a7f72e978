"""The item analysis page's rows: figures, item text and option shares, sorted (pure).

Default order: flagged items first (most flags first), then by item id. A column sort
puts undefined figures last whichever the direction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cbt_server.stats.scatter import Point
from item_bank.model import TYPE_NAMES_ZH, Item

SORT_KEYS = (
    "flags",
    "item_id",
    "n",
    "facility",
    "sd",
    "discrimination_index",
    "point_biserial",
    "omitted",
)
FLAG_NAMES = {
    "too_easy": "过易 too easy",
    "too_hard": "过难 too hard",
    "low_discrimination": "区分度低 low discrimination",
    "negative_discrimination": "区分度为负 negative discrimination",
}
TRUE_FALSE_TEXT = {"true": "正确 True", "false": "错误 False"}


@dataclass(frozen=True, slots=True)
class OptionRow:
    label: str
    text: str
    share: float
    is_key: bool

    @property
    def unchosen(self) -> bool:
        return self.share == 0


@dataclass(frozen=True, slots=True)
class AnalysisRow:
    item_id: str
    figures: dict[str, Any]
    type_name: str
    stem: str
    options: list[OptionRow]
    flag_names: list[str]


def _option_rows(figures: Mapping[str, Any], item: Item | None) -> list[OptionRow]:
    texts = {o.id: o.text for o in item.options} if item else {}
    if item is not None and item.type == "true_false":
        texts = dict(TRUE_FALSE_TEXT)
    key = set(item.key) if item else set()
    return [
        OptionRow(label, texts.get(label, ""), share, label in key)
        for label, share in figures["options"].items()
    ]


def item_rows(
    answer: Mapping[str, Any],
    items: Mapping[str, Item],
    sort: str = "flags",
    descending: bool = False,
) -> list[AnalysisRow]:
    """One row per item of the answer, in the asked order (unknown sort: the default).
    An item not in `items` has no text (not in the bank, or not to be shown yet)."""
    rows = []
    for item_id, figures in answer["items"].items():
        item = items.get(item_id)
        kind = figures["type"]
        rows.append(
            AnalysisRow(
                item_id=item_id,
                figures=figures,
                type_name=TYPE_NAMES_ZH.get(kind, "—") if kind else "—",
                stem=item.stem if item else "",
                options=_option_rows(figures, item),
                flag_names=[FLAG_NAMES[f] for f in figures["flags"]],
            )
        )
    if sort not in SORT_KEYS or sort == "flags":
        rows.sort(key=lambda r: (-len(r.figures["flags"]), r.item_id))
        return rows
    if sort == "item_id":
        return sorted(rows, key=lambda r: r.item_id, reverse=descending)
    known = [r for r in rows if r.figures[sort] is not None]
    unknown = [r for r in rows if r.figures[sort] is None]
    known.sort(key=lambda r: (r.figures[sort], r.item_id), reverse=descending)
    return known + sorted(unknown, key=lambda r: r.item_id)


def scatter_points(answer: Mapping[str, Any]) -> tuple[list[Point], int]:
    """The items with a discrimination index as points, and how many have none."""
    points = [
        Point(item_id, f["facility"], f["discrimination_index"], bool(f["flags"]))
        for item_id, f in answer["items"].items()
        if f["discrimination_index"] is not None
    ]
    return points, len(answer["items"]) - len(points)
