"""`cbt-server audit verify`: the tamper-evident audit log."""

from __future__ import annotations

import click

from cbt_server.cli.core import CliError, in_db


@click.group("audit")
def audit_group() -> None:
    """The tamper-evident audit log."""


@audit_group.command("verify")
@click.pass_context
def audit_verify(ctx: click.Context) -> None:
    """Check the hash chain of the whole log. Exit 0 when intact, 1 naming the first
    broken entry. Note the printed tail hash on paper: a later log must continue it."""
    from cbt_server.audit import verify_chain

    report = in_db(ctx, verify_chain)
    if not report.intact:
        raise CliError(
            f"audit log broken at entry {report.broken_id}: {report.problem} "
            f"({report.entries} entries before it are intact)"
        )
    click.echo(f"audit log intact: {report.entries} entries, tail {report.tail_hash}")
