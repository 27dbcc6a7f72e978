"""The item bank's data: items (试题), blueprints (组卷方案) and assembled papers (试卷).

Plain frozen dataclasses with no I/O, at the bottom of the package: this module imports
nothing else from item_bank. Items and blueprints come from importers and
`item_bank.parse.item_from_dict` / `item_bank.blueprint.blueprint_from_dict` (the checks
live there, above this module); papers come from `item_bank.assembly`. Every `to_dict()`
returns plain JSON-able data that the matching reader reads back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

ItemType = Literal["single", "multiple", "true_false"]
ITEM_TYPES: tuple[ItemType, ...] = ("single", "multiple", "true_false")
TYPE_NAMES_ZH: dict[str, str] = {"single": "单选题", "multiple": "多选题", "true_false": "判断题"}
TRUE_FALSE_KEYS = ("true", "false")

DEFAULT_BANDS: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("easy", (1, 2)),
    ("medium", (3,)),
    ("hard", (4, 5)),
)


class FormatError(ValueError):
    """A dict handed to a `from_dict` reader does not have the documented shape."""

    @classmethod
    def from_problems(cls, problems: list[tuple[str, str]]) -> FormatError:
        """One error naming every (field, reason) a checker found."""
        return cls("; ".join(f"{field}: {reason}" for field, reason in problems))


@dataclass(frozen=True, slots=True)
class SourceRef:
    """Where an item came from: a file (as given to the importer) and a place in it."""

    file: str
    location: str = ""

    def __str__(self) -> str:
        return f"{self.file}: {self.location}" if self.location else self.file


@dataclass(frozen=True, slots=True)
class ImageRef:
    """An image shown with a stem or an option.

    `src` is a `data:image/...;base64,` URI once the importer found the file, otherwise
    the relative path as written in the source (the file was not available).
    """

    src: str
    alt: str = ""

    @property
    def embedded(self) -> bool:
        return self.src.startswith("data:")


@dataclass(frozen=True, slots=True)
class Option:
    """One answer option. `pinned` options keep their position when options are shuffled."""

    id: str
    text: str
    image: ImageRef | None = None
    pinned: bool = False


@dataclass(frozen=True, slots=True)
class ScoreMapping:
    """QTI-style partial credit: the value of each selected option, then clamped.

    Grading (in the server) sums `entries[option]` (or `default` for an option not listed)
    over the selected options and clamps the sum to `[lower_bound, upper_bound]`.
    """

    entries: tuple[tuple[str, float], ...]
    default: float = 0.0
    lower_bound: float | None = None
    upper_bound: float | None = None

    def value(self, option_id: str) -> float:
        for key, mapped in self.entries:
            if key == option_id:
                return mapped
        return self.default

    def to_dict(self) -> dict[str, Any]:
        return {
            "default": self.default,
            "lower_bound": self.lower_bound,
            "upper_bound": self.upper_bound,
            "entries": dict(self.entries),
        }


@dataclass(frozen=True, slots=True)
class Item:
    """One theory item (试题).

    `occupation`, `level`, `knowledge_point` and `difficulty` are None only for items from
    formats that do not carry them (QTI, spreadsheets without those columns); such items
    validate but are never drawn into a paper. `key` holds option ids; for true/false
    items it is ("true",) or ("false",) and `options` is empty.
    """

    id: str
    type: ItemType
    stem: str
    key: tuple[str, ...]
    options: tuple[Option, ...] = ()
    occupation: str | None = None
    level: int | None = None
    knowledge_point: str | None = None
    knowledge_point_name: str | None = None
    difficulty: int | None = None
    score: float = 1.0
    shuffle: bool = True
    mapping: ScoreMapping | None = None
    explanation: str | None = None
    images: tuple[ImageRef, ...] = ()
    source: SourceRef | None = None

    @property
    def option_ids(self) -> tuple[str, ...]:
        return tuple(option.id for option in self.options)

    def to_dict(self) -> dict[str, Any]:
        """The self-contained JSON form (the native item fields plus classification)."""
        data: dict[str, Any] = {
            "id": self.id,
            "type": self.type,
            "occupation": self.occupation,
            "level": self.level,
            "knowledge_point": self.knowledge_point,
            "knowledge_point_name": self.knowledge_point_name,
            "difficulty": self.difficulty,
            "score": self.score,
            "stem": self.stem,
            "images": [_image_to_dict(image) for image in self.images],
            "options": [_option_to_dict(option) for option in self.options],
            "key": list(self.key),
            "shuffle": self.shuffle,
            "mapping": self.mapping.to_dict() if self.mapping else None,
            "explanation": self.explanation,
            "source": (
                {"file": self.source.file, "location": self.source.location}
                if self.source
                else None
            ),
        }
        return data


def _image_to_dict(image: ImageRef) -> dict[str, str]:
    return {"src": image.src, "alt": image.alt}


def _option_to_dict(option: Option) -> dict[str, Any]:
    data: dict[str, Any] = {"id": option.id, "text": option.text}
    if option.image is not None:
        data["image"] = _image_to_dict(option.image)
    if option.pinned:
        data["pinned"] = True
    return data


# --- blueprints -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Cell:
    """Draw `count` items of the section's type from one knowledge point and band."""

    knowledge_point: str
    difficulty: str
    count: int


