"""docs/security.md names tests as `path::test_name`: each must exist, and every test of
tests/security must be named there (a test that covers no listed threat, or a threat
whose test was renamed, is a gap in the page)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "security.md"
REFERENCE = re.compile(r"`(tests/[\w/]+\.py)::(\w+)`")


def defined_tests(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.name.startswith("test_")
    }


def references() -> set[tuple[str, str]]:
    return set(REFERENCE.findall(PAGE.read_text(encoding="utf-8")))


def test_every_test_named_in_the_threat_table_exists() -> None:
    named = references()
    assert len(named) >= 40
    missing = [
        f"{path}::{name}"
        for path, name in sorted(named)
        if not (ROOT / path).is_file() or name not in defined_tests(ROOT / path)
    ]
    assert missing == []


def test_every_security_test_covers_a_listed_threat() -> None:
    named = references()
    own = {
        (str(path.relative_to(ROOT)), name)
        for path in sorted((ROOT / "tests" / "security").glob("test_*.py"))
        if path.name != "test_docs.py"
        for name in defined_tests(path)
    }
    # The self-checks of the tests' own helpers are not threats.
    helpers = {
        ("tests/security/test_http_crawl.py", "test_the_error_shape_judge"),
        ("tests/security/test_pages.py", "test_the_finder_finds_what_the_csp_blocks"),
    }
    assert sorted(own - helpers - named) == []


def test_the_reference_pattern_reads_the_table() -> None:
    line = "| x | y | `tests/a/b.py::test_one`, `tests/c.py::test_two` |"
    assert REFERENCE.findall(line) == [("tests/a/b.py", "test_one"), ("tests/c.py", "test_two")]
