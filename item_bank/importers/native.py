"""Importer for the project's own item files (`format: cbt-items/1`, YAML or JSON).

The format is documented in docs/item-format.md. Every problem in the file is reported
with its line (YAML) or position in `items` and the field; a file with any problem
imports nothing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from item_bank.importers.base import ImportIssue, ImportResult, import_file
from item_bank.model import Item, SourceRef
from item_bank.parse import Defaults, ImageResolver, parse_native_item
from item_bank.text import MAX_IMAGE_BYTES, data_uri, image_src_problem
from item_bank.validate import level_field, occupation_field
from item_bank.yamlfile import YamlError, line_of, load_yaml

FORMAT = "cbt-items/1"
TOP_FIELDS = frozenset({"format", "occupation", "level", "knowledge_points", "items"})


def import_native(path: str | Path) -> ImportResult:
    """Import one native item file (.yaml, .yml or .json)."""
    return import_file(path, _parse_file)


def _parse_file(path: Path, source: str, raw: bytes) -> ImportResult:
    json_syntax = path.suffix.lower() == ".json"
    return parse_native(raw, source, json_syntax=json_syntax, resolve=_file_resolver(path.parent))


def parse_native(
    raw: bytes, source: str, *, json_syntax: bool, resolve: ImageResolver
) -> ImportResult:
    """Import native item data already in memory; `source` names it in messages."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return ImportResult.failed(source, f"byte {exc.start}", "file is not UTF-8 text")
    try:
        document = _load(text, json_syntax)
    except YamlError as exc:
        where = f"line {exc.line}" if exc.line else ""
        return ImportResult.failed(source, where, str(exc))
    except json.JSONDecodeError as exc:
        return ImportResult.failed(
            source, f"line {exc.lineno}, column {exc.colno}", f"invalid JSON: {exc.msg}"
        )
    return _document(document, source, resolve)


def _load(text: str, json_syntax: bool) -> Any:
    return json.loads(text) if json_syntax else load_yaml(text)


def _document(document: Any, source: str, resolve: ImageResolver) -> ImportResult:
    errors: list[ImportIssue] = []

    def fail(location: str, reason: str) -> None:
        errors.append(ImportIssue(source, location, reason))

    if not isinstance(document, Mapping):
        return ImportResult.failed(source, "", f"expected a mapping with format: {FORMAT}")
    fmt = document.get("format")
    if fmt != FORMAT:
        if isinstance(fmt, str) and fmt.startswith("cbt-blueprint/"):
            return ImportResult.failed(
                source, "field format", "this is a blueprint file, not an item file"
            )
        return ImportResult.failed(source, "field format", f"must be {FORMAT!r}, not {fmt!r}")
    for name in document:
        if name not in TOP_FIELDS:
            fail(f"field {name}", "unknown top-level field")
    occupation = occupation_field(document.get("occupation"), fail)
    level = level_field(document.get("level"), fail)
    names = _knowledge_points(document.get("knowledge_points"), fail)
    items_raw = document.get("items")
    if not isinstance(items_raw, list) or not items_raw:
        fail("field items", "must be a non-empty list of items")
        items_raw = []
    defaults = Defaults(occupation=occupation, level=level, knowledge_points=names)
    items: list[Item] = []
    first_seen: dict[str, str] = {}
    for index, raw in enumerate(items_raw):
        where = _where(index, raw)
        item, problems = parse_native_item(raw, defaults, SourceRef(source, where), resolve)
        for field, reason in problems:
            fail(f"{where}, field {field}" if field else where, reason)
        item_id = raw.get("id") if isinstance(raw, Mapping) else None
        if isinstance(item_id, str):
            item_id = item_id.strip()
            if item_id in first_seen:
                fail(
                    f"{where}, field id", f"id {item_id!r} is already used at {first_seen[item_id]}"
                )
            else:
                first_seen[item_id] = where
        if item is not None:
            items.append(item)
    return ImportResult.build(source, items, errors)


def _where(index: int, raw: Any) -> str:
    parts = []
    line = line_of(raw)
    if line:
        parts.append(f"line {line}")
    label = f"items[{index}]"
    if isinstance(raw, Mapping) and isinstance(raw.get("id"), str):
        label += f" (id {raw['id']})"
    parts.append(label)
    return ", ".join(parts)


def _knowledge_points(value: Any, fail: Any) -> dict[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        fail("field knowledge_points", "must map codes to names, e.g. {DG01: 电工基础知识}")
        return None
    names: dict[str, str] = {}
    for code, name in value.items():
        if not isinstance(code, str) or not isinstance(name, str):
            fail(f"field knowledge_points.{code}", "codes and names must be text (quote them)")
        else:
            names[code] = name.strip()
    return names


def _file_resolver(folder: Path) -> ImageResolver:
    """Embed images named relative to the item file as data URIs."""

    def resolve(src: str) -> tuple[str, str | None]:
        problem = image_src_problem(src)
        if problem or src.startswith("data:"):
            return src, problem
        base = folder.resolve()
        target = (folder / src).resolve()
        if not target.is_relative_to(base):
            return src, "image path leaves the item file's folder"
        try:
            if target.stat().st_size > MAX_IMAGE_BYTES:
                return src, f"image is larger than {MAX_IMAGE_BYTES} bytes"
            return data_uri(target.read_bytes(), target.suffix), None
        except FileNotFoundError:
            return src, "image file not found"
        except OSError as exc:
            return src, f"cannot read image: {exc.strerror or exc}"

    return resolve
