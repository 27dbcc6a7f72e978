"""Turn item dicts (from native files or `Item.to_dict()`) into `Item`s, naming every problem.

Problems are (field, reason) pairs; the caller adds the file and the item's position.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from item_bank.model import (
    ITEM_TYPES,
    FormatError,
    ImageRef,
    Item,
    Option,
    ScoreMapping,
    SourceRef,
)
from item_bank.text import clean_text, image_src_problem
from item_bank.validate import Problem, item_problems

NATIVE_FIELDS = frozenset(
    {
        "id",
        "type",
        "knowledge_point",
        "difficulty",
        "score",
        "stem",
        "images",
        "options",
        "key",
        "shuffle",
        "mapping",
        "explanation",
    }
)
FULL_FIELDS = NATIVE_FIELDS | {"occupation", "level", "knowledge_point_name", "source"}
OPTION_FIELDS = frozenset({"id", "text", "image", "pinned"})
MAPPING_FIELDS = frozenset({"default", "lower_bound", "upper_bound", "entries"})

# Resolves an image path found in a file to what the item keeps (usually a data URI);
# returns (src, problem).
ImageResolver = Callable[[str], tuple[str, str | None]]


def keep_src(src: str) -> tuple[str, str | None]:
    """The resolver that keeps a reference as written (after checking its syntax)."""
    return src, image_src_problem(src)


@dataclass(frozen=True, slots=True)
class Defaults:
    """Fields a native file gives once for all its items."""

    occupation: str | None = None
    level: int | None = None
    knowledge_points: Mapping[str, str] | None = None


class _Reader:
    """Reads typed fields from one mapping, collecting problems instead of raising."""

    def __init__(self, raw: Mapping[str, Any], prefix: str = "") -> None:
        self.raw = raw
        self.prefix = prefix
        self.problems: list[Problem] = []

    def fail(self, field: str, reason: str) -> None:
        self.problems.append((self.prefix + field, reason))

    def unknown(self, allowed: frozenset[str]) -> None:
        for name in self.raw:
            if name not in allowed:
                self.fail(
                    str(name), f"unknown field (expected one of {', '.join(sorted(allowed))})"
                )

    def string(self, field: str, *, required: bool, clean: bool = False) -> str | None:
        value = self.raw.get(field)
        if value is None:
            if required:
                self.fail(field, "is required")
            return None
        if not isinstance(value, str):
            self.fail(field, f"must be text, not {_describe(value)} (quote it)")
            return None
        return clean_text(value) if clean else value.strip()

    def integer(self, field: str, *, required: bool) -> int | None:
        value = self.raw.get(field)
        if value is None:
            if required:
                self.fail(field, "is required")
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(field, f"must be a whole number, not {_describe(value)}")
            return None
        return value

    def number(self, field: str, default: float | None) -> float | None:
        value = self.raw.get(field)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(field, f"must be a number, not {_describe(value)}")
            return default
        if not math.isfinite(value):
            self.fail(field, "must be a finite number")
            return default
        return float(value)

    def entries(self, field: str, shape: str) -> list[Any]:
        """An optional list field's entries ([] when absent, or after failing with `shape`)."""
        value = self.raw.get(field)
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(field, shape)
            return []
        return value

    def boolean(self, field: str, default: bool) -> bool:
        value = self.raw.get(field)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.fail(field, f"must be true or false, not {_describe(value)}")
            return default
        return value


def parse_native_item(
    raw: Any, defaults: Defaults, source: SourceRef, resolve: ImageResolver
) -> tuple[Item | None, list[Problem]]:
    """One entry of a native file's `items` list."""
    return _parse(raw, NATIVE_FIELDS, defaults, source, resolve, native=True)


def parse_full_item(raw: Any) -> tuple[Item | None, list[Problem]]:
    """The self-contained form written by `Item.to_dict()`."""
    return _parse(raw, FULL_FIELDS, Defaults(), None, keep_src, native=False)


def item_from_dict(data: Mapping[str, Any]) -> Item:
    """Read `Item.to_dict()` output back; raises `FormatError` naming every bad field."""
    item, problems = parse_full_item(data)
    if item is None:
        raise FormatError.from_problems(problems)
    return item


def _parse(
    raw: Any,
    allowed: frozenset[str],
    defaults: Defaults,
    source: SourceRef | None,
    resolve: ImageResolver,
    *,
    native: bool,
) -> tuple[Item | None, list[Problem]]:
    if not isinstance(raw, Mapping):
        return None, [("", f"an item must be a mapping, not {_describe(raw)}")]
    r = _Reader(raw)
    r.unknown(allowed)
    item_id = r.string("id", required=True)
    kind = r.string("type", required=True)
    if kind is not None and kind not in ITEM_TYPES:
        r.fail("type", f"{kind!r} is not one of {', '.join(ITEM_TYPES)}")
        kind = None
    knowledge_point = r.string("knowledge_point", required=native)
    difficulty = r.integer("difficulty", required=native)
    score = r.number("score", 1.0)
    stem = r.string("stem", required=True, clean=True)
    images = _images(r, resolve)
    options = _options(r, resolve)
    key = _key(r, kind)
    shuffle = r.boolean("shuffle", True)
    mapping = _mapping(r)
    explanation = r.string("explanation", required=False, clean=True)
    kp_name: str | None = None
    if native:
        occupation, level = defaults.occupation, defaults.level
        names = defaults.knowledge_points
        if names is not None and knowledge_point is not None:
            if knowledge_point in names:
                kp_name = names[knowledge_point]
            else:
                r.fail("knowledge_point", f"{knowledge_point!r} is not in knowledge_points")
    else:
        occupation = r.string("occupation", required=False)
        level = r.integer("level", required=False)
        kp_name = r.string("knowledge_point_name", required=False)
        source = _source(r)
    if item_id is None or kind is None or stem is None or score is None:
        return None, r.problems
    item = Item(
        id=item_id,
        type=kind,
        stem=stem,
        key=key,
        options=options,
        occupation=occupation,
        level=level,
        knowledge_point=knowledge_point,
        knowledge_point_name=kp_name,
        difficulty=difficulty,
        score=score,
        shuffle=shuffle,
        mapping=mapping,
        explanation=explanation or None,
        images=images,
        source=source,
    )
    # Report rule violations too, except on fields that already failed to read.
    failed = {_root(field) for field, _ in r.problems}
    problems = r.problems + [p for p in item_problems(item) if _root(p[0]) not in failed]
    return (None, problems) if problems else (item, [])


