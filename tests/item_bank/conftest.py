"""Helpers shared by the item-bank tests: item builders and a small bank generator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from item_bank.model import Item, Option

DATA = Path(__file__).parent / "data"
QTI = DATA / "qti21"
REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "item_bank" / "samples"


def choice_item(
    item_id: str,
    *,
    kind: str = "single",
    kp: str = "KP1",
    difficulty: int = 1,
    options: int = 4,
    key: tuple[str, ...] = ("A",),
    pinned: tuple[str, ...] = (),
    shuffle: bool = True,
    occupation: str = "electrician",
    level: int = 3,
) -> Item:
    letters = "ABCDEF"[:options]
    return Item(
        id=item_id,
        type=kind,  # type: ignore[arg-type]
        stem=f"题干 {item_id}",
        key=key,
        options=tuple(Option(c, f"选项{c}", pinned=c in pinned) for c in letters),
        occupation=occupation,
        level=level,
        knowledge_point=kp,
        difficulty=difficulty,
        shuffle=shuffle,
    )


def tf_item(item_id: str, *, kp: str = "KP1", difficulty: int = 1, answer: bool = True) -> Item:
    return Item(
        id=item_id,
        type="true_false",
        stem=f"判断 {item_id}",
        key=("true" if answer else "false",),
        occupation="electrician",
        level=3,
        knowledge_point=kp,
        difficulty=difficulty,
    )


def make_bank(per_cell: int, kps: tuple[str, ...] = ("KP1", "KP2")) -> list[Item]:
    """`per_cell` items for every (type, kp, difficulty 1..5)."""
    bank: list[Item] = []
    for kp in kps:
        for difficulty in range(1, 6):
            for n in range(per_cell):
                base = f"{kp}-{difficulty}-{n}"
                bank.append(choice_item(f"s-{base}", kp=kp, difficulty=difficulty))
                bank.append(
                    choice_item(
                        f"m-{base}",
                        kind="multiple",
                        kp=kp,
                        difficulty=difficulty,
                        options=5,
                        key=("A", "C"),
                        pinned=("E",),
                    )
                )
                bank.append(tf_item(f"t-{base}", kp=kp, difficulty=difficulty))
    return bank


def blueprint_doc(**overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "format": "cbt-blueprint/1",
        "id": "bp-test",
        "title": "测试试卷",
        "occupation": "electrician",
        "level": 3,
        "duration_minutes": 60,
        "total_score": 10,
        "sections": [
            {
                "type": "single",
                "title": "单项选择题",
                "score_each": 1,
                "cells": [
                    {"knowledge_point": "KP1", "difficulty": "easy", "count": 2},
                    {"knowledge_point": "KP2", "difficulty": "hard", "count": 2},
                ],
            },
            {
                "type": "multiple",
                "title": "多项选择题",
                "score_each": 2,
                "cells": [{"knowledge_point": "KP1", "difficulty": "medium", "count": 1}],
            },
            {
                "type": "true_false",
                "title": "判断题",
                "score_each": 1,
                "cells": [{"knowledge_point": "KP2", "difficulty": "easy", "count": 4}],
            },
        ],
    }
    doc.update(overrides)
    return doc


@pytest.fixture
def write(tmp_path: Path) -> Any:
    def write_file(name: str, content: str | bytes) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path

    return write_file
