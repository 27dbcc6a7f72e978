"""Reading the results `cbt-server centre pull` kept (`<site>.jsonl` per site) as arrays.

The feed sends a result again whenever it changes (made final when the leader signs),
so a site's file can hold one result more than once: the last line of each (session,
ticket) is the result as it stands, and only that one is counted. Refused results
(`<site>.rejected.jsonl`) are never read.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import msgspec

from cbt_server.results.feed import Filters
from cbt_server.stats.arrays import ArrayBuilder, ResultArrays, ResultRow, decode_result
from cbt_server.stats.errors import ResultDataError

BATCH = 2000


def site_files(folder: Path) -> dict[str, Path]:
    """Each site's results file in `folder`, by site name."""
    if not folder.is_dir():
        raise ResultDataError(f"{folder}: not a folder")
    return {
        path.name.removesuffix(".jsonl"): path
        for path in sorted(folder.glob("*.jsonl"))
        if not path.name.endswith(".rejected.jsonl")
    }


class _Key(msgspec.Struct, gc=False):
    """Which result a line is (the rest of the line is skipped unread)."""

    ticket: str
    session: str | None = None


_KEY = msgspec.json.Decoder(_Key)


def _lines(path: Path) -> Iterator[tuple[int, bytes]]:
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, 1):
            if line.strip():
                yield number, line


def _selected(row: ResultRow, filters: Filters) -> bool:
    return (
        (filters.session is None or row.session == filters.session)
        and (filters.occupation is None or row.occupation == filters.occupation)
        and (filters.level is None or row.level == filters.level)
        and (filters.final is None or row.final == filters.final)
    )


def read_site(path: Path, filters: Filters) -> ResultArrays:
    """The arrays of one site's file: the last line of each result, if the filters take it."""
    last: dict[tuple[str | None, str], int] = {}
    for number, line in _lines(path):
        try:
            key = _KEY.decode(line)
        except msgspec.MsgspecError as error:
            raise ResultDataError(f"{path}:{number}: {error}") from None
        last[(key.session, key.ticket)] = number
    keep = set(last.values())
    builder = ArrayBuilder()
    batch: list[ResultRow] = []
    for number, line in _lines(path):
        if number not in keep:
            continue
        try:
            row = decode_result(line)
        except ResultDataError as error:
            raise ResultDataError(f"{path}:{number}: {error}") from None
        if _selected(row, filters):
            batch.append(row)
        if len(batch) == BATCH:
            _add(builder, batch, path)
            batch = []
    _add(builder, batch, path)
    return builder.build()


def _add(builder: ArrayBuilder, batch: list[ResultRow], path: Path) -> None:
    try:
        builder.add(batch)
    except ResultDataError as error:
        raise ResultDataError(f"{path}: {error}") from None


def read_sites(folder: Path, filters: Filters) -> dict[str, ResultArrays]:
    """Every site's arrays from a folder of pulled results."""
    files = site_files(folder)
    if not files:
        raise ResultDataError(f"{folder}: no <site>.jsonl files (run `cbt-server centre pull`)")
    return {site: read_site(path, filters) for site, path in files.items()}
