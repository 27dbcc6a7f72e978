"""The native YAML/JSON importer: good files import whole, bad files import nothing."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from item_bank.importers.native import import_native
from item_bank.parse import item_from_dict

GOOD = """\
format: cbt-items/1
occupation: 电工
level: 高级
knowledge_points:
  DG01: 电工基础知识
  DG05: 安全用电
items:
  - id: electrician-3-0001
    type: single
    knowledge_point: DG01
    difficulty: 3
    score: 1
    stem: 在纯电阻正弦交流电路中，电压与电流的相位关系是（  ）。
    options:
      - {id: A, text: 同相}
      - {id: B, text: 电压超前电流90°}
      - {id: C, text: 电流超前电压90°}
      - {id: D, text: 反相}
    key: [A]
    explanation: 纯电阻电路中电压与电流同相。
  - id: electrician-3-0101
    type: multiple
    knowledge_point: DG05
    difficulty: 2
    stem: 下列属于安全电压等级的有（  ）。
    options:
      - {id: A, text: 42V}
      - {id: B, text: 36V}
      - {id: C, text: 24V}
      - {id: D, text: 220V}
      - {id: E, text: 以上都对, pinned: true}
    key: [A, B, C]
    mapping: {default: 0, lower_bound: 0, upper_bound: 2, entries: {A: 1, B: 1, C: 1, D: -1}}
  - id: electrician-3-0131
    type: true_false
    knowledge_point: DG05
    difficulty: 1
    stem: 电气设备的金属外壳接地属于保护接地。
    key: [true]
    shuffle: false
