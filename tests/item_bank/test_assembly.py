"""Paper assembly: exact counts, per-candidate variety, reproducibility, pinned options."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from item_bank.assembly import (
    AssemblyError,
    BlueprintUnsatisfiable,
    assemble,
    assemble_many,
    candidate_rng,
    check_feasible,
    option_order,
)
from item_bank.blueprint import parse_blueprint
from item_bank.model import Blueprint, Item, Paper

from .conftest import REPO, blueprint_doc, choice_item, make_bank


def blueprint(**overrides: object) -> Blueprint:
    result, problems = parse_blueprint(blueprint_doc(**overrides))
    assert result is not None, problems
    return result


BANK = make_bank(per_cell=4)
BY_ID = {item.id: item for item in BANK}


def check_paper_matches(paper: Paper, bp: Blueprint, bank: dict[str, Item]) -> None:
    """Every cell gets exactly its count, items are distinct and of the right kind."""
    assert paper.blueprint_id == bp.id
    assert len(set(paper.item_ids)) == len(paper.item_ids) == bp.item_count
    for section, paper_section in zip(bp.sections, paper.sections, strict=True):
        assert paper_section.type == section.type
        assert paper_section.score_each == section.score_each
        drawn = Counter()
        for entry in paper_section.items:
            item = bank[entry.item_id]
            assert item.type == section.type
            assert item.occupation == bp.occupation and item.level == bp.level
            band = next(name for name, levels in bp.difficulty_bands if item.difficulty in levels)
            drawn[(item.knowledge_point, band)] += 1
            assert sorted(entry.option_order) == sorted(item.option_ids)
        wanted = Counter({(c.knowledge_point, c.difficulty): c.count for c in section.cells})
        assert drawn == wanted


def test_paper_satisfies_the_blueprint_exactly() -> None:
    bp = blueprint()
    paper = assemble(BANK, bp, "seed-1", "candidate-0001")
    check_paper_matches(paper, bp, BY_ID)
    assert [len(s.items) for s in paper.sections] == [4, 1, 4]


def test_same_inputs_give_the_same_paper_whatever_the_bank_order() -> None:
    bp = blueprint()
    first = assemble(BANK, bp, "s", "c1")
    assert assemble(list(reversed(BANK)), bp, "s", "c1") == first
    assert Paper.from_dict(json.loads(json.dumps(first.to_dict()))) == first


def test_papers_are_reproducible_in_another_process() -> None:
    """The draw must not depend on Python's per-process hash salt."""
    code = (
        "import json,sys;sys.path.insert(0,'.');"
        "from tests.item_bank.test_assembly import BANK, blueprint;"
        "from item_bank.assembly import assemble;"
        "print(json.dumps(assemble(BANK, blueprint(), 's', 'c1').to_dict()))"
    )
    env = dict(os.environ, PYTHONHASHSEED="12345")
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout) == assemble(BANK, blueprint(), "s", "c1").to_dict()


def test_different_candidates_and_seeds_get_different_papers() -> None:
    bp = blueprint()
    keys = [f"c{n}" for n in range(30)]
    papers = [assemble(BANK, bp, "s", key) for key in keys]
    layouts = {json.dumps(p.to_dict()["sections"]) for p in papers}
    assert len(layouts) == 30
    assert len({p.paper_id for p in papers}) == 30
    assert (
        assemble(BANK, bp, "other", "c0").to_dict()["sections"] != papers[0].to_dict()["sections"]
    )


def test_assemble_many_guarantees_distinct_papers_even_from_a_tiny_bank() -> None:
    # exactly the items needed: only item and option order can vary
    bp = blueprint(
        total_score=3,
        sections=[
            {
                "type": "single",
                "score_each": 1,
                "cells": [{"knowledge_point": "KP1", "difficulty": "easy", "count": 3}],
            }
        ],
    )
    tiny = [choice_item(f"i{n}", options=2, shuffle=False) for n in range(3)]
    papers = assemble_many(tiny, bp, "s", ["a", "b", "c", "d", "e", "f"])  # 3! = 6 orders
    assert len({tuple(p.item_ids) for p in papers.values()}) == 6
    assert papers["a"] == assemble_many(tiny, bp, "s", ["a"])["a"]
    with pytest.raises(AssemblyError, match="too small"):
        assemble_many(tiny, bp, "s", [f"k{n}" for n in range(7)])


