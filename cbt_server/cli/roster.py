"""`cbt-server roster import|photos|prepare|list`: candidate rosters (考生名册), their
photos and their papers."""

from __future__ import annotations

from pathlib import Path

import click
from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server.cli.core import (
    CliError,
    cli_actor,
    in_db,
    json_option,
    list_from_db,
    run_in_db,
    settings_from,
)
from cbt_server.content_crypto import ContentCipher
from cbt_server.enrolment.photo_store import PhotoReport, store_photos
from cbt_server.enrolment.photos import Photo, read_photos
from cbt_server.enrolment.roster import ImportReport, import_roster, list_roster, prepare_papers
from cbt_server.errors import DomainError, PaperUnavailable


@click.group("roster")
def roster_group() -> None:
    """Candidate rosters (考生名册) of exam sessions, and their papers."""


class RolledBack(Exception):
    """Raised out of a dry run's transaction so that it rolls back, with what it found."""

    def __init__(self, outcome: tuple[ImportReport, PhotoReport | None]) -> None:
        super().__init__("dry run")
        self.outcome = outcome


def _read(file: Path) -> bytes:
    try:
        return file.read_bytes()
    except OSError as error:
        raise CliError(f"cannot read {file}: {error.strerror or error}") from None


def _photos_of(file: Path) -> list[Photo]:
    """The checked photos of a zip (before the database is touched: a bad photo refuses
    the command with nothing stored)."""
    try:
        return read_photos(_read(file), file.name)
    except DomainError as error:
        raise CliError(error.message) from None


def _echo_photos(report: PhotoReport, dry_run: bool) -> None:
    verb = "would store" if dry_run else "stored"
    sessions = ", ".join(f"{code}: {n}" for code, n in sorted(report.per_session.items()))
    click.echo(f"{verb} {report.photos} photo(s) for {report.candidates} candidate(s) ({sessions})")
    for code, missing in sorted(report.missing.items()):
        if missing:
            click.echo(f"{code}: {missing} candidate(s) still without a photo")


photos_option = click.option(
    "--photos",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A zip of JPEG/PNG photos named by ticket or ID-card number (准考证号.jpg or "
    "身份证号.png), at most 2 MB and 4000×4000 pixels each; stored with the roster, all or "
    "nothing.",
)


@roster_group.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check the file; store nothing.")
@click.option("--no-papers", is_flag=True, help="Do not assemble papers after the import.")
@photos_option
@click.pass_context
def import_command(
    ctx: click.Context, file: Path, dry_run: bool, no_papers: bool, photos: Path | None
) -> None:
    """Import FILE (.xlsx or .csv: 准考证号, 身份证号, 姓名, 职业, 等级, 场次, 座位号).

    Every row is checked; one bad row rejects the whole file and nothing is stored.
    With --photos, every photo is checked too, and one bad photo (or one naming no
    candidate) rejects roster and photos alike. After an import the candidates' papers
    are assembled where the session's blueprint and items are in the bank (else later
    with `cbt-server roster prepare`).
    """
    settings = settings_from(ctx)
    data = _read(file)
    checked = _photos_of(photos) if photos is not None else None

    async def work(session: AsyncSession) -> tuple[ImportReport, PhotoReport | None]:
        if checked is None:
            return await import_roster(session, data, file.name, actor, dry_run=dry_run), None
        # With photos a dry run stores the rows too (the photos must find their
        # candidates), then rolls everything back by raising.
        report = await import_roster(session, data, file.name, actor)
        photo_report = await store_photos(session, checked, actor)
        if dry_run:
            raise RolledBack((report, photo_report))
        return report, photo_report

    actor = cli_actor()
    try:
        report, photo_report = run_in_db(settings, work)
    except RolledBack as done:
        report, photo_report = done.outcome
    verb = "would import" if dry_run else "imported"
    sessions = ", ".join(f"{code}: {n}" for code, n in sorted(report.per_session.items()))
    click.echo(f"{verb} {report.imported} candidate(s) ({sessions})")
    if photo_report is not None:
        _echo_photos(photo_report, dry_run)
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


@roster_group.command("photos")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check the zip; store nothing.")
@click.pass_context
def photos_command(ctx: click.Context, file: Path, dry_run: bool) -> None:
    """Store the photos of registered candidates from FILE, a zip of JPEG/PNG files named
    by ticket or ID-card number (准考证号.jpg, 身份证号.png).

    Each photo is decoded and re-encoded (metadata such as EXIF/GPS is dropped, large
    photos are scaled down); one bad photo, or one naming no registered candidate,
    rejects the whole zip and nothing is stored. A candidate's earlier photo is replaced.
    """
    checked = _photos_of(file)
    report = in_db(
        ctx, lambda session: store_photos(session, checked, cli_actor(), dry_run=dry_run)
    )
    _echo_photos(report, dry_run)


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
