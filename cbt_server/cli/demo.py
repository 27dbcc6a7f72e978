"""`cbt-server demo`: load the demo exam and run the server (what `make demo` runs)."""

from __future__ import annotations

import click

from cbt_server.cli.core import CliError, settings_from
from cbt_server.cli.serve import check_backup_settings, host_option, port_option
from cbt_server.errors import DomainError


@click.command()
@host_option
@port_option
@click.option(
    "--reset",
    is_flag=True,
    help="Start over: delete the demo's SQLite database and issue new credentials. "
    "Without it a re-run keeps the data and the credentials in demo-credentials.json.",
)
@click.option("--no-serve", is_flag=True, help="Prepare the demo data and exit.")
@click.pass_context
def demo(
    ctx: click.Context, host: str | None, port: int | None, reset: bool, no_serve: bool
) -> None:
    """Load the demo exam (session DEMO-01, 30 candidates) and run the server."""
    from cbt_server.demo import prepare_demo
    from cbt_server.serve import CannotListen, run_server

    settings = settings_from(ctx).replace(
        **{k: v for k, v in {"host": host, "port": port}.items() if v}
    )
    try:
        credentials_path = prepare_demo(settings, reset=reset)
    except DomainError as error:
        raise CliError(error.message) from None
    click.echo(f"demo credentials written to {credentials_path}")
    if not no_serve:
        check_backup_settings(settings)
        try:
            run_server(settings, credentials=credentials_path.resolve())
        except CannotListen as error:
            raise CliError(str(error)) from None
