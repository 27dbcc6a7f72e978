"""The sample bank shipped in item_bank/samples validates and serves its blueprints."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from item_bank.assembly import assemble_many, check_feasible
from item_bank.blueprint import load_blueprint
from item_bank.importers import import_paths
from item_bank.seal import seal, unseal

from .conftest import SAMPLES

BANK_FILES = sorted(SAMPLES.glob("*.yaml"))
BLUEPRINT_FILES = sorted((SAMPLES / "blueprints").glob("*.yaml"))


def test_there_are_sample_banks_and_blueprints() -> None:
    assert len(BANK_FILES) >= 2
    assert len(BLUEPRINT_FILES) >= 2


@pytest.mark.parametrize("path", BANK_FILES, ids=lambda p: p.name)
def test_each_sample_bank_validates_with_no_errors(path: Path) -> None:
    report = import_paths([path])
    assert report.errors == [], "\n".join(map(str, report.errors[:20]))
    assert len(report.items) >= 150
    kinds = Counter(item.type for item in report.items)
    assert set(kinds) == {"single", "multiple", "true_false"}
    assert all(item.knowledge_point_name for item in report.items)


def test_sample_ids_are_unique_across_the_whole_folder() -> None:
    report = import_paths([SAMPLES])
    assert report.ok
    assert len({item.id for item in report.items}) == len(report.items)


@pytest.mark.parametrize("path", BLUEPRINT_FILES, ids=lambda p: p.name)
def test_each_sample_blueprint_gives_30_distinct_papers(path: Path) -> None:
    bank = import_paths([SAMPLES]).items
    blueprint = load_blueprint(path)
    assert blueprint.total_score == 100 and blueprint.item_count == 100
    assert check_feasible(bank, blueprint) == []
    keys = [f"candidate-{n:02d}" for n in range(30)]
    papers = assemble_many(bank, blueprint, "sample-seed", keys)
    layouts = {tuple((i.item_id, i.option_order) for s in p.sections for i in s.items)
               for p in papers.values()}  # fmt: skip
    assert len(layouts) == 30
    # the blueprint leaves room to vary: papers differ in which items they hold, not
    # only in their order
    assert len({frozenset(p.item_ids) for p in papers.values()}) == 30
    for paper in papers.values():
        assert len(paper.item_ids) == 100


def test_the_sample_bank_survives_sealing() -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    report = import_paths([SAMPLES])
    blueprints = [load_blueprint(path) for path in BLUEPRINT_FILES]
    signer = Ed25519PrivateKey.generate()
    key = bytes(32)
    items, loaded, manifest = unseal(
        seal(report.items, blueprints, key, signer), key, signer.public_key()
    )
    assert items == report.items and loaded == blueprints
    assert manifest.item_count == len(report.items)
