"""docs/protocol.md is complete: every example parses, every message type and every error
code a client can receive is documented."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from pathlib import Path

from cbt_server import errors
from cbt_server.protocol import (
    ErrorCode,
    Message,
    MessageType,
    parse_candidate,
    parse_proctor,
    parse_to_candidate,
    parse_to_proctor,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"
BLOCK = re.compile(r"```json (to-server|to-candidate|from-console|to-console)\n(.*?)```", re.S)
PARSERS: dict[str, Callable[[str], Message]] = {
    "to-server": parse_candidate,
    "to-candidate": parse_to_candidate,
    "from-console": parse_proctor,
    "to-console": parse_to_proctor,
}


def examples() -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for m in BLOCK.finditer(DOC.read_text(encoding="utf-8"))]


def test_every_example_is_a_valid_message() -> None:
    found = examples()
    assert len(found) >= 30
    for direction, text in found:
        message = PARSERS[direction](text)
        assert message is not None


def test_every_message_type_has_an_example() -> None:
    types = {PARSERS[d](t).type for d, t in examples()}  # type: ignore[attr-defined]
    assert types == {t.value for t in MessageType}


def test_every_error_code_is_in_the_table() -> None:
    text = DOC.read_text(encoding="utf-8")
    table = text[text.index("## 7. Errors") : text.index("## 8.")]
    codes = {e.value for e in ErrorCode} | {"unavailable", "internal"}
    for _, cls in inspect.getmembers(errors, inspect.isclass):
        if issubclass(cls, errors.DomainError) and cls is not errors.DomainError:
            codes.add(cls.code)
    missing = sorted(c for c in codes if f"`{c}`" not in table)
    assert missing == []
