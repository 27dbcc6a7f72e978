"""The `cbt-server` command: one entry point with sub-commands for every role's chores.

`cbt_server.cli.core` holds the root group and what the command groups share; each
group lives in a module of its own here; `cbt_server.cli.main` mounts them all.
"""

from cbt_server.cli.main import cli, main

__all__ = ["cli", "main"]
