"""The assembled `cbt-server` command: every command group mounted on the root group."""

from __future__ import annotations

import logging
import sys

import click

from cbt_server.cli.audit import audit_group
from cbt_server.cli.backup import backup, restore
from cbt_server.cli.blueprint import blueprint_group
from cbt_server.cli.centre import centre_group
from cbt_server.cli.centre_examiners import examiner_group as centre_examiner_group
from cbt_server.cli.centre_papers import (
    assignments_group,
    issuer_key_command,
    package_fetch,
    package_key,
    readiness_group,
    request_group,
)
from cbt_server.cli.centre_service import demo as centre_demo
from cbt_server.cli.centre_service import serve as centre_serve
from cbt_server.cli.centre_service import site_group as centre_site_group
from cbt_server.cli.core import cli
from cbt_server.cli.db import db_group
from cbt_server.cli.demo import demo
from cbt_server.cli.lab import lab_group
from cbt_server.cli.package import package_group
from cbt_server.cli.roster import roster_group
from cbt_server.cli.serve import serve
from cbt_server.cli.session import session_group
from cbt_server.cli.stats import stats_command
from cbt_server.cli.token import token_group
from cbt_server.cli.user import user_group
from item_bank.cli import item_bank_group

__all__ = ["cli", "main"]

for command in (
    serve,
    demo,
    db_group,
    token_group,
    item_bank_group,
    package_group,
    blueprint_group,
    session_group,
    roster_group,
    user_group,
    audit_group,
    centre_group,
    lab_group,
    backup,
    restore,
    stats_command,
):
    cli.add_command(command)
centre_group.add_command(centre_serve)
centre_group.add_command(centre_site_group)
centre_group.add_command(centre_demo)
centre_group.add_command(centre_examiner_group)
centre_group.add_command(request_group)
centre_group.add_command(assignments_group)
centre_group.add_command(readiness_group)
centre_group.add_command(issuer_key_command)
package_group.add_command(package_fetch)
package_group.add_command(package_key)


def main(argv: list[str] | None = None) -> int:
    """Console entry point: run the CLI, turning user errors into messages and exit codes."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        outcome = cli.main(args=argv, prog_name="cbt-server", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 130
    except click.ClickException as error:
        error.show()
        return error.exit_code
    except click.exceptions.Exit as done:
        return done.exit_code
    return outcome if isinstance(outcome, int) else 0


if __name__ == "__main__":
    sys.exit(main())
