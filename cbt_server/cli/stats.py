"""`cbt-server stats`: item and test statistics as JSON and Excel (docs/statistics.md)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import click

from cbt_server.cli.core import CliError, settings_from
from cbt_server.errors import DomainError
from cbt_server.results.feed import Filters
from cbt_server.settings import Settings
from cbt_server.stats.errors import ResultDataError

# NumPy and openpyxl are imported by the command itself, not by every `cbt-server` start.


def _from_site_db(settings: Settings, filters: Filters) -> dict[str, Any]:
    from cbt_server.content_crypto import ContentCipher
    from cbt_server.db.migrate import migrated
    from cbt_server.stats.load import selection_statistics

    cipher = ContentCipher.from_data_dir(settings.data_path)

    async def go() -> dict[str, Any]:
        async with migrated(settings) as sessionmaker:
            return await selection_statistics(sessionmaker, cipher, filters)

    try:
        return asyncio.run(go())
    except DomainError as error:
        raise CliError(error.message) from None
    except OSError as error:
        raise CliError(f"database unreachable: {error}") from None


def _from_dir(folder: Path, filters: Filters) -> dict[str, Any]:
    from cbt_server.stats.compute import exam_figures
    from cbt_server.stats.pulled import read_sites
    from cbt_server.stats.sites import compare_sites

    sites = read_sites(folder, filters)
    return {
        "selection": {
            "session": filters.session,
            "occupation": filters.occupation,
            "level": filters.level,
            "final": filters.final,
            "results": sum(a.n for a in sites.values()),
        },
        "sites": {name: exam_figures(arrays) for name, arrays in sites.items()},
        "comparison": compare_sites(sites),
    }


def _write_json(path: Path, data: dict[str, Any]) -> None:
    text = json.dumps(data, ensure_ascii=False, allow_nan=False, indent=1)
    path.write_text(text + "\n", encoding="utf-8")


def _summary(answer: dict[str, Any]) -> str:
    test, items = answer["test"], answer["items"]
    flagged = sum(1 for row in items.values() if row["flags"])
    alpha = "—" if test["alpha"] is None else f"{test['alpha']:.3f}"
    mean = "—" if test["mean"] is None else f"{test['mean']:.2f}"
    return (
        f"{test['n']} result(s), mean {mean}, alpha {alpha}; "
        f"{len(items)} item(s), {flagged} flagged"
    )


@click.command("stats")
@click.option("--session", help="Only results of this session code.")
@click.option("--occupation", help="Only results of this occupation code (across sessions).")
@click.option("--level", type=click.IntRange(1, 5), help="Only results of this level (1-5).")
@click.option(
    "--final/--provisional", default=None, help="Only final, or only provisional results."
)
@click.option(
    "--from-dir",
    "from_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Compare items across sites from the <site>.jsonl files of `centre pull`.",
)
@click.option(
    "--json",
    "json_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the figures as JSON to this file.",
)
@click.option(
    "--xlsx",
    "xlsx_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the figures as an Excel workbook to this file.",
)
@click.pass_context
def stats_command(
    ctx: click.Context,
    session: str | None,
    occupation: str | None,
    level: int | None,
    final: bool | None,
    from_dir: Path | None,
    json_file: Path | None,
    xlsx_file: Path | None,
) -> None:
    """Item and test statistics of graded results (final or not): facility,
    discrimination, point-biserial, option shares and flags per item and per slot;
    mean, sd, alpha and SEM of the test. Reads this site's database; with --from-dir,
    the centre's pulled results, and compares each item's facility across sites.
    Prints a one-line summary; the figures go to --json and/or --xlsx."""
    filters = Filters(session=session, occupation=occupation, level=level, final=final)
    try:
        if from_dir is not None:
            data = _from_dir(from_dir, filters)
            compared = data["comparison"]["items"]
            outliers = sum(1 for row in compared.values() if row["flags"])
            line = (
                f"{len(data['sites'])} site(s), {data['selection']['results']} result(s), "
                f"{len(compared)} item(s), {outliers} easy at one site"
            )
        else:
            data = _from_site_db(settings_from(ctx), filters)
            line = _summary(data)
        if json_file is not None:
            _write_json(json_file, data)
        if xlsx_file is not None:
            from cbt_server.stats.workbook import write_workbook

            if from_dir is not None:
                write_workbook(xlsx_file, None, data["comparison"])
            else:
                write_workbook(xlsx_file, data)
    except ResultDataError as error:
        raise CliError(str(error)) from None
    except OSError as error:
        raise CliError(f"cannot write: {error}") from None
    click.echo(line)