def _root(field: str) -> str:
    return field.split(".")[0].split("[")[0]


def _image(r: _Reader, value: Any, field: str, resolve: ImageResolver) -> ImageRef | None:
    if isinstance(value, str):
        src, alt = value.strip(), ""
    elif isinstance(value, Mapping) and isinstance(value.get("src"), str):
        extra = set(value) - {"src", "alt"}
        if extra:
            r.fail(field, f"unknown image field(s) {', '.join(sorted(map(str, extra)))}")
        alt_value = value.get("alt", "")
        if not isinstance(alt_value, str):
            r.fail(f"{field}.alt", "must be text")
            alt_value = ""
        src, alt = value["src"].strip(), clean_text(alt_value)
    else:
        r.fail(field, "an image is a path, a data URI, or {src, alt}")
        return None
    resolved, problem = resolve(src)
    if problem:
        r.fail(field, f"{src[:80]!r}: {problem}")
        return None
    return ImageRef(src=resolved, alt=alt)


def _images(r: _Reader, resolve: ImageResolver) -> tuple[ImageRef, ...]:
    value = r.entries("images", "must be a list")
    found = [_image(r, entry, f"images[{i}]", resolve) for i, entry in enumerate(value)]
    return tuple(image for image in found if image is not None)


def _options(r: _Reader, resolve: ImageResolver) -> tuple[Option, ...]:
    value = r.entries("options", "must be a list of {id, text}")
    options: list[Option] = []
    for index, entry in enumerate(value):
        where = f"options[{index}]"
        if not isinstance(entry, Mapping):
            r.fail(where, "an option is a mapping {id, text}")
            continue
        sub = _Reader(entry, prefix=f"{where}.")
        sub.unknown(OPTION_FIELDS)
        option_id = sub.string("id", required=True)
        text = sub.string("text", required=entry.get("image") is None, clean=True)
        image = None
        if entry.get("image") is not None:
            image = _image(sub, entry["image"], "image", resolve)
        pinned = sub.boolean("pinned", False)
        r.problems += sub.problems
        if option_id is not None:
            options.append(Option(id=option_id, text=text or "", image=image, pinned=pinned))
    return tuple(options)


def _key(r: _Reader, kind: str | None) -> tuple[str, ...]:
    value = r.raw.get("key")
    if value is None:
        r.fail("key", "is required")
        return ()
    if not isinstance(value, list) or not value:
        r.fail("key", "must be a non-empty list, e.g. [A] or [A, C] or [true]")
        return ()
    key: list[str] = []
    for entry in value:
        if kind == "true_false":
            if isinstance(entry, bool):
                key.append("true" if entry else "false")
            elif isinstance(entry, str) and entry.strip().lower() in ("true", "false"):
                key.append(entry.strip().lower())
            else:
                r.fail("key", f"a true/false key is [true] or [false], not {entry!r}")
        elif isinstance(entry, str):
            key.append(entry.strip())
        else:
            r.fail("key", f"key entries are option ids (text), not {_describe(entry)}")
    return tuple(key)


def _mapping(r: _Reader) -> ScoreMapping | None:
    value = r.raw.get("mapping")
    if value is None:
        return None
    if not isinstance(value, Mapping):
        r.fail("mapping", "must be {default, lower_bound, upper_bound, entries}")
        return None
    sub = _Reader(value, prefix="mapping.")
    sub.unknown(MAPPING_FIELDS)
    default = sub.number("default", 0.0)
    lower = sub.number("lower_bound", None)
    upper = sub.number("upper_bound", None)
    entries_raw = value.get("entries")
    entries: list[tuple[str, float]] = []
    if not isinstance(entries_raw, Mapping) or not entries_raw:
        sub.fail("entries", "must map option ids to values, e.g. {A: 1, B: -0.5}")
    else:
        for option_id, mapped in entries_raw.items():
            if not isinstance(option_id, str):
                sub.fail("entries", f"option id {option_id!r} must be text (quote it)")
            elif isinstance(mapped, bool) or not isinstance(mapped, int | float):
                sub.fail(f"entries.{option_id}", "must be a number")
            else:
                entries.append((option_id, float(mapped)))
    r.problems += sub.problems
    if sub.problems:
        return None
    return ScoreMapping(
        entries=tuple(entries), default=default or 0.0, lower_bound=lower, upper_bound=upper
    )


def _source(r: _Reader) -> SourceRef | None:
    value = r.raw.get("source")
    if value is None:
        return None
    if (
        not isinstance(value, Mapping)
        or not isinstance(value.get("file"), str)
        or not isinstance(value.get("location", ""), str)
    ):
        r.fail("source", "must be {file, location}")
        return None
    return SourceRef(file=value["file"], location=value.get("location", ""))


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "a mapping"
    return type(value).__name__
