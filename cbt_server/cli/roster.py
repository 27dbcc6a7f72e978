"""`cbt-server roster import|prepare|list`: candidate rosters (考生名册) and their papers."""

from __future__ import annotations

from pathlib import Path

import click
from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server.cli.core import (
    CliError,
    cli_actor,
    json_option,
    list_from_db,
    run_in_db,
    settings_from,
)
from cbt_server.content_crypto import ContentCipher
from cbt_server.enrolment.roster import ImportReport, import_roster, list_roster, prepare_papers
from cbt_server.errors import PaperUnavailable


@click.group("roster")
def roster_group() -> None:
    """Candidate rosters (考生名册) of exam sessions, and their papers."""


@roster_group.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check the file; store nothing.")
@click.option("--no-papers", is_flag=True, help="Do not assemble papers after the import.")
@click.pass_context
def import_command(ctx: click.Context, file: Path, dry_run: bool, no_papers: bool) -> None:
    """Import FILE (.xlsx or .csv: 准考证号, 身份证号, 姓名, 职业, 等级, 场次, 座位号).

    Every row is checked; one bad row rejects the whole file and nothing is stored.
    After an import the candidates' papers are assembled where the session's blueprint
    and items are in the bank (else later with `cbt-server roster prepare`).
    """
    settings = settings_from(ctx)
    try:
        data = file.read_bytes()
    except OSError as error:
        raise CliError(f"cannot read {file}: {error.strerror or error}") from None

    async def work(session: AsyncSession) -> ImportReport:
        return await import_roster(session, data, file.name, cli_actor(), dry_run=dry_run)

    report = run_in_db(settings, work)
    verb = "would import" if dry_run else "imported"
    sessions = ", ".join(f"{code}: {n}" for code, n in sorted(report.per_session.items()))
    click.echo(f"{verb} {report.imported} candidate(s) ({sessions})")
    if dry_run or no_papers:
        return
    cipher = ContentCipher.from_data_dir(settings.data_path)
    for code in sorted(report.per_session):

        async def papers(session: AsyncSession, code: str = code) -> str:
            try:
                return f"{await prepare_papers(session, cipher, code)} paper(s) assembled"
            except PaperUnavailable as error:
                return f"papers not assembled yet: {error.message}"

        click.echo(f"{code}: {run_in_db(settings, papers)}")


@roster_group.command("prepare")
@click.argument("session_code")
@click.pass_context
def prepare_command(ctx: click.Context, session_code: str) -> None:
    """Assemble the papers of session SESSION_CODE ahead of the start (idempotent)."""
    settings = settings_from(ctx)
    cipher = ContentCipher.from_data_dir(settings.data_path)

    done = run_in_db(settings, lambda session: prepare_papers(session, cipher, session_code))
    click.echo(f"{session_code}: {done} paper(s) assembled")


@roster_group.command("list")
@click.argument("session_code")
@json_option
@click.pass_context
def list_command(ctx: click.Context, session_code: str, as_json: bool) -> None:
    """List the candidates of session SESSION_CODE by seat."""

    list_from_db(
        ctx,
        as_json,
        lambda session: list_roster(session, session_code),
        lambda row: (
            f"{row['seat']:>4}  {row['ticket']}\t{row['name']}\t{row['state']}\t"
            f"{'paper ready' if row['paper'] else 'no paper'}"
        ),
    )