def test_shortages_name_each_cell_and_by_how_many() -> None:
    bank = [i for i in BANK if not (i.type == "multiple" and i.knowledge_point == "KP1")]
    bank = [i for i in bank if not (i.type == "single" and i.id.startswith("s-KP2-5"))]
    bp = blueprint()
    bp = replace(
        bp,
        sections=(
            replace(bp.sections[0], cells=(replace(bp.sections[0].cells[1], count=7),)),
            *bp.sections[1:],
        ),
    )
    shortages = check_feasible(bank, bp)
    assert [(s.section_type, s.knowledge_point, s.band, s.short_by) for s in shortages] == [
        ("single", "KP2", "hard", 3),
        ("multiple", "KP1", "medium", 1),
    ]
    with pytest.raises(BlueprintUnsatisfiable) as caught:
        assemble(bank, bp, "s", "c")
    message = str(caught.value)
    assert (
        "单选题 (single), knowledge point KP2, difficulty hard: needs 7, bank has 4, short by 3"
        in message
    )
    assert (
        "多选题 (multiple), knowledge point KP1, difficulty medium: needs 1, bank has 0" in message
    )
    assert caught.value.shortages == shortages


def test_items_of_other_occupations_or_unclassified_are_never_drawn() -> None:
    foreign = [replace(i, occupation="childcare") for i in BANK]
    unclassified = [replace(i, id=f"u-{i.id}", difficulty=None) for i in BANK]
    assert check_feasible(foreign + unclassified, blueprint())  # nothing usable
    with pytest.raises(AssemblyError, match="more than once"):
        check_feasible(BANK + BANK[:1], blueprint())


def test_pinned_options_stay_and_unshuffled_items_keep_order() -> None:
    import random

    item = choice_item("p", options=6, pinned=("B", "F"))
    orders = {option_order(item, random.Random(n)) for n in range(200)}
    assert len(orders) > 20
    assert all(order[1] == "B" and order[5] == "F" for order in orders)
    fixed = choice_item("f", options=6, shuffle=False)
    assert {option_order(fixed, random.Random(n)) for n in range(20)} == {tuple("ABCDEF")}


@settings(max_examples=60, deadline=None)
@given(
    counts=st.lists(st.integers(min_value=0, max_value=4), min_size=6, max_size=6),
    seed=st.text(max_size=12),
    candidate=st.text(max_size=12),
)
def test_any_satisfiable_blueprint_is_met_exactly(
    counts: list[int], seed: str, candidate: str
) -> None:
    cells = [
        {"knowledge_point": kp, "difficulty": band, "count": n}
        for (kp, band), n in zip(
            [(kp, band) for kp in ("KP1", "KP2") for band in ("easy", "medium", "hard")],
            counts,
            strict=True,
        )
        if n
    ]
    if not cells:
        return
    total = sum(c["count"] for c in cells)
    sections = [
        {"type": kind, "score_each": 1, "cells": cells}
        for kind in ("single", "multiple", "true_false")
    ]
    bp = blueprint(sections=sections, total_score=3 * total)
    paper = assemble(BANK, bp, seed, candidate)
    check_paper_matches(paper, bp, BY_ID)
    for entry in (e for s in paper.sections for e in s.items):
        item = BY_ID[entry.item_id]
        for index, option in enumerate(item.options):
            if option.pinned:
                assert entry.option_order[index] == option.id
    assert assemble(BANK, bp, seed, candidate) == paper


@settings(max_examples=40, deadline=None)
@given(
    available=st.integers(min_value=0, max_value=6), needed=st.integers(min_value=1, max_value=8)
)
def test_feasibility_is_exactly_available_versus_needed(available: int, needed: int) -> None:
    bank = [choice_item(f"i{n}") for n in range(available)]
    bp = blueprint(
        total_score=needed,
        sections=[
            {
                "type": "single",
                "score_each": 1,
                "cells": [{"knowledge_point": "KP1", "difficulty": "easy", "count": needed}],
            }
        ],
    )
    shortages = check_feasible(bank, bp)
    if available >= needed:
        assert shortages == []
        assert len(assemble(bank, bp, "s", "c").item_ids) == needed
    else:
        (shortage,) = shortages
        assert shortage.short_by == needed - available