"""


def test_good_yaml_imports_every_item_with_its_fields(write: Any) -> None:
    result = import_native(write("bank.yaml", GOOD))
    assert result.errors == ()
    single, multiple, true_false = result.items
    assert single.occupation == "electrician" and single.level == 3
    assert single.knowledge_point == "DG01" and single.knowledge_point_name == "电工基础知识"
    assert single.key == ("A",) and single.option_ids == ("A", "B", "C", "D")
    assert single.explanation == "纯电阻电路中电压与电流同相。"
    assert multiple.options[-1].pinned and not multiple.options[0].pinned
    assert multiple.mapping is not None and multiple.mapping.value("D") == -1
    assert multiple.mapping.upper_bound == 2
    assert true_false.key == ("true",) and true_false.options == ()
    assert true_false.shuffle is False
    assert single.source is not None and "line 8" in single.source.location


def test_json_file_imports_like_yaml(write: Any, tmp_path: Path) -> None:
    from item_bank.yamlfile import load_yaml

    document = load_yaml(GOOD)
    result = import_native(write("bank.json", json.dumps(document, ensure_ascii=False)))
    assert result.errors == ()
    assert [item.id for item in result.items] == [
        "electrician-3-0001",
        "electrician-3-0101",
        "electrician-3-0131",
    ]


def test_one_bad_item_rejects_the_file_and_every_problem_is_reported(write: Any) -> None:
    bad = GOOD.replace("key: [A, B, C]", "key: [G]").replace("difficulty: 1", "difficulty: 9")
    result = import_native(write("bank.yaml", bad))
    assert result.items == ()
    reasons = {(issue.location, issue.reason) for issue in result.errors}
    assert any(
        "items[1] (id electrician-3-0101), field key" in where and "'G'" in why
        for where, why in reasons
    )
    assert any("items[1]" in where and "two or more keys" in why for where, why in reasons)
    assert any(
        "items[2]" in where and "field difficulty" in where and "1..5" in why
        for where, why in reasons
    )
    # each location carries the line of the item
    assert all(issue.location.startswith("line ") for issue in result.errors)


def test_duplicate_ids_in_one_file_are_errors(write: Any) -> None:
    doubled = GOOD.replace("id: electrician-3-0101", "id: electrician-3-0001")
    result = import_native(write("bank.yaml", doubled))
    assert result.items == ()
    assert any("already used" in issue.reason for issue in result.errors)


def test_unknown_fields_and_types_are_named(write: Any) -> None:
    text = GOOD.replace("    score: 1\n", "    scroe: 1\n").replace(
        "type: true_false", "type: judge"
    )
    result = import_native(write("bank.yaml", text))
    messages = [str(issue) for issue in result.errors]
    assert any("field scroe" in m and "unknown field" in m for m in messages)
    assert any("field type" in m and "'judge'" in m for m in messages)


def test_yaml_syntax_error_names_the_line(write: Any) -> None:
    result = import_native(write("bank.yaml", GOOD.replace("key: [A]", "key: [A")))
    assert result.items == ()
    (issue,) = result.errors
    assert issue.location.startswith("line ") and "invalid YAML" in issue.reason


def test_duplicate_yaml_key_is_an_error_not_an_overwrite(write: Any) -> None:
    text = GOOD.replace("    key: [A]\n", "    key: [A]\n    key: [B]\n")
    result = import_native(write("bank.yaml", text))
    assert result.items == ()
    assert "duplicate key 'key'" in result.errors[0].reason


def test_wrong_format_and_blueprint_files_are_refused(write: Any) -> None:
    result = import_native(write("x.yaml", "format: something/2\nitems: []\n"))
    assert "must be 'cbt-items/1'" in result.errors[0].reason
    result = import_native(write("bp.yaml", "format: cbt-blueprint/1\n"))
    assert "blueprint" in result.errors[0].reason


def test_unknown_occupation_level_and_knowledge_point(write: Any) -> None:
    text = GOOD.replace("occupation: 电工", "occupation: 厨师").replace("level: 高级", "level: 9")
    text = text.replace(
        "knowledge_point: DG05\n    difficulty: 1", "knowledge_point: DG99\n    difficulty: 1"
    )
    result = import_native(write("bank.yaml", text))
    messages = " | ".join(str(issue) for issue in result.errors)
    assert "unknown occupation '厨师'" in messages
    assert "unknown level 9" in messages
    assert "'DG99' is not in knowledge_points" in messages


def test_unquoted_numeric_id_is_refused_rather_than_losing_zeros(write: Any) -> None:
    result = import_native(write("bank.yaml", GOOD.replace("id: electrician-3-0001", "id: 0001")))
    assert result.items == ()
    assert any("field id" in i.location and "quote it" in i.reason for i in result.errors)


def test_images_are_embedded_from_the_item_folder(write: Any) -> None:
    png = base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAwS2OUAAAAABJRU5ErkJggg=="
    )
    write("img/circuit.png", png)
    text = GOOD.replace(
        "      - {id: A, text: 同相}", "      - {id: A, text: 同相, image: img/circuit.png}"
    )
    result = import_native(write("bank.yaml", text))
    assert result.errors == ()
    image = result.items[0].options[0].image
    assert image is not None and image.embedded
    assert image.src == "data:image/png;base64," + base64.b64encode(png).decode()


def test_images_outside_the_folder_or_missing_are_errors(write: Any) -> None:
    for src, reason in [
        ("../secret.png", "inside the item's folder"),
        ("/etc/passwd.png", "inside the item's folder"),
        ("http://example.com/a.png", "no URL scheme"),
        ("missing.png", "not found"),
        ("pic.svg", "not supported"),
    ]:
        text = GOOD.replace(
            "      - {id: A, text: 同相}", f"      - {{id: A, text: 同相, image: '{src}'}}"
        )
        result = import_native(write("bank.yaml", text))
        assert result.items == (), src
        assert any(reason in issue.reason for issue in result.errors), (src, result.errors)


def test_text_is_cleaned_of_control_and_bidi_characters(write: Any) -> None:
    text = GOOD.replace("反相", '"反\\u202e相\\x07"')
    result = import_native(write("bank.yaml", text))
    assert result.errors == ()
    assert result.items[0].options[3].text == "反相"


def test_missing_file_and_non_utf8(write: Any, tmp_path: Path) -> None:
    assert "cannot read" in import_native(tmp_path / "nope.yaml").errors[0].reason
    result = import_native(write("gbk.yaml", GOOD.encode("gbk")))
    assert result.errors[0].reason == "file is not UTF-8 text"


def test_item_to_dict_round_trips(write: Any) -> None:
    items = import_native(write("bank.yaml", GOOD)).items
    for item in items:
        assert item_from_dict(json.loads(json.dumps(item.to_dict()))) == item
