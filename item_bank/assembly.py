"""Per-candidate paper assembly (组卷): draw exactly what the blueprint asks, then shuffle.

Pure and deterministic: the paper depends only on the bank, the blueprint, the seed and
the candidate key. The random generator is seeded from a SHA-256 of those (never from
Python's per-process salted `hash()`), so the same inputs give the same paper on any
machine and in any process. Pools are sorted by item id, so the order in which the bank
was loaded does not matter either.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from item_bank.model import (
    TYPE_NAMES_ZH,
    Blueprint,
    Item,
    ItemType,
    Paper,
    PaperItem,
    PaperSection,
)

T = TypeVar("T")
ASSEMBLY_VERSION = "cbt-assembly/1"
MAX_ATTEMPTS = 50

CellKey = tuple[ItemType, str, str]  # (type, knowledge point, band)


class AssemblyError(ValueError):
    """A paper cannot be assembled."""


@dataclass(frozen=True, slots=True)
class Shortage:
    """A blueprint cell the bank cannot fill: it needs `needed` items and has `available`."""

    section_type: ItemType
    knowledge_point: str
    band: str
    needed: int
    available: int

    @property
    def short_by(self) -> int:
        return self.needed - self.available

    def __str__(self) -> str:
        return (
            f"{TYPE_NAMES_ZH[self.section_type]} ({self.section_type}), knowledge point "
            f"{self.knowledge_point}, difficulty {self.band}: needs {self.needed}, bank has "
            f"{self.available}, short by {self.short_by}"
        )


class BlueprintUnsatisfiable(AssemblyError):
    """The bank lacks items for one or more cells; `shortages` names each one."""

    def __init__(self, blueprint_id: str, shortages: list[Shortage]) -> None:
        self.blueprint_id = blueprint_id
        self.shortages = shortages
        lines = "\n".join(f"  - {shortage}" for shortage in shortages)
        super().__init__(
            f"the item bank cannot satisfy blueprint {blueprint_id!r} "
            f"({len(shortages)} cell(s) short):\n{lines}"
        )


def pools(bank: Iterable[Item], blueprint: Blueprint) -> dict[CellKey, list[Item]]:
    """Bank items that can fill each cell of the blueprint, sorted by id."""
    band_of = {level: name for name, levels in blueprint.difficulty_bands for level in levels}
    wanted = {
        (section.type, cell.knowledge_point, cell.difficulty)
        for section in blueprint.sections
        for cell in section.cells
    }
    found: dict[CellKey, list[Item]] = {key: [] for key in wanted}
    seen: set[str] = set()
    for item in bank:
        if item.id in seen:
            raise AssemblyError(f"the bank holds item id {item.id!r} more than once")
        seen.add(item.id)
        if item.occupation != blueprint.occupation or item.level != blueprint.level:
            continue
        if item.knowledge_point is None or item.difficulty is None:
            continue
        band = band_of.get(item.difficulty)
        if band is None:
            continue
        key = (item.type, item.knowledge_point, band)
        if key in found:
            found[key].append(item)
    for items in found.values():
        items.sort(key=lambda item: item.id)
    return found


def check_feasible(bank: Iterable[Item], blueprint: Blueprint) -> list[Shortage]:
    """Every cell the bank cannot fill; an empty list means assembly will succeed."""
    available = pools(bank, blueprint)
    return _shortages(available, blueprint)


def _shortages(available: dict[CellKey, list[Item]], blueprint: Blueprint) -> list[Shortage]:
    shortages = []
    for section in blueprint.sections:
        for cell in section.cells:
            have = len(available[(section.type, cell.knowledge_point, cell.difficulty)])
            if have < cell.count:
                shortages.append(
                    Shortage(section.type, cell.knowledge_point, cell.difficulty, cell.count, have)
                )
    return shortages


def assemble(
    bank_items: Iterable[Item], blueprint: Blueprint, seed: str, candidate_key: str
) -> Paper:
    """The paper for one candidate; raises `BlueprintUnsatisfiable` naming short cells."""
    available = pools(bank_items, blueprint)
    shortages = _shortages(available, blueprint)
    if shortages:
        raise BlueprintUnsatisfiable(blueprint.id, shortages)
    return _draw(available, blueprint, seed, candidate_key, attempt=0)


def assemble_many(
    bank_items: Iterable[Item],
    blueprint: Blueprint,
    seed: str,
    candidate_keys: Sequence[str],
) -> dict[str, Paper]:
    """Papers for many candidates, all different from each other.

    Each candidate gets `assemble(..., candidate_key)`; in the (for real banks
    vanishingly rare) case that it equals an earlier candidate's paper, it is drawn again
    with an attempt counter mixed into the seed. The result is reproducible for the same
    ordered list of candidate keys. Raises `AssemblyError` when the bank is too small to
    give everyone a different paper.
    """
    if len(set(candidate_keys)) != len(candidate_keys):
        raise AssemblyError("candidate keys must be unique")
    available = pools(bank_items, blueprint)
    shortages = _shortages(available, blueprint)
    if shortages:
        raise BlueprintUnsatisfiable(blueprint.id, shortages)
    papers: dict[str, Paper] = {}
    layouts: set[tuple[tuple[str, tuple[str, ...]], ...]] = set()
    for key in candidate_keys:
        for attempt in range(MAX_ATTEMPTS):
            paper = _draw(available, blueprint, seed, key, attempt)
            layout = _layout(paper)
            if layout not in layouts:
                break
        else:
            raise AssemblyError(
                f"could not draw a paper for {key!r} that differs from the "
                f"{len(papers)} before it: the bank is too small for this many candidates"
            )
        layouts.add(layout)
        papers[key] = paper
    return papers


def _layout(paper: Paper) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return tuple(
        (item.item_id, item.option_order) for section in paper.sections for item in section.items
    )


def candidate_rng(
    blueprint_id: str, seed: str, candidate_key: str, attempt: int = 0
) -> random.Random:
    """The generator for one candidate's paper, seeded from a SHA-256 of the inputs."""
    material = "\x1f".join([ASSEMBLY_VERSION, blueprint_id, seed, candidate_key, str(attempt)])
    digest = hashlib.sha256(material.encode()).digest()
    return random.Random(int.from_bytes(digest))


