"""Blueprint (组卷方案) files: load, check every rule, and report each problem with its line.

A blueprint says, per section (one item type), how many items to draw from each
(knowledge point, difficulty band) cell and what each is worth; see docs/item-format.md.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeGuard, TypeVar, cast

from item_bank.model import (
    DEFAULT_BANDS,
    ITEM_TYPES,
    TYPE_NAMES_ZH,
    Blueprint,
    Cell,
    FormatError,
    ItemType,
    Section,
)
from item_bank.validate import ITEM_ID, KNOWLEDGE_POINT, Fail, level_field, occupation_field
from item_bank.yamlfile import YamlError, line_of, load_yaml

FORMAT = "cbt-blueprint/1"
DEFAULT_PASS_FRACTION = 0.6
MAX_BLUEPRINT_BYTES = 1024 * 1024
TOP_FIELDS = frozenset(
    {
        "format",
        "id",
        "title",
        "occupation",
        "level",
        "duration_minutes",
        "pass_mark",
        "total_score",
        "difficulty_bands",
        "sections",
    }
)
SECTION_FIELDS = frozenset({"type", "title", "score_each", "cells"})
CELL_FIELDS = frozenset({"knowledge_point", "difficulty", "count"})

Problem = tuple[str, str]
_T = TypeVar("_T")


class BlueprintError(ValueError):
    """A blueprint file that cannot be used; `problems` lists (location, reason)."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        lines = [
            f"{source}: {where}: {why}" if where else f"{source}: {why}" for where, why in problems
        ]
        super().__init__("\n".join(lines))


def load_blueprint(path: str | Path) -> Blueprint:
    """Read and check a blueprint file (YAML, or JSON by suffix); raise `BlueprintError`."""
    path = Path(path)
    source = str(path)
    try:
        if path.stat().st_size > MAX_BLUEPRINT_BYTES:
            raise BlueprintError(source, [("", f"larger than {MAX_BLUEPRINT_BYTES} bytes")])
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise BlueprintError(source, [("", f"cannot read file: {exc.strerror or exc}")]) from None
    except UnicodeDecodeError:
        raise BlueprintError(source, [("", "file is not UTF-8 text")]) from None
    try:
        document = json.loads(text) if path.suffix.lower() == ".json" else load_yaml(text)
    except YamlError as exc:
        raise BlueprintError(source, [(f"line {exc.line}" if exc.line else "", str(exc))]) from None
    except json.JSONDecodeError as exc:
        raise BlueprintError(source, [(f"line {exc.lineno}", f"invalid JSON: {exc.msg}")]) from None
    blueprint, problems = parse_blueprint(document)
    if blueprint is None:
        raise BlueprintError(source, problems)
    return blueprint


def blueprint_from_dict(data: Mapping[str, Any]) -> Blueprint:
    """Read a blueprint document (`Blueprint.to_dict()` output); raises `FormatError`."""
    blueprint, problems = parse_blueprint(data)
    if blueprint is None:
        raise FormatError.from_problems(problems)
    return blueprint


def parse_blueprint(document: Any) -> tuple[Blueprint | None, list[Problem]]:
    """Check a loaded blueprint document; return it, or None and every problem."""
    problems: list[Problem] = []

    def fail(where: str, reason: str) -> None:
        problems.append((where, reason))

    if not isinstance(document, Mapping):
        return None, [("", f"expected a mapping with format: {FORMAT}")]
    if document.get("format") != FORMAT:
        return None, [("field format", f"must be {FORMAT!r}, not {document.get('format')!r}")]
    _known_fields(document, TOP_FIELDS, "", fail)
    blueprint_id = document.get("id")
    if not isinstance(blueprint_id, str) or not ITEM_ID.match(blueprint_id):
        fail("field id", "is required: letters, digits, _ . : - (at most 128)")
    title = document.get("title")
    if not isinstance(title, str) or not title.strip():
        fail("field title", "is required text")
    occupation = occupation_field(document.get("occupation"), fail)
    level = level_field(document.get("level"), fail)
    duration = document.get("duration_minutes")
    if not _is_int(duration) or not 1 <= duration <= 600:
        fail("field duration_minutes", "must be a whole number of minutes, 1..600")
    bands = _bands(document.get("difficulty_bands"), fail)
    sections = _sections(document.get("sections"), bands, fail)
    total = document.get("total_score")
    if not _is_number(total) or total <= 0:
        fail("field total_score", "must be a positive number")
        total = None
    elif sections is not None:
        drawn = sum(section.count * section.score_each for section in sections)
        if not math.isclose(drawn, total, abs_tol=1e-9):
            fail(
                "field total_score",
                f"is {total:g} but the sections add up to {drawn:g} (count × score_each)",
            )
    pass_mark = document.get("pass_mark")
    if pass_mark is None and total is not None:
        pass_mark = total * DEFAULT_PASS_FRACTION
    elif not _is_number(pass_mark) or pass_mark <= 0 or (total is not None and pass_mark > total):
        fail("field pass_mark", "must be a positive number no greater than total_score")
    if problems:
        return None, problems
    return (
        Blueprint(
            id=cast(str, blueprint_id),
            title=cast(str, title).strip(),
            occupation=cast(str, occupation),
            level=cast(int, level),
            duration_minutes=cast(int, duration),
            pass_mark=float(cast(float, pass_mark)),
            total_score=float(cast(float, total)),
            sections=tuple(sections or ()),
            difficulty_bands=bands,
        ),
        [],
    )


