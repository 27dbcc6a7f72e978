"""`cbt-server serve`: run the exam server."""

from __future__ import annotations

import tempfile
from pathlib import Path

import click

from cbt_server.cli.core import CliError, settings_from
from cbt_server.settings import Settings, SettingsError

host_option = click.option("--host", envvar="CBT_HOST", help="Listen address [127.0.0.1].")
port_option = click.option(
    "--port", envvar="CBT_PORT", type=click.IntRange(0, 65535), help="Port [8080]."
)


@click.command()
@host_option
@port_option
@click.option("--workers", type=click.IntRange(1, 64), help="Processes (PostgreSQL only).")
@click.option(
    "--tls-cert",
    envvar="CBT_TLS_CERT",
    type=click.Path(dir_okay=False),
    help="PEM certificate (chain): serve HTTPS and WSS (with --tls-key).",
)
@click.option(
    "--tls-key", envvar="CBT_TLS_KEY", type=click.Path(dir_okay=False), help="PEM private key."
)
@click.pass_context
def serve(
    ctx: click.Context,
    host: str | None,
    port: int | None,
    workers: int | None,
    tls_cert: str | None,
    tls_key: str | None,
) -> None:
    """Run the exam server."""
    from cbt_server.serve import CannotListen, run_server
    from cbt_server.tls import tls_context

    given = dict(host=host, port=port, workers=workers, tls_cert=tls_cert, tls_key=tls_key)
    try:
        settings = settings_from(ctx).replace(**{k: v for k, v in given.items() if v})
        tls_context(settings)  # unusable files: a clean error now, not in each worker
    except SettingsError as error:
        raise CliError(str(error)) from None
    check_backup_settings(settings)
    try:
        run_server(settings)
    except CannotListen as error:
        raise CliError(str(error)) from None


def check_backup_settings(settings: Settings) -> None:
    """Automatic backups need a readable passphrase and a folder the server can write
    to: say so before the server starts, not at the first round of an exam."""
    if not settings.backup_dir:
        return
    from cbt_server.backup.keyseal import SealError, passphrase_from_file

    try:
        passphrase_from_file(Path(settings.backup_passphrase_file))
    except SealError as error:
        raise CliError(f"automatic backups: {error}") from None
    problem = backup_folder_problem(Path(settings.backup_dir))
    if problem:
        raise CliError(f"automatic backups: {settings.backup_dir}: {problem}")


def backup_folder_problem(folder: Path) -> str | None:
    """Why backups cannot be written into `folder`, or None. The folder is never created
    here: an unmounted stick would leave the backups on the server's own disk."""
    if not folder.exists():
        return "no such folder (CBT_BACKUP_DIR; is the stick mounted? create the folder first)"
    if not folder.is_dir():
        return "not a folder (CBT_BACKUP_DIR)"
    try:  # a real write: os.access says yes to root on a read-only mount
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        return f"cannot write into this folder (CBT_BACKUP_DIR): {error.strerror or error}"
    return None