@pytest.mark.parametrize(
    "document",
    [
        {},
        {"paper_id": "p", "blueprint_id": "b", "seed": "s", "sections": "x"},
        {"paper_id": "p", "blueprint_id": "b", "seed": 1, "sections": []},
        {"paper_id": "p", "blueprint_id": "b", "seed": "s", "sections": [{"type": "essay"}]},
        {"paper_id": "p", "blueprint_id": "b", "seed": "s",
         "sections": [{"type": "single", "title": "t", "score_each": 1,
                       "items": [{"item_id": "i", "option_order": [1]}]}]},
    ],
)  # fmt: skip
def test_paper_from_dict_refuses_bad_documents(document: dict) -> None:
    from item_bank.model import FormatError

    with pytest.raises(FormatError):
        Paper.from_dict(document)


# --- a known paper for a known seed ---------------------------------------------------


def test_a_known_seed_gives_the_known_paper() -> None:
    """Papers are re-derived from their seed (reprints, audits, a restarted server): the
    draw for given inputs must never change without a new ASSEMBLY_VERSION."""
    paper = assemble(BANK, blueprint(), "golden-seed", "ticket-0001")
    assert paper.paper_id == "7db9cdf02cb1498a270a8f5090420684"
    assert (paper.blueprint_id, paper.seed) == ("bp-test", "golden-seed")
    layout = [[f"{i.item_id}:{''.join(i.option_order)}" for i in s.items] for s in paper.sections]
    assert layout == [
        ["s-KP1-2-1:CABD", "s-KP1-1-0:CDAB", "s-KP2-4-1:DABC", "s-KP2-4-0:DCAB"],
        ["m-KP1-3-1:ADCBE"],
        ["t-KP2-1-0:", "t-KP2-1-1:", "t-KP2-2-2:", "t-KP2-1-3:"],
    ]


def test_the_candidate_generator_is_seeded_from_the_documented_inputs() -> None:
    expected = 17004460294585420147
    assert candidate_rng("bp-test", "golden-seed", "ticket-0001").getrandbits(64) == expected
    assert candidate_rng("bp-test", "golden-seed", "ticket-0001", 0).getrandbits(64) == expected
    assert candidate_rng("bp-test", "golden-seed", "ticket-0001", 1).getrandbits(64) != expected


def test_assemble_gives_each_candidate_what_assemble_many_gives() -> None:
    """A late candidate's paper comes from `assemble`, the room's from `assemble_many`:
    a candidate must get the same paper either way (unless a clash forced a redraw)."""
    bp = blueprint()
    keys = [f"ticket-{n:04d}" for n in range(30)]
    papers = assemble_many(BANK, bp, "s", keys)
    assert list(papers) == keys
    for key in keys:
        assert assemble(BANK, bp, "s", key) == papers[key]


# --- uniformity: every item and every order equally likely -----------------------------

# Upper 0.1 % points of the chi-square distribution. The seeds are fixed, so each test is
# deterministic; a fair draw would exceed the bound for one seed in a thousand.
CHI_SQUARE_999 = {3: 16.266, 5: 20.515, 23: 49.728}


def chi_square(counts: Counter[Any], categories: int, draws: int) -> float:
    expected = draws / categories
    assert len(counts) <= categories
    missing = categories - len(counts)
    return sum((n - expected) ** 2 / expected for n in counts.values()) + missing * expected


def one_cell(count: int) -> Blueprint:
    return blueprint(
        total_score=count,
        sections=[
            {
                "type": "single",
                "score_each": 1,
                "cells": [{"knowledge_point": "KP1", "difficulty": "easy", "count": count}],
            }
        ],
    )


