"""Structural rules every item must satisfy, whatever format it came from.

`item_problems(item)` returns (field, reason) pairs; an empty list means the item is
valid. Importers call it on every item they build and reject the whole file when any
item has a problem.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from typing import Any

from item_bank import catalogue
from item_bank.model import ITEM_TYPES, TRUE_FALSE_KEYS, ImageRef, Item
from item_bank.text import MAX_OPTION_CHARS, MAX_STEM_CHARS, image_src_problem

ITEM_ID = re.compile(r"^\w[\w.:\-]{0,127}$")
OPTION_ID = re.compile(r"^\w[\w.\-]{0,31}$")
KNOWLEDGE_POINT = re.compile(r"^\w[\w.\-]{0,63}$")
MIN_OPTIONS = 2
MAX_OPTIONS = 6

Problem = tuple[str, str]
Fail = Callable[[str, str], None]


def item_problems(item: Item) -> list[Problem]:
    """Every rule `item` breaks, as (field, reason)."""
    problems: list[Problem] = []
    if not ITEM_ID.match(item.id):
        problems.append(
            ("id", f"{item.id!r} is not a valid id (letters, digits, _ . : -; at most 128)")
        )
    if item.type not in ITEM_TYPES:
        problems.append(("type", f"{item.type!r} is not one of {', '.join(ITEM_TYPES)}"))
        return problems
    problems += _classification_problems(item)
    if not item.stem and not item.images:
        problems.append(("stem", "stem is empty"))
    if len(item.stem) > MAX_STEM_CHARS:
        problems.append(("stem", f"stem is longer than {MAX_STEM_CHARS} characters"))
    for index, image in enumerate(item.images):
        problems += _image_problems(image, f"images[{index}]")
    if not math.isfinite(item.score) or item.score <= 0:
        problems.append(("score", f"score must be a positive number, not {item.score!r}"))
    if item.type == "true_false":
        problems += _true_false_problems(item)
    else:
        problems += _choice_problems(item)
    return problems


def occupation_field(value: Any, fail: Fail) -> str | None:
    """A file's `occupation` (catalogue code or Chinese name) as its code; None after `fail`."""
    if not isinstance(value, str):
        fail("field occupation", "is required: a catalogue code such as electrician, or 电工")
        return None
    try:
        return catalogue.occupation(value).code
    except catalogue.UnknownOccupation as exc:
        fail("field occupation", str(exc))
        return None


def level_field(value: Any, fail: Fail) -> int | None:
    """A file's `level` (1..5 or a name such as 高级) as its number; None after `fail`."""
    if not isinstance(value, int | str) or isinstance(value, bool):
        fail("field level", "is required: 1..5 or a name such as 高级")
        return None
    try:
        return catalogue.level(value)
    except catalogue.UnknownLevel as exc:
        fail("field level", str(exc))
        return None


def duplicate_ids(items: Iterable[Item]) -> dict[str, int]:
    """Ids that occur more than once, with how often."""
    counts: dict[str, int] = {}
    for item in items:
        counts[item.id] = counts.get(item.id, 0) + 1
    return {item_id: n for item_id, n in counts.items() if n > 1}


def _classification_problems(item: Item) -> list[Problem]:
    problems: list[Problem] = []
    if item.occupation is not None:
        try:
            if catalogue.occupation(item.occupation).code != item.occupation:
                problems.append(("occupation", "use the occupation code, not its name"))
        except catalogue.UnknownOccupation:
            problems.append(("occupation", f"unknown occupation {item.occupation!r}"))
    if item.level is not None and item.level not in catalogue.LEVELS:
        problems.append(("level", f"level must be 1..5, not {item.level!r}"))
    if item.difficulty is not None and not 1 <= item.difficulty <= 5:
        problems.append(("difficulty", f"difficulty must be 1..5, not {item.difficulty!r}"))
    if item.knowledge_point is not None and not KNOWLEDGE_POINT.match(item.knowledge_point):
        problems.append(
            (
                "knowledge_point",
                f"{item.knowledge_point!r} is not a knowledge-point code "
                "(letters, digits, _ . -; at most 64)",
            )
        )
    return problems


def _true_false_problems(item: Item) -> list[Problem]:
    problems: list[Problem] = []
    if item.options:
        problems.append(("options", "true/false items have no options"))
    if len(item.key) != 1 or item.key[0] not in TRUE_FALSE_KEYS:
        problems.append(("key", "a true/false key is [true] or [false]"))
    if item.mapping is not None:
        problems.append(("mapping", "true/false items have no score mapping"))
    return problems


def _choice_problems(item: Item) -> list[Problem]:
    problems: list[Problem] = []
    count = len(item.options)
    if not MIN_OPTIONS <= count <= MAX_OPTIONS:
        problems.append(("options", f"needs {MIN_OPTIONS}..{MAX_OPTIONS} options, found {count}"))
    seen: set[str] = set()
    for index, option in enumerate(item.options):
        where = f"options[{index}]"
        if not OPTION_ID.match(option.id):
            problems.append((f"{where}.id", f"{option.id!r} is not a valid option id"))
        if option.id in seen:
            problems.append((f"{where}.id", f"option id {option.id!r} is used twice"))
        seen.add(option.id)
        if not option.text and option.image is None:
            problems.append((f"{where}.text", "option has neither text nor image"))
        if len(option.text) > MAX_OPTION_CHARS:
            problems.append(
                (f"{where}.text", f"option text is longer than {MAX_OPTION_CHARS} characters")
            )
        if option.image is not None:
            problems += _image_problems(option.image, f"{where}.image")
    problems += _key_problems(item, seen)
    if item.mapping is not None:
        for option_id, value in item.mapping.entries:
            if option_id not in seen:
                problems.append(("mapping", f"maps {option_id!r}, which is not an option id"))
            if not math.isfinite(value):
                problems.append(("mapping", f"value for {option_id!r} is not a number"))
        low, high = item.mapping.lower_bound, item.mapping.upper_bound
        if low is not None and high is not None and low > high:
            problems.append(("mapping", f"lower_bound {low} is above upper_bound {high}"))
    return problems


def _key_problems(item: Item, option_ids: set[str]) -> list[Problem]:
    problems: list[Problem] = []
    for option_id in item.key:
        if option_id not in option_ids:
            problems.append(("key", f"key {option_id!r} is not one of the option ids"))
    if len(set(item.key)) != len(item.key):
        problems.append(("key", "key lists an option twice"))
    if item.type == "single" and len(item.key) != 1:
        problems.append(("key", f"a single-choice item has exactly one key, found {len(item.key)}"))
    if item.type == "multiple" and len(set(item.key)) < 2:
        problems.append(
            ("key", f"a multiple-choice item has two or more keys, found {len(set(item.key))}")
        )
    return problems


def _image_problems(image: ImageRef, where: str) -> list[Problem]:
    problem = image_src_problem(image.src)
    return [(where, problem)] if problem else []
