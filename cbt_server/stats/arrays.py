"""Result documents as flat NumPy arrays: one row per candidate, one per item answered.

The builder takes results in batches (the database edge reads pages), so only the
compact arrays are ever held for a whole selection, never the parsed documents. A
result is a published one (`/api/v1/results`, the centre's pulled files: scores as
decimal strings) or the stored facts of one (scores as numbers); either is read the same.
JSON is decoded with msgspec straight into small structs of the fields used, untracked
by the cycle collector: with `json.loads`, decoding was most of the time, and most of
that the collector walking the parsed page again and again.
Scores are read as numbers rounded to two places: the published decimal strings are
exactly those (the grader stores two-place scores, `results.formats.format_score`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import msgspec
import numpy as np
from numpy.typing import NDArray

from cbt_server.results.formats import format_score
from cbt_server.stats.errors import ResultDataError

__all__ = [
    "ArrayBuilder",
    "ItemRow",
    "ResultArrays",
    "ResultDataError",
    "ResultRow",
    "decode_responses",
    "decode_result",
    "from_documents",
    "result_rows",
]

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]

_SEP = "\x1f"  # joins a response's labels into one key; never inside a label


@dataclass(frozen=True, slots=True)
class ResultArrays:
    """A selection of graded results, by candidate and by (candidate, slot) entry.

    Candidates: `tickets`, `totals` (result score), `passed`, `lengths` (items on the
    paper). Entries, one per item on a candidate's paper in paper order: `cand` (the
    candidate's row), `slot` (0-based position), `item` (index into `item_ids`), `score`,
    `max_score`, `combo` (index into `combos`, the distinct responses as label tuples).
    """

    tickets: NDArray[np.str_]
    totals: Floats
    passed: NDArray[np.bool_]
    lengths: Ints
    cand: Ints
    slot: Ints
    item: Ints
    score: Floats
    max_score: Floats
    combo: Ints
    item_ids: tuple[str, ...]
    combos: tuple[tuple[str, ...], ...]

    @property
    def n(self) -> int:
        return int(self.totals.shape[0])


class ItemRow(msgspec.Struct, gc=False):
    """What statistics read of one item of a result (other fields are skipped unread).

    `gc=False`: a selection holds millions of these for a moment, and objects the cycle
    collector tracks made it run over and over (five times the decoding time)."""

    item_id: str
    response: tuple[str, ...] | str | None = None
    score: float | None = 0  # a published "1.50" is read as 1.5 (strict=False)
    max_score: float | None = 0


class ResultRow(msgspec.Struct, gc=False):
    """What statistics read of one result: published (scores as decimal strings) or stored
    (numbers); `session`, `occupation`, `level` and `final` only for filtering files."""

    ticket: str
    score: float
    passed: bool
    responses: list[ItemRow] | None = None
    session: str | None = None
    occupation: str | None = None
    level: int | None = None
    final: bool | None = None


# strict=False reads numbers written as strings (the published scores) as numbers.
_RESPONSES = msgspec.json.Decoder(list[ItemRow] | None, strict=False)
_RESULT = msgspec.json.Decoder(ResultRow, strict=False)


def decode_responses(text: str | bytes | None) -> list[ItemRow]:
    """A stored result's `responses` JSON text as rows; ResultDataError says what is wrong."""
    try:
        return _RESPONSES.decode(text or b"null") or []
    except msgspec.MsgspecError as error:
        raise ResultDataError(f"responses: {error}") from None


def decode_result(text: str | bytes) -> ResultRow:
    """One result document (a JSON line) as a row; ResultDataError says what is wrong."""
    try:
        return _RESULT.decode(text)
    except msgspec.MsgspecError as error:
        raise ResultDataError(str(error)) from None


def result_rows(documents: Iterable[Mapping[str, Any]]) -> list[ResultRow]:
    """Result documents given as dicts (published or stored) as rows."""
    try:
        return msgspec.convert(list(documents), list[ResultRow], strict=False)
    except msgspec.MsgspecError as error:
        raise ResultDataError(str(error)) from None


def _key(response: tuple[str, ...] | str | None) -> str:
    """The response as one string (its labels joined), to count distinct responses."""
    if isinstance(response, tuple):
        return _SEP.join(response)
    return response or ""


