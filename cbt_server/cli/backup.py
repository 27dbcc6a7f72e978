"""`cbt-server backup` and `cbt-server restore`: the site in one file and back
(docs/operations.md)."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click

from cbt_server.cli.core import CliError, json_option, print_json, settings_from
from cbt_server.settings import Settings

T = TypeVar("T")

PASSPHRASE_ENV = "CBT_BACKUP_PASSPHRASE"

passphrase_option = click.option(
    "--passphrase-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help=f"File whose first line is the passphrase. Else ${PASSPHRASE_ENV}, else the "
    "backup_passphrase_file setting, else it is asked for.",
)


def passphrase(settings: Settings, given: Path | None, *, confirm: bool) -> str:
    """The backup passphrase from the flag, the environment, the setting or a prompt."""
    from cbt_server.backup.keyseal import SealError, check_passphrase, passphrase_from_file

    try:
        if given is not None:
            return passphrase_from_file(given)
        from_env = os.environ.get(PASSPHRASE_ENV)
        if from_env:
            check_passphrase(from_env)
            return from_env
        if settings.backup_passphrase_file:
            return passphrase_from_file(Path(settings.backup_passphrase_file))
        typed: str = click.prompt(
            "Backup passphrase", hide_input=True, confirmation_prompt=confirm, err=True
        )
        check_passphrase(typed)
        return typed
    except SealError as error:
        raise CliError(str(error)) from None


@contextmanager
def _user_errors() -> Iterator[None]:
    """A refused backup or restore as a one-line message, not a traceback."""
    from cbt_server.backup.archive import BackupError
    from cbt_server.backup.keyseal import SealError

    try:
        yield
    except (BackupError, SealError) as error:
        raise CliError(str(error)) from None
    except OSError as error:
        raise CliError(str(error)) from None


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    with _user_errors():
        return asyncio.run(coroutine)


@click.command("backup")
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The backup file to write (a new file; best on another disk).",
)
@passphrase_option
@json_option
@click.pass_context
def backup(ctx: click.Context, out: Path, passphrase_file: Path | None, as_json: bool) -> None:
    """Write the database and the site's keys (sealed with a passphrase) to one file.
    Safe while an exam runs: answers go on being stored during the copy."""
    from cbt_server.backup.keyseal import Sealer
    from cbt_server.backup.take import check_out, take_backup

    settings = settings_from(ctx)
    with _user_errors():
        check_out(out)  # before asking for the passphrase
    sealer = Sealer.from_passphrase(passphrase(settings, passphrase_file, confirm=True))
    began = time.monotonic()
    manifest = _run(take_backup(settings, out, sealer))
    summary = {
        "path": str(out),
        "created_at": manifest["created_at"],
        "database": manifest["database"]["kind"],
        "schema_revision": manifest["database"]["schema_revision"],
        "row_counts": manifest["row_counts"],
        "key_files": manifest["key_files"],
        "bytes": out.stat().st_size,
        "seconds": round(time.monotonic() - began, 3),
    }
    if as_json:
        print_json(summary)
        return
    rows = sum(summary["row_counts"].values())
    click.echo(
        f"backup written: {out} ({summary['database']}, {len(summary['row_counts'])} tables, "
        f"{rows} rows, keys {', '.join(summary['key_files']) or 'none'}, "
        f"{summary['bytes']} bytes, {summary['seconds']} s)"
    )


@click.command("restore")
@click.argument("backup_file", type=click.Path(dir_okay=False, path_type=Path))
@passphrase_option
@json_option
@click.pass_context
def restore(
    ctx: click.Context, backup_file: Path, passphrase_file: Path | None, as_json: bool
) -> None:
    """Restore BACKUP_FILE into an empty data folder (and an empty PostgreSQL database),
    then verify it: row counts, the audit log's chain, every result's signature. Exit 0
    when all hold, 1 otherwise; a damaged file is refused before anything is written."""
    from cbt_server.backup.restore import restore_backup

    settings = settings_from(ctx)
    secret = passphrase(settings, passphrase_file, confirm=False)
    restored = _run(restore_backup(settings, backup_file, secret))
    report = {"backup": str(backup_file), **restored.to_json()}
    if as_json:
        print_json(report)
    else:
        click.echo(f"restored {backup_file} (made {report['created_at']}, {report['database']})")
        for check in report["checks"]:
            click.echo(f"{'ok  ' if check['ok'] else 'FAIL'} {check['name']}: {check['detail']}")
    if not report["ok"]:
        if not as_json:
            click.echo("verification failed: do not serve this copy before it is explained",
                       err=True)  # fmt: skip
        raise click.exceptions.Exit(1)
