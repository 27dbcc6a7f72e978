"""The published document of a graded result, and its canonical bytes (pure: no I/O).

The document is exactly what GET /api/v1/results returns for a result, minus
`signature`; the signature is Ed25519 over `canonical_bytes(document)`. Every value in it
is a string, an integer, a boolean, null, a list or an object: scores are decimal
strings with two places ("85.50") so that no float formatting differs between the
signer and a verifier written in another language. docs/results-api.md is the contract.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

SIGNATURE_FIELD = "signature"

# Fields of a result document, in the order the CSV and the docs list them.
FIELDS = (
    "ticket",
    "id_number",
    "name",
    "occupation",
    "level",
    "session",
    "room",
    "seat",
    "paper_id",
    "started_at",
    "submitted_at",
    "graded_at",
    "score",
    "max_score",
    "pass_mark",
    "passed",
    "final",
    "responses",
)
ITEM_FIELDS = ("item_id", "response", "correct", "score", "max_score")


class DocumentError(ValueError):
    """A stored value cannot be put into the published form; the message says which."""


def format_score(value: float | int | Decimal | str, what: str = "score") -> str:
    """A score as a decimal string with exactly two places, rounded half-up."""
    if isinstance(value, bool):
        raise DocumentError(f"{what}: not a number: {value!r}")
    if type(value) is int:
        return f"{value}.00"
    if type(value) is float:
        # Fast path for the usual case, a score the grader already rounded to 2 places:
        # its shortest repr has at most 2 decimals and needs no rounding.
        text = repr(value)
        whole, dot, decimals = text.partition(".")
        if dot and len(decimals) <= 2 and whole.lstrip("-").isdigit():
            padded = f"{whole}.{decimals:0<2}"
            return "0.00" if padded == "-0.00" else padded
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise DocumentError(f"{what}: not a number: {value!r}") from None
    if not number.is_finite():
        raise DocumentError(f"{what}: not a finite number: {value!r}")
    quantized = number.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return "0.00" if quantized.is_zero() else format(quantized, "f")


def format_time(value: datetime | None, what: str = "time") -> str | None:
    """A timestamp as ISO 8601 in UTC with microseconds and a +00:00 offset, or None."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise DocumentError(f"{what}: naive datetime (no time zone)")
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def map_responses(stored: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The published per-item rows from the rows stored in `results.responses`.

    The one place that knows the stored shape (cbt_server.exam.grading.ItemResult.to_dict:
    item_id, type, response list, correct, outcome, score, max_score, option_order).
    Extra stored keys are not published; a response stored as one string becomes a list.
    """
    items: list[dict[str, Any]] = []
    for index, row in enumerate(stored):
        if not isinstance(row, dict):
            raise DocumentError(f"responses[{index}]: not an object")
        item_id = row.get("item_id")
        if not isinstance(item_id, str) or not item_id:
            raise DocumentError(f"responses[{index}].item_id: missing")
        response = row.get("response")
        if response is None:
            response = []
        elif isinstance(response, str):
            response = [response]
        elif not isinstance(response, list) or not all(type(r) is str for r in response):
            raise DocumentError(f"responses[{index}].response: not a list of strings")
        items.append(
            {
                "item_id": item_id,
                "response": list(response),
                "correct": bool(row.get("correct", False)),
                "score": format_score(row.get("score", 0), f"responses[{index}].score"),
                "max_score": format_score(row.get("max_score", 0), f"responses[{index}].max_score"),
            }
        )
    return items


@dataclass(frozen=True, slots=True)
class ResultFacts:
    """Everything the document states, gathered from the result, candidate, session, room."""

    ticket: str
    id_number: str
    name: str
    occupation: str
    level: int
    session: str
    room: str
    seat: int
    paper_id: str
    started_at: datetime | None
    submitted_at: datetime
    graded_at: datetime
    score: float
    max_score: float
    pass_mark: float
    passed: bool
    final: bool
    responses: Sequence[Mapping[str, Any]]


def build_document(facts: ResultFacts) -> dict[str, Any]:
    """The published document (without signature)."""
    return {
        "ticket": facts.ticket,
        "id_number": facts.id_number,
        "name": facts.name,
        "occupation": facts.occupation,
        "level": int(facts.level),
        "session": facts.session,
        "room": facts.room,
        "seat": int(facts.seat),
        "paper_id": facts.paper_id,
        "started_at": format_time(facts.started_at, "started_at"),
        "submitted_at": format_time(facts.submitted_at, "submitted_at"),
        "graded_at": format_time(facts.graded_at, "graded_at"),
        "score": format_score(facts.score, "score"),
        "max_score": format_score(facts.max_score, "max_score"),
        "pass_mark": format_score(facts.pass_mark, "pass_mark"),
        "passed": bool(facts.passed),
        "final": bool(facts.final),
        "responses": map_responses(facts.responses),
    }


def canonical_bytes(document: Mapping[str, Any]) -> bytes:
    """UTF-8 JSON with sorted keys, no whitespace, non-ASCII as is; `signature` left out."""
    unsigned = {k: v for k, v in document.items() if k != SIGNATURE_FIELD}
    text = json.dumps(
        unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return text.encode("utf-8")
