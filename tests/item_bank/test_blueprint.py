"""Blueprint files: every rule checked, every problem named with its place."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from item_bank.blueprint import (
    BlueprintError,
    blueprint_from_dict,
    load_blueprint,
    parse_blueprint,
)
from item_bank.model import FormatError

from .conftest import blueprint_doc


def test_good_blueprint_loads_with_defaults(write: Any) -> None:
    path = write("bp.yaml", yaml.safe_dump(blueprint_doc(), allow_unicode=True))
    blueprint = load_blueprint(path)
    assert blueprint.id == "bp-test" and blueprint.occupation == "electrician"
    assert blueprint.pass_mark == 6.0  # 60 % of total_score when not given
    assert blueprint.item_count == 9
    assert [s.type for s in blueprint.sections] == ["single", "multiple", "true_false"]
    assert blueprint.band_levels("easy") == (1, 2)
    assert blueprint_from_dict(json.loads(json.dumps(blueprint.to_dict()))) == blueprint


def test_occupation_and_level_by_chinese_name(write: Any) -> None:
    doc = blueprint_doc(occupation="电工", level="高级", pass_mark=5)
    blueprint = load_blueprint(write("bp.yaml", yaml.safe_dump(doc, allow_unicode=True)))
    assert (blueprint.occupation, blueprint.level, blueprint.pass_mark) == ("electrician", 3, 5)


def test_json_blueprint(write: Any) -> None:
    blueprint = load_blueprint(write("bp.json", json.dumps(blueprint_doc())))
    assert blueprint.total_score == 10


def problems_of(doc: dict[str, Any]) -> list[tuple[str, str]]:
    blueprint, problems = parse_blueprint(doc)
    assert blueprint is None
    return problems


def test_total_score_must_add_up() -> None:
    (problem,) = problems_of(blueprint_doc(total_score=100))
    assert problem[0] == "field total_score" and "add up to 10" in problem[1]


@pytest.mark.parametrize(
    ("change", "where", "reason"),
    [
        ({"occupation": "厨师"}, "field occupation", "unknown occupation"),
        ({"level": 7}, "field level", "unknown level"),
        ({"duration_minutes": 0}, "field duration_minutes", "1..600"),
        ({"pass_mark": 11}, "field pass_mark", "no greater than total_score"),
        ({"id": "has space"}, "field id", "letters"),
        ({"extra": 1}, "field extra", "unknown field"),
        ({"difficulty_bands": {"easy": [1, 2], "hard": [2, 3, 4, 5]}}, "difficulty_bands.hard",
         "already in band 'easy'"),
    ],
)  # fmt: skip
def test_top_level_rules(change: dict[str, Any], where: str, reason: str) -> None:
    problems = problems_of(blueprint_doc(**change))
    assert any(where in w and reason in r for w, r in problems), problems


def test_section_and_cell_rules_are_all_reported() -> None:
    doc = blueprint_doc()
    doc["sections"][0]["cells"][1]["difficulty"] = "extreme"
    doc["sections"][1]["cells"][0]["count"] = 0
    doc["sections"][2]["type"] = "single"
    problems = problems_of(doc)
    text = " | ".join(f"{w}: {r}" for w, r in problems)
    assert "sections[0], cells[1], field difficulty: 'extreme' is not a difficulty band" in text
    assert "sections[1], cells[0], field count" in text
    assert "sections[2], field type: a section of type single already exists" in text


def test_duplicate_cell_is_an_error() -> None:
    doc = blueprint_doc()
    doc["sections"][0]["cells"].append({"knowledge_point": "KP1", "difficulty": "easy", "count": 1})
    assert any("already given" in r for _, r in problems_of(doc))


def test_errors_carry_yaml_lines(write: Any) -> None:
    doc = blueprint_doc()
    doc["sections"][1]["cells"][0]["count"] = "three"
    path = write("bp.yaml", yaml.safe_dump(doc, allow_unicode=True, sort_keys=False))
    with pytest.raises(BlueprintError) as caught:
        load_blueprint(path)
    (where, reason) = caught.value.problems[0]
    assert where.startswith("line ") and "cells[0]" in where and "count" in where
    assert str(path) in str(caught.value)


def test_unreadable_and_wrong_files(write: Any, tmp_path: Path) -> None:
    with pytest.raises(BlueprintError, match="cannot read"):
        load_blueprint(tmp_path / "missing.yaml")
    with pytest.raises(BlueprintError, match="must be 'cbt-blueprint/1'"):
        load_blueprint(write("items.yaml", "format: cbt-items/1\n"))
    with pytest.raises(BlueprintError, match="invalid YAML"):
        load_blueprint(write("broken.yaml", "format: [\n"))
    with pytest.raises(FormatError):
        blueprint_from_dict({"format": "cbt-blueprint/1"})
