"""`cbt-server centre ...`: what the city assessment centre runs against each site's server."""

from __future__ import annotations

from pathlib import Path

import click
from rich import progress as bar
from rich.console import Console

from cbt_server.centre.puller import PAGE_LIMIT, PullError, PullReport, run_pull
from cbt_server.cli.core import CliError


@click.group("centre")
def centre_group() -> None:
    """City assessment centre: its service (serve, site) and the file pull (pull)."""


@centre_group.command("pull")
@click.option("--server", required=True, help="Site server base URL, e.g. https://site-a:8080.")
@click.option(
    "--token",
    required=True,
    envvar="CBT_CENTRE_TOKEN",
    help="Bearer token with scope results:read (or set CBT_CENTRE_TOKEN).",
)
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for <site>.jsonl, <site>.rejected.jsonl and <site>.state.json.",
)
@click.option("--site", help="Name for this site's files [host_port of --server].")
@click.option(
    "--page-size",
    type=click.IntRange(1, 1000),
    default=PAGE_LIMIT,
    show_default=True,
    help="Results asked for per request.",
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
def pull(
    server: str, token: str, out_dir: Path, site: str | None, page_size: int, quiet: bool
) -> None:
    """Fetch every result the site graded since the last pull, verify each signature
    against the site key pinned on the first pull, and append the good ones to
    OUT/SITE.jsonl. Results whose signature fails are not kept: they go to
    OUT/SITE.rejected.jsonl and the command exits 1 naming their tickets. Network
    trouble exits 2; running again resumes where the last saved page ended."""
    console = Console(stderr=True)
    # A live bar only on a terminal: cron jobs and logs get the summary lines alone.
    progress = bar.Progress(
        bar.SpinnerColumn(),
        bar.TextColumn("[bold]{task.description}"),
        bar.BarColumn(),
        bar.TextColumn("{task.completed} kept, {task.fields[refused]} refused"),
        bar.TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=quiet or not console.is_terminal,
    )
    task = progress.add_task(f"pulling {server}", total=None, refused=0)

    def show(kept: int, refused: int) -> None:
        progress.update(task, completed=kept, refused=refused)

    try:
        with progress:
            report = run_pull(server, token, out_dir, site, limit=page_size, progress=show)
    except PullError as error:
        raise CliError(str(error), error.exit_code) from None
    _summarise(report, out_dir)


def _summarise(report: PullReport, out_dir: Path) -> None:
    if report.pinned_now:
        click.echo(f"pinned the signing key of site {report.site!r} (first pull)", err=True)
    if report.discarded_bytes:
        click.echo(
            f"cut {report.discarded_bytes} bytes left by an interrupted pull (fetched again)",
            err=True,
        )
    click.echo(
        f"{report.site}: {report.pulled} new result(s) appended to "
        f"{out_dir / (report.site + '.jsonl')}"
    )
    if report.refused:
        tickets = ", ".join(refusal.ticket for refusal in report.refused)
        raise CliError(
            f"{len(report.refused)} result(s) refused, signature does not verify "
            f"(kept as evidence in {out_dir / (report.site + '.rejected.jsonl')}): "
            f"tickets {tickets}",
            1,
        )