@dataclass(frozen=True, slots=True)
class Section:
    """A paper section (大题): one item type, a score per item, and its cells."""

    type: ItemType
    title: str
    score_each: float
    cells: tuple[Cell, ...]

    @property
    def count(self) -> int:
        return sum(cell.count for cell in self.cells)


@dataclass(frozen=True, slots=True)
class Blueprint:
    """组卷方案: how many items of each type, knowledge point and difficulty band."""

    id: str
    title: str
    occupation: str
    level: int
    duration_minutes: int
    pass_mark: float
    total_score: float
    sections: tuple[Section, ...]
    difficulty_bands: tuple[tuple[str, tuple[int, ...]], ...] = DEFAULT_BANDS

    def band_levels(self, band: str) -> tuple[int, ...]:
        for name, levels in self.difficulty_bands:
            if name == band:
                return levels
        raise KeyError(band)

    @property
    def item_count(self) -> int:
        return sum(section.count for section in self.sections)

    def to_dict(self) -> dict[str, Any]:
        """The blueprint file form (`format: cbt-blueprint/1`)."""
        return {
            "format": "cbt-blueprint/1",
            "id": self.id,
            "title": self.title,
            "occupation": self.occupation,
            "level": self.level,
            "duration_minutes": self.duration_minutes,
            "pass_mark": self.pass_mark,
            "total_score": self.total_score,
            "difficulty_bands": {name: list(levels) for name, levels in self.difficulty_bands},
            "sections": [
                {
                    "type": section.type,
                    "title": section.title,
                    "score_each": section.score_each,
                    "cells": [
                        {
                            "knowledge_point": cell.knowledge_point,
                            "difficulty": cell.difficulty,
                            "count": cell.count,
                        }
                        for cell in section.cells
                    ],
                }
                for section in self.sections
            ],
        }


# --- papers -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PaperItem:
    """One item on a candidate's paper and its options in display order."""

    item_id: str
    option_order: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PaperSection:
    type: ItemType
    title: str
    score_each: float
    items: tuple[PaperItem, ...]


@dataclass(frozen=True, slots=True)
class Paper:
    """试卷: the items of one candidate's paper, in display order, per section."""

    paper_id: str
    blueprint_id: str
    seed: str
    sections: tuple[PaperSection, ...]

    @property
    def item_ids(self) -> tuple[str, ...]:
        return tuple(item.item_id for section in self.sections for item in section.items)

    def to_dict(self) -> dict[str, Any]:
        return {
            "paper_id": self.paper_id,
            "blueprint_id": self.blueprint_id,
            "seed": self.seed,
            "sections": [
                {
                    "type": section.type,
                    "title": section.title,
                    "score_each": section.score_each,
                    "items": [
                        {"item_id": item.item_id, "option_order": list(item.option_order)}
                        for item in section.items
                    ],
                }
                for section in self.sections
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Paper:
        """Read `to_dict()` output back; raises `FormatError` on any deviation."""
        try:
            sections = tuple(_section_from_dict(s) for s in _list(data, "sections"))
            return cls(
                paper_id=_str(data, "paper_id"),
                blueprint_id=_str(data, "blueprint_id"),
                seed=_str(data, "seed"),
                sections=sections,
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise FormatError(f"not a paper document: {exc}") from None


def _section_from_dict(data: Mapping[str, Any]) -> PaperSection:
    kind = _str(data, "type")
    if kind not in ITEM_TYPES:
        raise FormatError(f"unknown section type {kind!r}")
    score = data["score_each"]
    if isinstance(score, bool) or not isinstance(score, int | float):
        raise FormatError("score_each must be a number")
    items = []
    for raw in _list(data, "items"):
        order = _list(raw, "option_order")
        if not all(isinstance(option, str) for option in order):
            raise FormatError("option_order must list option ids")
        items.append(PaperItem(item_id=_str(raw, "item_id"), option_order=tuple(order)))
    return PaperSection(
        type=kind,
        title=_str(data, "title"),
        score_each=float(score),
        items=tuple(items),
    )


def _str(data: Mapping[str, Any], name: str) -> str:
    value = data[name]
    if not isinstance(value, str):
        raise FormatError(f"{name} must be a string")
    return value


def _list(data: Mapping[str, Any], name: str) -> list[Any]:
    value = data[name]
    if not isinstance(value, list):
        raise FormatError(f"{name} must be a list")
    return value