def _known_fields(raw: Mapping[str, Any], allowed: frozenset[str], where: str, fail: Fail) -> bool:
    """Report every field of `raw` outside `allowed`; True when there is none."""
    ok = True
    for name in raw:
        if name not in allowed:
            fail(f"{where}, field {name}" if where else f"field {name}", "unknown field")
            ok = False
    return ok


def _all_or_none(value: list[Any], read: Callable[[int, Any], _T | None]) -> list[_T] | None:
    """Read every entry (each failure is reported by `read`); None if any failed."""
    found: list[_T] = []
    all_ok = True
    for index, raw in enumerate(value):
        entry = read(index, raw)
        if entry is None:
            all_ok = False
        else:
            found.append(entry)
    return found if all_ok else None


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _bands(value: Any, fail: Any) -> tuple[tuple[str, tuple[int, ...]], ...]:
    if value is None:
        return DEFAULT_BANDS
    if not isinstance(value, Mapping) or not value:
        fail("field difficulty_bands", "must map band names to difficulty lists")
        return DEFAULT_BANDS
    bands: list[tuple[str, tuple[int, ...]]] = []
    owner: dict[int, str] = {}
    for name, levels in value.items():
        where = f"field difficulty_bands.{name}"
        if not isinstance(name, str) or not KNOWLEDGE_POINT.match(name):
            fail(where, "a band name is a word such as easy")
            continue
        if (
            not isinstance(levels, list)
            or not levels
            or not all(_is_int(level) and 1 <= level <= 5 for level in levels)
        ):
            fail(where, "must be a non-empty list of difficulties 1..5, e.g. [1, 2]")
            continue
        for level in levels:
            if level in owner:
                fail(where, f"difficulty {level} is already in band {owner[level]!r}")
            owner[level] = name
        bands.append((name, tuple(sorted(set(levels)))))
    return tuple(bands)


def _sections(
    value: Any, bands: tuple[tuple[str, tuple[int, ...]], ...], fail: Any
) -> list[Section] | None:
    if not isinstance(value, list) or not value:
        fail("field sections", "must be a non-empty list")
        return None
    band_names = {name for name, _ in bands}
    seen_types: set[str] = set()
    return _all_or_none(
        value,
        lambda index, raw: _section(
            raw, _at(raw, f"sections[{index}]"), band_names, seen_types, fail
        ),
    )


def _section(
    raw: Any, where: str, band_names: set[str], seen_types: set[str], fail: Any
) -> Section | None:
    if not isinstance(raw, Mapping):
        fail(where, "a section is a mapping {type, title, score_each, cells}")
        return None
    ok = _known_fields(raw, SECTION_FIELDS, where, fail)
    kind = raw.get("type")
    if kind not in ITEM_TYPES:
        fail(f"{where}, field type", f"must be one of {', '.join(ITEM_TYPES)}")
        ok = False
    elif kind in seen_types:
        fail(f"{where}, field type", f"a section of type {kind} already exists")
        ok = False
    else:
        seen_types.add(kind)
    title = raw.get("title", TYPE_NAMES_ZH.get(str(kind), ""))
    if not isinstance(title, str) or not title.strip():
        fail(f"{where}, field title", "must be text")
        ok = False
    score = raw.get("score_each")
    if not _is_number(score) or score <= 0:
        fail(f"{where}, field score_each", "must be a positive number")
        ok = False
    cells = _cells(raw.get("cells"), where, band_names, fail)
    if cells is None or not ok or not _is_number(score):
        return None
    return Section(
        type=cast(ItemType, kind),
        title=title.strip(),
        score_each=float(score),
        cells=tuple(cells),
    )


def _cells(value: Any, section: str, band_names: set[str], fail: Any) -> list[Cell] | None:
    if not isinstance(value, list) or not value:
        fail(f"{section}, field cells", "must be a non-empty list")
        return None
    seen: dict[tuple[str, str], str] = {}
    return _all_or_none(
        value,
        lambda index, raw: _cell(
            raw, f"{section}, {_at(raw, f'cells[{index}]')}", band_names, seen, fail
        ),
    )


def _cell(
    raw: Any, where: str, band_names: set[str], seen: dict[tuple[str, str], str], fail: Any
) -> Cell | None:
    if not isinstance(raw, Mapping):
        fail(where, "a cell is {knowledge_point, difficulty, count}")
        return None
    ok = _known_fields(raw, CELL_FIELDS, where, fail)
    point = raw.get("knowledge_point")
    if not isinstance(point, str) or not KNOWLEDGE_POINT.match(point):
        fail(f"{where}, field knowledge_point", "must be a knowledge-point code (quote it)")
        ok = False
    band = raw.get("difficulty")
    if band not in band_names:
        fail(
            f"{where}, field difficulty",
            f"{band!r} is not a difficulty band ({', '.join(sorted(band_names))})",
        )
        ok = False
    count = raw.get("count")
    if not _is_int(count) or count < 1:
        fail(f"{where}, field count", "must be a whole number of at least 1")
        ok = False
    if not ok:
        return None
    key = (cast(str, point), cast(str, band))
    if key in seen:
        fail(where, f"the cell {point}/{band} is already given at {seen[key]}")
        return None
    seen[key] = where
    return Cell(knowledge_point=key[0], difficulty=key[1], count=cast(int, count))


def _at(raw: Any, label: str) -> str:
    line = line_of(raw)
    return f"line {line}, {label}" if line else label