class ArrayBuilder:
    """Collects results batch by batch; `build()` gives the `ResultArrays`."""

    def __init__(self) -> None:
        self._tickets: list[str] = []
        self._totals: list[Any] = []
        self._passed: list[bool] = []
        self._lengths: list[int] = []
        self._items: dict[str, int] = {}
        self._combo_keys: dict[str, int] = {}
        self._scores: list[Floats] = []
        self._maxima: list[Floats] = []
        self._item_codes: list[Ints] = []
        self._combo_codes: list[Ints] = []

    def add(self, batch: list[ResultRow]) -> None:
        """Add a batch of results."""
        rows = [r.responses or [] for r in batch]
        flat = [entry for r in rows for entry in r]
        ids = [e.item_id for e in flat]
        keys = [_key(e.response) for e in flat]
        for item_id in set(ids).difference(self._items):
            if not item_id:
                raise ResultDataError("item_id: empty in a result")
            self._items[item_id] = len(self._items)
        for key in set(keys).difference(self._combo_keys):
            self._combo_keys[key] = len(self._combo_keys)
        item_of, combo_of = self._items, self._combo_keys
        self._scores.append(_numbers([e.score for e in flat], "item score"))
        self._maxima.append(_numbers([e.max_score for e in flat], "item max_score"))
        self._item_codes.append(np.fromiter((item_of[i] for i in ids), np.int64, len(ids)))
        self._combo_codes.append(np.fromiter((combo_of[k] for k in keys), np.int64, len(keys)))
        self._tickets.extend(r.ticket for r in batch)
        self._totals.extend(r.score for r in batch)
        self._passed.extend(r.passed for r in batch)
        self._lengths.extend(len(r) for r in rows)

    def build(self) -> ResultArrays:
        item_ids = sorted(self._items)
        remap = np.empty(len(item_ids), np.int64)
        for new, item_id in enumerate(item_ids):
            remap[self._items[item_id]] = new
        keys = sorted(self._combo_keys, key=self._combo_keys.__getitem__)
        lengths = np.array(self._lengths, dtype=np.int64)
        return ResultArrays(
            tickets=np.array(self._tickets, dtype=np.str_),
            totals=_numbers(self._totals, "score"),
            passed=np.array(self._passed, dtype=np.bool_),
            lengths=lengths,
            cand=np.repeat(np.arange(lengths.shape[0], dtype=np.int64), lengths),
            slot=_positions(lengths),
            item=remap[_joined(self._item_codes, np.int64)],
            score=_joined(self._scores, np.float64),
            max_score=_joined(self._maxima, np.float64),
            combo=_joined(self._combo_codes, np.int64),
            item_ids=tuple(item_ids),
            combos=tuple(tuple(k.split(_SEP)) if k else () for k in keys),
        )


def _joined(parts: list[Any], dtype: type) -> Any:
    return np.concatenate(parts).astype(dtype, copy=False) if parts else np.empty(0, dtype)


def _positions(lengths: Ints) -> Ints:
    """0, 1, …, L−1 for each length L, concatenated (vectorised)."""
    total = int(lengths.sum())
    starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
    return np.arange(total, dtype=np.int64) - starts


def _numbers(values: list[Any], what: str) -> Floats:
    """Scores as float64 rounded to two places; a non-number names `what`."""
    try:
        array = np.array([0 if v is None else v for v in values], dtype=np.float64)
    except (TypeError, ValueError):
        raise ResultDataError(f"{what}: not a number in every result") from None
    if not np.isfinite(array).all():
        raise ResultDataError(f"{what}: not a finite number in every result")
    rounded = np.round(array, 2)
    # A stored score with more than two places (the grader never writes one) is published
    # rounded half-up, which np.round (half to even, in binary) may not match: take the
    # published value itself for those few.
    for index in np.flatnonzero(np.abs(array * 100 - np.round(array * 100)) > 1e-6).tolist():
        rounded[index] = float(format_score(float(array[index])))
    return rounded


def from_documents(documents: Iterable[Mapping[str, Any]]) -> ResultArrays:
    """The arrays of these result documents (dicts), in one batch."""
    builder = ArrayBuilder()
    builder.add(result_rows(documents))
    return builder.build()
