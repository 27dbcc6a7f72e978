"""The server's model of a lab report (cbt_server.lab_documents.LabReport) and the report
the agent builds are one contract: same fields, the agent's reports accepted as built,
and the agent kept free of the server and of pydantic (it runs on lab PCs with the
standard library only)."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

import lab_agent
from cbt_server.errors import InvalidInput
from cbt_server.lab_documents import Cpu, LabReport, Link, parse_report
from lab_agent.report import CPU_KEYS, LINK_KEYS, REPORT_KEYS
from tests.lab_agent.reports import report
from tests.lab_agent.test_link_report import sample_report


def test_the_model_has_the_agents_fields() -> None:
    assert tuple(LabReport.model_fields) == REPORT_KEYS
    assert tuple(Cpu.model_fields) == CPU_KEYS
    assert tuple(Link.model_fields) == LINK_KEYS


@pytest.mark.parametrize("score", [600.0, 120.0])
def test_a_report_the_agent_built_is_accepted_as_it_is(score: float) -> None:
    built = sample_report(score)
    assert parse_report(built) == built


def test_the_agent_imports_neither_the_server_nor_pydantic() -> None:
    root = Path(lab_agent.__file__).parent
    for path in root.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in ("cbt_server", "pydantic"), (path.name, name)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"browsers": [report()["browsers"][0]] * 65}, "report.browsers: at most 64 entries"),
        ({"screen": "x" * 40}, "report.screen: at most 32 characters"),
        ({"cpu__mhz": "fast"}, "report.cpu.mhz: must be a number or null"),
        ({"cpu__physical_cores": 1.5}, "report.cpu.physical_cores: must be a whole number"),
        ({"cpu__logical_cores": 5000}, "report.cpu.logical_cores: must be a whole number"),
        ({"browsers": [{"name": "x", "version": 1, "path": "p"}]}, "report.browsers[0].version"),
        ({"checks": [{"name": "x", "passed": True}]}, "report.checks[0]: missing detail"),
        ({"link": [1]}, "report.link: must be a JSON object"),
        ({"os": "a\x00b"}, "report.os: must not contain control characters"),
    ],
)
def test_a_bad_report_names_the_field(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_report(report(**changes))
    assert str(raised.value).startswith(message)


def test_missing_and_unknown_fields_are_listed_together() -> None:
    data = report()
    del data["os"], data["screen"]
    with pytest.raises(InvalidInput, match="^report: missing os, screen$"):
        parse_report(data)
    with pytest.raises(InvalidInput, match="^report: unknown field a, b$"):
        parse_report({**report(), "b": 1, "a": 2})
    with pytest.raises(InvalidInput, match="^report: must be a JSON object$"):
        parse_report([])
