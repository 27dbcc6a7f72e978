"""Reading the results `cbt-server centre pull` kept (`<site>.jsonl` per site) as arrays.

The feed sends a result again whenever it changes (made final when the leader signs),
so a site's file can hold one result more than once: the last line of each (session,
ticket) is the result as it stands, and only that one is counted. Refused results
(`<site>.rejected.jsonl`) are never read.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cbt_server.results.feed import Filters
from cbt_server.stats.arrays import ArrayBuilder, ResultArrays
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


def _documents(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                document = json.loads(line)
            except ValueError:
                raise ResultDataError(f"{path}:{number}: not a JSON line") from None
            if not isinstance(document, dict):
                raise ResultDataError(f"{path}:{number}: not a result object")
            yield number, document


def _selected(document: dict[str, Any], filters: Filters) -> bool:
    return (
        (filters.session is None or document.get("session") == filters.session)
        and (filters.occupation is None or document.get("occupation") == filters.occupation)
        and (filters.level is None or document.get("level") == filters.level)
        and (filters.final is None or document.get("final") == filters.final)
    )


def read_site(path: Path, filters: Filters) -> ResultArrays:
    """The arrays of one site's file: the last line of each result, if the filters take it."""
    last: dict[tuple[Any, Any], int] = {}
    for number, document in _documents(path):
        last[(document.get("session"), document.get("ticket"))] = number
    keep = set(last.values())
    builder = ArrayBuilder()
    batch: list[dict[str, Any]] = []
    try:
        for number, document in _documents(path):
            if number in keep and _selected(document, filters):
                batch.append(document)
            if len(batch) == BATCH:
                builder.add(batch)
                batch = []
        builder.add(batch)
    except ResultDataError as error:
        message = str(error)
        named = message if message.startswith(str(path)) else f"{path}: {message}"
        raise ResultDataError(named) from None
    return builder.build()


def read_sites(folder: Path, filters: Filters) -> dict[str, ResultArrays]:
    """Every site's arrays from a folder of pulled results."""
    files = site_files(folder)
    if not files:
        raise ResultDataError(f"{folder}: no <site>.jsonl files (run `cbt-server centre pull`)")
    return {site: read_site(path, filters) for site, path in files.items()}
