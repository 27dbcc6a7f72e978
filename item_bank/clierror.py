"""The one user-facing CLI failure, shared by `cbt-server item-bank` and the server's `cbt-server`.

It lives here, in the library, because item_bank runs on its own and must not import
the server; the server's CLI core re-uses it, so every `cbt-server` command fails the same way.
"""

from __future__ import annotations

from typing import Any

import click


class CliError(click.ClickException):
    """A user-facing failure: printed as 'error: ...', then the exit code (1 unless given)."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code  # type: ignore[misc]  # click declares a ClassVar

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)