def test_the_draw_takes_each_item_and_each_pair_equally_often() -> None:
    pool = [choice_item(f"i{n}", shuffle=False) for n in range(4)]
    bp = one_cell(2)
    draws = 3000
    items: Counter[str] = Counter()
    pairs: Counter[frozenset[str]] = Counter()
    for n in range(draws):
        drawn = assemble(pool, bp, "uniform", f"c{n}").item_ids
        items.update(drawn)
        pairs[frozenset(drawn)] += 1
    assert chi_square(items, 4, 2 * draws) < CHI_SQUARE_999[3], items
    assert chi_square(pairs, 6, draws) < CHI_SQUARE_999[5], pairs


def test_the_shuffle_gives_each_order_equally_often() -> None:
    pool = [choice_item(f"i{n}", shuffle=False) for n in range(3)]
    bp = one_cell(3)
    draws = 3000
    orders = Counter(tuple(assemble(pool, bp, "uniform", f"c{n}").item_ids) for n in range(draws))
    assert chi_square(orders, 6, draws) < CHI_SQUARE_999[5], orders


def test_option_orders_are_equally_likely() -> None:
    import random

    item = choice_item("p", options=5, pinned=("C",))
    draws = 4800
    rng = random.Random(20240518)
    orders = Counter(option_order(item, rng) for _ in range(draws))
    assert all(order[2] == "C" for order in orders)
    assert chi_square(orders, 24, draws) < CHI_SQUARE_999[23], orders


# --- what the scan skips: it skips the item, never the rest of the bank ----------------


def test_unclassified_items_are_skipped_not_the_rest_of_the_bank() -> None:
    bp = one_cell(2)
    first = [
        replace(choice_item("a-no-kp"), knowledge_point=None),
        replace(choice_item("a-no-difficulty"), difficulty=None),
        choice_item("a-foreign", occupation="childcare"),
        choice_item("a-other-level", level=4),
    ]
    usable = [choice_item("u1"), choice_item("u2")]
    for skipped in first:
        assert check_feasible([skipped, *usable], bp) == []
        assert sorted(assemble([skipped, *usable], bp, "s", "c").item_ids) == ["u1", "u2"]


def test_an_item_outside_every_band_is_skipped_not_the_rest_of_the_bank() -> None:
    bp = blueprint(
        total_score=2,
        difficulty_bands={"easy": [1, 2], "hard": [4, 5]},
        sections=[
            {
                "type": "single",
                "score_each": 1,
                "cells": [
                    {"knowledge_point": "KP1", "difficulty": "easy", "count": 1},
                    {"knowledge_point": "KP1", "difficulty": "hard", "count": 1},
                ],
            }
        ],
    )
    bank = [choice_item("m3", difficulty=3), choice_item("e2", difficulty=2)]
    bank.append(choice_item("h5", difficulty=5))
    assert check_feasible(bank, bp) == []
    assert sorted(assemble(bank, bp, "s", "c").item_ids) == ["e2", "h5"]
    (shortage,) = check_feasible(bank[:2], bp)
    assert (shortage.band, shortage.needed, shortage.available) == ("hard", 1, 0)


def test_an_unsatisfiable_blueprint_is_named_in_the_error() -> None:
    bp = blueprint(
        total_score=4,
        sections=[
            {
                "type": "single",
                "score_each": 1,
                "cells": [
                    {"knowledge_point": "KP1", "difficulty": "easy", "count": 3},
                    {"knowledge_point": "KP2", "difficulty": "easy", "count": 1},
                ],
            }
        ],
    )
    small = [choice_item("x1"), choice_item("x2")]
    expected = (
        "the item bank cannot satisfy blueprint 'bp-test' (2 cell(s) short):\n"
        "  - 单选题 (single), knowledge point KP1, difficulty easy: needs 3, bank has 2, "
        "short by 1\n"
        "  - 单选题 (single), knowledge point KP2, difficulty easy: needs 1, bank has 0, "
        "short by 1"
    )
    for attempt in (
        lambda: assemble(small, bp, "s", "c"),
        lambda: assemble_many(small, bp, "s", ["c1", "c2"]),
    ):
        with pytest.raises(BlueprintUnsatisfiable) as caught:
            attempt()
        assert caught.value.blueprint_id == "bp-test"
        assert str(caught.value) == expected
