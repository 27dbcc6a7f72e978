"""`cbt-server item-bank` via click's CliRunner: the --json contract, exit codes, no tracebacks."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import click
import pytest
import yaml
from click.testing import CliRunner, Result

from item_bank.cli import install_store_hook, item_bank_group
from item_bank.model import Item

from .conftest import QTI, blueprint_doc
from .test_native import GOOD


def run(*args: str, obj: Any = None, group: click.Group = item_bank_group) -> Result:
    return CliRunner().invoke(group, list(args), obj=obj)


def assert_clean_failure(result: Result) -> None:
    assert result.exit_code != 0
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output


def test_import_json_for_each_corpus_file() -> None:
    expected = {
        "choice.xml": {"id": "choice", "type": "single", "options": 3, "key": ["ChoiceA"]},
        "choice_multiple.xml": {
            "id": "choiceMultiple",
            "type": "multiple",
            "options": 6,
            "key": ["H", "O"],
        },
        "choice_fixed.xml": {"id": "choice", "type": "single", "options": 4, "key": ["ChoiceA"]},
    }
    for name, entry in expected.items():
        result = run("import", str(QTI / name), "--json")
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout) == {"imported": [entry], "rejected": []}


def test_import_json_rejection_exits_1_with_one_json_object() -> None:
    result = run("import", str(QTI / "text_entry.xml"), "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)  # stdout holds exactly one JSON document
    assert report["imported"] == []
    (rejected,) = report["rejected"]
    assert set(rejected) == {"source", "location", "reason"}
    assert rejected["source"].endswith("text_entry.xml")
    assert "textEntryInteraction" in rejected["reason"]


def test_import_csv_json_uses_letters_and_true_false_keys(tmp_path: Path) -> None:
    path = tmp_path / "bank.csv"
    path.write_text(
        "题型,题干,选项A,选项B,选项C,答案,分值,难度,知识点\n"
        "多选题,下列属于导体的有（  ）。,铜,橡胶,铝,AC,1,2,DG01\n"
        "判断题,电压的单位是伏特。,,,,对,1,1,DG01\n",
        encoding="gbk",
    )
    result = run("import", str(path), "--json", "--occupation", "电工", "--level", "高级")
    assert result.exit_code == 0, result.output
    imported = json.loads(result.stdout)["imported"]
    assert [(e["type"], e["options"], e["key"]) for e in imported] == [
        ("multiple", 3, ["A", "C"]),
        ("true_false", 0, ["true"]),
    ]


def test_import_without_store_says_it_only_validated(write: Any) -> None:
    path = write("bank.yaml", GOOD)
    result = run("import", str(path))
    assert result.exit_code == 0
    assert "validated only, nothing was stored" in result.output
    assert "3 item(s) accepted" in result.output


def test_store_hook_receives_accepted_items_unless_dry_run(write: Any) -> None:
    stored: list[list[Item]] = []

    @click.group()
    @click.pass_context
    def server(ctx: click.Context) -> None:
        install_store_hook(ctx, stored.append)

    server.add_command(item_bank_group)
    path = write("bank.yaml", GOOD)
    result = run("item-bank", "import", str(path), group=server)
    assert result.exit_code == 0 and "stored 3 item(s)" in result.output
    assert [item.id for item in stored[0]] == [
        "electrician-3-0001",
        "electrician-3-0101",
        "electrician-3-0131",
    ]
    result = run("item-bank", "import", str(path), "--dry-run", group=server)
    assert result.exit_code == 0 and "dry run" in result.output and len(stored) == 1


def test_a_failing_store_is_reported_not_raised(write: Any) -> None:
    def refuse(items: list[Item]) -> None:
        raise ValueError("database is read-only")

    @click.group()
    @click.pass_context
    def server(ctx: click.Context) -> None:
        install_store_hook(ctx, refuse)

    server.add_command(item_bank_group)
    result = run("item-bank", "import", str(write("bank.yaml", GOOD)), "--json", group=server)
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["imported"] == []
    assert "database is read-only" in report["rejected"][-1]["reason"]


def test_import_human_report_names_file_location_and_reason(write: Any) -> None:
    path = write("bank.yaml", GOOD.replace("key: [A]", "key: [Z]"))
    result = run("import", str(path))
    assert result.exit_code == 1
    assert "rejected, nothing imported" in result.output
    assert "items[0] (id electrician-3-0001), field key" in result.output
    assert "error: 1 file(s) rejected" in result.output


def test_ids_must_be_unique_across_files(write: Any) -> None:
    first = write("a.yaml", GOOD)
    second = write("b.yaml", GOOD)
    result = run("import", str(first), str(second), "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert len(report["imported"]) == 3
    assert {r["source"] for r in report["rejected"]} == {str(second)}


def test_missing_files_and_bad_options_are_clean_errors(tmp_path: Path) -> None:
    result = run("import", str(tmp_path / "nope.yaml"), "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["rejected"][0]["reason"] == "file not found"
    assert_clean_failure(run("import", str(QTI / "choice.xml"), "--occupation", "厨师"))
    assert_clean_failure(run("import", str(QTI / "choice.xml"), "--format", "pdf"))
    assert_clean_failure(run("import"))


def bank_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "bank"
    (folder / "blueprints").mkdir(parents=True)
    items = []
    for kind in ("single", "multiple", "true_false"):
        for n in range(6):
            kp = "KP1" if n % 2 else "KP2"
            entry: dict[str, Any] = {
                "id": f"{kind}-{n}",
                "type": kind,
                "knowledge_point": kp,
                "difficulty": 1 + n // 2 * 2,
                "stem": f"{kind} 题 {n}",
                "key": ["A", "C"] if kind == "multiple" else ["A"],
            }
            if kind == "true_false":
                entry["key"] = [True]
            else:
                entry["options"] = [{"id": c, "text": f"选项{c}"} for c in "ABCD"]
            items.append(entry)
    doc = {"format": "cbt-items/1", "occupation": "electrician", "level": 3, "items": items}
    (folder / "items.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    blueprint = {
        **blueprint_doc(total_score=4),
        "sections": [
            {
                "type": kind,
                "score_each": 1,
                "cells": [{"knowledge_point": "KP2", "difficulty": "easy", "count": 1}],
            }
            for kind in ("single", "multiple")
        ]
        + [
            {
                "type": "true_false",
                "score_each": 2,
                "cells": [{"knowledge_point": "KP1", "difficulty": "medium", "count": 1}],
            }
        ],
    }
    (folder / "blueprints" / "bp.yaml").write_text(yaml.safe_dump(blueprint), encoding="utf-8")
    return folder


def test_validate_checks_items_and_blueprints_in_a_folder(tmp_path: Path) -> None:
    folder = bank_folder(tmp_path)
    result = run("validate", str(folder))
    assert result.exit_code == 0, result.output
    assert "18 item(s) accepted" in result.output
    assert "blueprint bp-test: the items satisfy every cell" in result.output
    short = yaml.safe_load((folder / "blueprints" / "bp.yaml").read_text())
    short["sections"][0]["cells"][0]["count"] = 5
    short["total_score"] = 8
    (folder / "blueprints" / "bp.yaml").write_text(yaml.safe_dump(short))
    result = run("validate", str(folder), "--json")
    assert result.exit_code == 1
    (issue,) = json.loads(result.stdout)["rejected"]
    assert "needs 5, bank has 1, short by 4" in issue["reason"]


def test_assemble_json_gives_distinct_reproducible_papers(tmp_path: Path) -> None:
    folder = bank_folder(tmp_path)
    args = ["assemble", "--blueprint", str(folder / "blueprints" / "bp.yaml"), "--seed", "2025"]
    result = run(*args, "--candidates", "5", "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert [p["candidate"] for p in out["papers"]] == [f"candidate-000{n}" for n in range(1, 6)]
    assert len({json.dumps(p["sections"]) for p in out["papers"]}) == 5
    assert json.loads(run(*args, "--candidates", "5", "--json").stdout) == out
    human = run(*args, "--bank", str(folder / "items.yaml"), "--candidates", "3")
    assert human.exit_code == 0 and "3 different paper(s) from a bank of 18 items" in human.output


def test_assemble_reports_short_cells_and_bad_blueprints(tmp_path: Path) -> None:
    folder = bank_folder(tmp_path)
    doc = yaml.safe_load((folder / "blueprints" / "bp.yaml").read_text())
    doc["sections"][2]["cells"][0]["count"] = 4
    doc["total_score"] = 10
    path = tmp_path / "short.yaml"
    path.write_text(yaml.safe_dump(doc))
    result = run("assemble", "--blueprint", str(path), "--bank", str(folder), "--seed", "1")
    assert_clean_failure(result)
    assert "true_false), knowledge point KP1, difficulty medium: needs 4" in result.output
    assert "short by 3" in result.output
    path.write_text("format: cbt-blueprint/1\nid: x\n")
    result = run("assemble", "--blueprint", str(path), "--bank", str(folder), "--seed", "1")
    assert_clean_failure(result)
    assert "blueprint rejected" in result.output and "field title" in result.output


def test_keygen_seal_inspect_round_trip(tmp_path: Path) -> None:
    folder = bank_folder(tmp_path)
    keys = tmp_path / "keys"
    assert run("keygen", "--out", str(keys)).exit_code == 0
    assert_clean_failure(run("keygen", "--out", str(keys)))  # never overwrites
    package = tmp_path / "out" / "bank.cbtpkg"
    result = run(
        "seal",
        "--bank", str(folder),
        "--blueprint", str(folder / "blueprints" / "bp.yaml"),
        "--key", str(keys / "package.key"),
        "--signing-key", str(keys / "signing-key.pem"),
        "--out", str(package),
        "--creator", "题库管理员",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "sealed 18 item(s) and 1 blueprint(s)" in result.output
    check = ["--key", str(keys / "package.key"), "--verify-key", str(keys / "verify-key.pem")]
    for command in ("inspect", "unseal"):
        result = run(command, str(package), *check)
        assert result.exit_code == 0, result.output
        assert "signature and content verified" in result.output
        assert "题 0" not in result.output  # the manifest only, never item content
    manifest = json.loads(run("inspect", str(package), *check, "--json").stdout)
    assert manifest["item_count"] == 18 and manifest["creator"] == "题库管理员"
    data = bytearray(package.read_bytes())
    data[100] ^= 0x10
    package.write_bytes(bytes(data))
    result = run("inspect", str(package), *check)
    assert_clean_failure(result)
    assert "altered after sealing" in result.output


def test_seal_refuses_bad_banks_existing_output_and_bad_keys(tmp_path: Path, write: Any) -> None:
    keys = tmp_path / "keys"
    run("keygen", "--out", str(keys))
    key_args = ["--key", str(keys / "package.key"), "--signing-key", str(keys / "signing-key.pem")]
    bad = write("bad.yaml", GOOD.replace("key: [A]", "key: [Z]"))
    out = tmp_path / "p.pkg"
    result = run("seal", "--bank", str(bad), *key_args, "--out", str(out))
    assert_clean_failure(result)
    assert "the bank has errors" in result.output and not out.exists()
    out.write_bytes(b"existing")
    good = write("good.yaml", GOOD)
    result = run("seal", "--bank", str(good), *key_args, "--out", str(out))
    assert_clean_failure(result)
    assert "exists" in result.output and out.read_bytes() == b"existing"
    swapped = ["--key", str(keys / "verify-key.pem"), "--signing-key", str(keys / "package.key")]
    result = run("seal", "--bank", str(good), *swapped, "--out", str(tmp_path / "q.pkg"))
    assert_clean_failure(result)
    assert "32 bytes" in result.output


def test_inspect_with_the_wrong_key_is_a_clear_error(tmp_path: Path, write: Any) -> None:
    for name in ("a", "b"):
        run("keygen", "--out", str(tmp_path / name))
    good = write("good.yaml", GOOD)
    package = tmp_path / "p.pkg"
    a, b = tmp_path / "a", tmp_path / "b"
    run(
        "seal", "--bank", str(good), "--key", str(a / "package.key"),
        "--signing-key", str(a / "signing-key.pem"), "--out", str(package),
    )  # fmt: skip
    result = run(
        "inspect", str(package), "--key", str(b / "package.key"),
        "--verify-key", str(a / "verify-key.pem"),
    )  # fmt: skip
    assert_clean_failure(result)
    assert "sealed for content key" in result.output
    result = run(
        "inspect", str(package), "--key", str(a / "package.key"),
        "--verify-key", str(b / "verify-key.pem"),
    )  # fmt: skip
    assert_clean_failure(result)
    assert "wrong verify key" in result.output
    result = run("inspect", str(tmp_path / "none.pkg"), "--key", "x", "--verify-key", "y")
    assert_clean_failure(result)
    assert "cannot read" in result.output


def test_exit_code_survives_the_cbt_entry_point(tmp_path: Path) -> None:
    """The server's `cbt-server` runs click with standalone_mode=False; rejections still exit 1."""
    cbt = pytest.importorskip("cbt_server.cli")
    target = tmp_path / "text_entry.xml"
    shutil.copy(QTI / "text_entry.xml", target)
    data_dir = ["--data-dir", str(tmp_path / "data")]
    assert cbt.main([*data_dir, "item-bank", "validate", str(target)]) == 1
    assert cbt.main([*data_dir, "item-bank", "validate", str(QTI / "choice.xml")]) == 0


def test_an_empty_folder_is_a_rejection_not_a_silent_success(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = run("import", str(tmp_path / "empty"), "--json")
    assert result.exit_code == 1
    assert "holds no item files" in json.loads(result.stdout)["rejected"][0]["reason"]
