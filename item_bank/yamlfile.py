"""Safe YAML loading that remembers line numbers, so errors can say where they are.

Mappings load as `LineDict` (a dict with a `.line` attribute, 1-based). Duplicate keys,
which PyYAML would silently overwrite, are errors: in an item file they hide mistakes.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node


class LineDict(dict[Any, Any]):
    """A dict from YAML that knows the line its mapping started on (0 if unknown)."""

    line: int = 0


class YamlError(ValueError):
    """The text is not YAML (or has a duplicate key); the message names the line."""

    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.line = line


# The C parser (libyaml) when PyYAML has it: several times faster on a whole bank.
_Base: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _LineLoader(_Base):  # type: ignore[misc, valid-type]
    pass


def _construct_mapping(loader: _LineLoader, node: Node) -> Any:
    assert isinstance(node, MappingNode)
    data = LineDict()
    data.line = node.start_mark.line + 1
    yield data
    seen: set[Any] = set()
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=True)
        try:
            duplicate = key in seen
        except TypeError:
            raise ConstructorError(
                None, None, "a mapping key must be a plain value", key_node.start_mark
            ) from None
        if duplicate:
            raise ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    data.update(loader.construct_mapping(node, deep=True))


_LineLoader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)


def load_yaml(text: str) -> Any:
    """Parse one YAML document; raise `YamlError` with the line of the first problem."""
    try:
        return yaml.load(text, Loader=_LineLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "invalid YAML"
        raise YamlError(f"invalid YAML: {problem}", line) from None
    except yaml.YAMLError as exc:
        raise YamlError(f"invalid YAML: {exc}", None) from None


def line_of(value: Any) -> int | None:
    """The line a loaded mapping started on, if known."""
    line = getattr(value, "line", 0)
    return line or None
