"""Result documents as flat NumPy arrays: one row per candidate, one per item answered.

The builder takes documents in batches (the database edge streams them), so only the
compact arrays are ever held for a whole selection, never the parsed documents. A
document is a published result (`/api/v1/results`, the centre's pulled files: scores as
decimal strings) or the stored facts of one (scores as numbers); either is read the same.
Scores are read as numbers rounded to two places: the published decimal strings are
exactly those (the grader stores two-place scores, `results.formats.format_score`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from cbt_server.stats.errors import ResultDataError

__all__ = ["ArrayBuilder", "ResultArrays", "ResultDataError", "from_documents"]

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


def _labels(response: Any) -> tuple[str, ...]:
    """A response as its labels (the published rule: null is none, a string is one)."""
    if response is None:
        return ()
    if isinstance(response, str):
        return (response,)
    if isinstance(response, list) and all(isinstance(r, str) for r in response):
        return tuple(response)
    raise ResultDataError(f"response {response!r:.60}: not a list of option labels")


def _key(response: Any) -> str:
    if response.__class__ is list:
        try:
            return _SEP.join(response)
        except TypeError:
            pass  # a non-string label: _labels names it
    return _SEP.join(_labels(response))


class ArrayBuilder:
    """Collects documents batch by batch; `build()` gives the `ResultArrays`."""

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

    def add(self, documents: Iterable[Mapping[str, Any]]) -> None:
        """Add a batch of result documents (each with ticket, score, passed, responses)."""
        batch = list(documents)
        try:
            tickets = [str(d["ticket"]) for d in batch]
            totals = [d["score"] for d in batch]
            passed = [bool(d["passed"]) for d in batch]
            rows = [d["responses"] or [] for d in batch]
        except (KeyError, TypeError) as missing:
            raise ResultDataError(f"a result lacks {missing}") from None
        flat = [entry for r in rows for entry in r]
        try:
            ids = [e["item_id"] for e in flat]
            scores = [e.get("score", 0) for e in flat]
            maxima = [e.get("max_score", 0) for e in flat]
            keys = [_key(e.get("response")) for e in flat]
        except (KeyError, TypeError, AttributeError) as bad:
            raise ResultDataError(f"an item row of a result is not readable: {bad}") from None
        for item_id in set(ids).difference(self._items):
            if not isinstance(item_id, str) or not item_id:
                raise ResultDataError(f"item_id {item_id!r:.40}: missing")
            self._items[item_id] = len(self._items)
        for key in set(keys).difference(self._combo_keys):
            self._combo_keys[key] = len(self._combo_keys)
        item_of, combo_of = self._items, self._combo_keys
        self._scores.append(_numbers(scores, "item score"))
        self._maxima.append(_numbers(maxima, "item max_score"))
        self._item_codes.append(np.fromiter((item_of[i] for i in ids), np.int64, len(ids)))
        self._combo_codes.append(np.fromiter((combo_of[k] for k in keys), np.int64, len(keys)))
        self._tickets.extend(tickets)
        self._totals.extend(totals)
        self._passed.extend(passed)
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
    return np.round(array, 2)


def from_documents(documents: Iterable[Mapping[str, Any]]) -> ResultArrays:
    """The arrays of these documents, in one batch."""
    builder = ArrayBuilder()
    builder.add(documents)
    return builder.build()