def _paper_id(blueprint_id: str, seed: str, candidate_key: str, attempt: int) -> str:
    material = "\x1f".join(["cbt-paper/1", blueprint_id, seed, candidate_key, str(attempt)])
    return hashlib.sha256(material.encode()).hexdigest()[:32]


def _draw(
    available: dict[CellKey, list[Item]],
    blueprint: Blueprint,
    seed: str,
    candidate_key: str,
    attempt: int,
) -> Paper:
    rng = candidate_rng(blueprint.id, seed, candidate_key, attempt)
    sections = []
    for section in blueprint.sections:
        drawn: list[Item] = []
        for cell in section.cells:
            pool = available[(section.type, cell.knowledge_point, cell.difficulty)]
            drawn += _sample(rng, pool, cell.count)
        _shuffle(rng, drawn)
        sections.append(
            PaperSection(
                type=section.type,
                title=section.title,
                score_each=section.score_each,
                items=tuple(PaperItem(item.id, option_order(item, rng)) for item in drawn),
            )
        )
    return Paper(
        paper_id=_paper_id(blueprint.id, seed, candidate_key, attempt),
        blueprint_id=blueprint.id,
        seed=seed,
        sections=tuple(sections),
    )


def option_order(item: Item, rng: random.Random) -> tuple[str, ...]:
    """Display order of an item's options: pinned ones stay put, the rest are shuffled.

    Items with `shuffle` off keep their order; true/false items have no options.
    """
    if not item.shuffle:
        return tuple(option.id for option in item.options)
    moving = [option.id for option in item.options if not option.pinned]
    _shuffle(rng, moving)
    shuffled = iter(moving)
    return tuple(option.id if option.pinned else next(shuffled) for option in item.options)


# Own Fisher-Yates steps on `randrange`, so the draw does not depend on how a future
# Python implements `random.sample` or `random.shuffle`.
def _shuffle(rng: random.Random, values: list[T]) -> None:
    for last in range(len(values) - 1, 0, -1):
        other = rng.randrange(last + 1)
        values[last], values[other] = values[other], values[last]


def _sample(rng: random.Random, pool: list[Item], count: int) -> list[Item]:
    chosen = list(pool)
    for index in range(count):
        other = rng.randrange(index, len(chosen))
        chosen[index], chosen[other] = chosen[other], chosen[index]
    return chosen[:count]
