"""The lab's JSON documents as pydantic models: the report a lab PC sends, the verdict.

`LabReport` is the server's side of the contract with `lab_agent.report.build_report`
(the agent runs on lab PCs with the standard library only, so it cannot import this
module; tests/lab_agent/test_report_model.py checks that what the agent builds is what
this model accepts). `parse_report` validates a report strictly and turns pydantic's
errors into one InvalidInput naming the field, e.g. "report.cpu.mhz: must be a number or
null". `Readiness` is the verdict GET /api/v1/lab/readiness serves.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import ErrorDetails, PydanticCustomError

from cbt_server.errors import InvalidInput

MAX_COUNT = 4096  # cores
MAX_ENTRIES = 64  # browsers, checks
MAX_TEXT = 1024


def _not_blank(value: str) -> str:
    if not value.strip():
        raise PydanticCustomError("blank", "must not be empty")
    return value.strip()


def _text(limit: int) -> Any:
    """Text of at most `limit` characters without control characters (tab allowed)."""
    return Field(max_length=limit, pattern=r"^[^\x00-\x08\x0a-\x1f]*$")


Measure = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Count = Annotated[int, Field(ge=1, le=MAX_COUNT)]


class _Strict(BaseModel):
    """Exact JSON types (no "1" for 1, no true for 1), every field present, no others."""

    model_config = ConfigDict(strict=True, extra="forbid")


class Cpu(_Strict):
    model: Annotated[str, _text(256)]
    physical_cores: Count | None
    logical_cores: Count
    mhz: Measure | None
    score_single: Measure
    score_multi: Measure
    i3_or_better: bool


class Browser(_Strict):
    name: Annotated[str, _text(64)]
    version: Annotated[str, _text(64)] | None
    path: Annotated[str, _text(MAX_TEXT)]


class Link(_Strict):
    down_mbps: Measure
    up_mbps: Measure
    rtt_ms: Measure


class ReportCheck(_Strict):
    name: Annotated[str, _text(64)]
    passed: bool
    detail: Annotated[str, _text(MAX_TEXT)]


class LabReport(_Strict):
    """The JSON report of one lab PC, as POST /api/v1/lab/reports accepts and stores it."""

    hostname: Annotated[str, _text(255), AfterValidator(_not_blank)]
    cpu: Cpu
    memory_gb: Measure | None
    disk_free_gb: Measure | None
    os: Annotated[str, _text(256)]
    screen: Annotated[str, _text(32)]
    browsers: Annotated[list[Browser], Field(max_length=MAX_ENTRIES)]
    link: Link
    checks: Annotated[list[ReportCheck], Field(max_length=MAX_ENTRIES)]
    passed: bool


def parse_report(data: Any) -> dict[str, Any]:
    """A clean copy of a report (hostname stripped, numbers as floats), or InvalidInput
    naming the first bad field."""
    try:
        return LabReport.model_validate(data).model_dump()
    except ValidationError as exc:
        raise InvalidInput(describe_error(LabReport, exc.errors(), "report")) from None


# --- errors as the agent's operator reads them -----------------------------------------

_OBJECT_SHAPE = ("missing", "extra_forbidden")


def describe_error(model: type[BaseModel], errors: Sequence[ErrorDetails], root: str) -> str:
    """The first problem, worded for people: "<where>: <what is wrong>".

    Problems with an object's set of fields come before problems with values, outer
    objects before inner ones, as a reader would fix them.
    """
    first = min(
        range(len(errors)),
        key=lambda i: (errors[i]["type"] not in _OBJECT_SHAPE, len(errors[i]["loc"]), i),
    )
    error = errors[first]
    if error["type"] in _OBJECT_SHAPE:
        kind, parent = error["type"], error["loc"][:-1]
        names = [str(e["loc"][-1]) for e in errors if (e["type"], e["loc"][:-1]) == (kind, parent)]
        if error["type"] == "missing":
            return f"{_where(root, parent)}: missing {', '.join(names)}"
        return f"{_where(root, parent)}: unknown field {', '.join(sorted(names))}"
    return f"{_where(root, error['loc'])}: {_what(model, error)}"


def _where(root: str, loc: Sequence[int | str]) -> str:
    parts = [root]
    for part in loc:
        parts.append(f"[{part}]" if isinstance(part, int) else f".{part}")
    return "".join(parts)


def _what(model: type[BaseModel], error: ErrorDetails) -> str:
    kind, ctx = error["type"], error.get("ctx") or {}
    expected = _types_at(model, error["loc"])
    or_null = " or null" if type(None) in expected else ""
    if kind == "model_type":
        return "must be a JSON object"
    if kind == "list_type":
        return "must be a list"
    if kind == "too_long":
        return f"at most {ctx['max_length']} entries"
    if kind == "string_type":
        return "must be text"
    if kind == "string_too_long":
        return f"at most {ctx['max_length']} characters"
    if kind == "string_pattern_mismatch":
        return "must not contain control characters"
    if kind == "bool_type":
        return "must be true or false"
    if int in expected and kind.startswith(("int", "greater_than", "less_than")):
        return f"must be a whole number from 1 to {MAX_COUNT}{or_null}"
    if kind.startswith("float"):
        return f"must be a number{or_null}"
    if kind in ("finite_number", "greater_than_equal"):
        return f"must be a finite number >= 0, not {error['input']!r}"
    return str(error["msg"])  # our own PydanticCustomError messages, or pydantic's words


def _types_at(model: type[BaseModel], loc: Sequence[int | str]) -> set[Any]:
    """The types the field at `loc` (a path through models and lists) may hold."""
    annotation: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        inner = _model_in(annotation)
        if inner is None or part not in inner.model_fields:
            return set()
        annotation = inner.model_fields[part].annotation
    return _members(annotation)


def _members(annotation: Any) -> set[Any]:
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        return set().union(*(_members(arg) for arg in typing.get_args(annotation)))
    if origin is Annotated:
        return _members(typing.get_args(annotation)[0])
    return {annotation}


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The model an annotation holds: itself, or the item model of a list of models."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) is list:
        return _model_in(typing.get_args(annotation)[0])
    return None


# --- the readiness verdict --------------------------------------------------------------


class CheckRow(BaseModel):
    """One requirement as judged: its name, whether it passed, and why."""

    name: str
    passed: bool
    detail: str


class PcRow(BaseModel):
    """The newest report of one PC, as judged here."""

    hostname: str
    received_at: str
    passed: bool
    failing: list[CheckRow]
    cpu_model: str | None
    score_single: float | None
    score_multi: float | None
    down_mbps: float | None
    up_mbps: float | None
    rtt_ms: float | None


class ServerSummary(BaseModel):
    passed: bool
    cpu_model: str
    logical_cores: int
    memory_gb: float | None
    disk_free_gb: float | None
    checks: list[CheckRow]


class LinkSummary(BaseModel):
    slowest_down_mbps: float | None
    slowest_down_host: str | None
    median_down_mbps: float | None
    slowest_up_mbps: float | None
    median_up_mbps: float | None
    median_rtt_ms: float | None
    max_rtt_ms: float | None


class LabAdmin(BaseModel):
    named: bool
    name: str | None


class RoomPlan(BaseModel):
    candidates: int
    paper_bytes: int
    seconds: float | None
    basis: Literal["passing PCs", "reported PCs", "no reports"]


class Readiness(BaseModel):
    """Is this site fit to hold an exam, with every reason it is not (docs/lab-readiness.md)."""

    ready: bool
    reasons: list[str]
    warnings: list[str]
    required_pcs: int
    pcs_reported: int
    pcs_passing: int
    pcs_stale: int
    server: ServerSummary
    link: LinkSummary
    lab_admin: LabAdmin
    room: RoomPlan
    pcs: list[PcRow]
    generated_at: str


# --- query parameters -------------------------------------------------------------------


def whole_number(raw: str, name: str, low: int, high: int, unit: str = "") -> int:
    """A query parameter holding a whole number from `low` to `high` (say what it counts
    in `unit`, e.g. " of candidates"), or InvalidInput naming the parameter."""
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInput(f"{name}: must be a whole number{unit}, not {raw!r}") from None
    if not low <= value <= high:
        raise InvalidInput(f"{name}: must be between {low} and {high}, not {value}")
    return value
