"""The published document of a graded result, and its canonical bytes (pure: no I/O).

The document is exactly what GET /api/v1/results returns for a result, minus
`signature`; the signature is Ed25519 over `canonical_bytes(document)`. Its fields, their
order and how each stored value is published come from the model
`documents.UnsignedResult` (see `formats` for the conversions). docs/results-api.md is
the contract.
"""

from __future__ import annotations

import json
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel

from cbt_server.results.documents import SIGNATURE_FIELD, Published, UnsignedResult
from cbt_server.results.formats import MISSING, DocumentError

Convert = Callable[[Any, str], Any]


def _rows_of(model: type[BaseModel]) -> Convert:
    """Publish a stored list of objects as a list of `model` documents.

    Only the model's fields are published (extra stored keys are not); an error names
    the row and field, e.g. "responses[3].score: not a number".
    """
    fields = converters(model)

    def convert(stored: Sequence[Any], what: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for index, row in enumerate(stored):
            if not isinstance(row, dict):
                raise DocumentError(f"{what}[{index}]: not an object")
            try:
                rows.append({name: conv(row.get(name, MISSING), name) for name, conv in fields})
            except DocumentError as exc:
                raise DocumentError(f"{what}[{index}].{exc}") from None
        return rows

    return convert


def _as_is(value: Any, _what: str) -> Any:
    return value


def converters(model: type[BaseModel]) -> tuple[tuple[str, Convert], ...]:
    """Each field of `model`, in order, with how a stored value of it is published."""
    found: list[tuple[str, Convert]] = []
    for name, info in model.model_fields.items():
        marks = [m.convert for m in info.metadata if isinstance(m, Published)]
        args = typing.get_args(info.annotation)
        if marks:
            found.append((name, marks[0]))
        elif typing.get_origin(info.annotation) is list and _is_model(args[0]):
            found.append((name, _rows_of(args[0])))
        else:
            found.append((name, _as_is))
    return tuple(found)


def _is_model(kind: Any) -> bool:
    return isinstance(kind, type) and issubclass(kind, BaseModel)


_DOCUMENT = converters(UnsignedResult)
_RESPONSES = dict(_DOCUMENT)["responses"]


def build_document(facts: Mapping[str, Any]) -> dict[str, Any]:
    """The published document (without signature) from the stored value of each field."""
    return {name: convert(facts[name], name) for name, convert in _DOCUMENT}


def map_responses(stored: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The published per-item rows from the rows stored in `results.responses`.

    The stored shape is cbt_server.exam.grading.ItemResult.to_dict (item_id, type,
    response list, correct, outcome, score, max_score, option_order); a response stored
    as one string becomes a list.
    """
    rows: list[dict[str, Any]] = _RESPONSES(stored, "responses")
    return rows


def canonical_bytes(document: Mapping[str, Any]) -> bytes:
    """UTF-8 JSON with sorted keys, no whitespace, non-ASCII as is; `signature` left out."""
    unsigned = {k: v for k, v in document.items() if k != SIGNATURE_FIELD}
    text = json.dumps(
        unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return text.encode("utf-8")
