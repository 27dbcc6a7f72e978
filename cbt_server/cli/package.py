"""`cbt-server package import`: load a sealed paper package into this server."""

from __future__ import annotations

import getpass
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server.cli.core import CliError, print_json, run_in_db, settings_from
from cbt_server.content_crypto import ContentCipher
from cbt_server.packages import PackageImport, import_package
from item_bank.seal import SealError, load_aes_key, load_verify_key

MAX_PACKAGE_BYTES = 200 * 1024 * 1024
F = TypeVar("F", bound=Callable[..., Any])


def _key_file(flag: str, dest: str, help_text: str) -> Callable[[F], F]:
    """A required option naming a key file, given to the command as a Path."""
    path = click.Path(dir_okay=False, path_type=Path)
    return click.option(flag, dest, required=True, type=path, help=help_text)


@click.group("package")
def package_group() -> None:
    """Sealed paper packages (encrypted, signed)."""


@package_group.command("import")
@click.argument("package", type=click.Path(dir_okay=False, path_type=Path))
@_key_file("--key", "key_file", "The site's AES key file (from `cbt-server item-bank keygen`).")
@_key_file("--verify-key", "verify_file", "The issuer's Ed25519 public key (PEM).")
@click.option("--actor", default=None, help="Who is importing (for the audit log).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def package_import(
    ctx: click.Context,
    package: Path,
    key_file: Path,
    verify_file: Path,
    actor: str | None,
    as_json: bool,
) -> None:
    """Verify, decrypt and store PACKAGE's items and blueprints."""
    try:
        size = package.stat().st_size
        if size > MAX_PACKAGE_BYTES:
            raise CliError(f"{package}: {size} bytes is larger than {MAX_PACKAGE_BYTES}")
        data = package.read_bytes()
        aes_key = load_aes_key(key_file)
        verify_key = load_verify_key(verify_file)
    except OSError as error:
        raise CliError(f"cannot read {error.filename}: {error.strerror}") from None
    except SealError as error:
        raise CliError(str(error)) from None
    settings = settings_from(ctx)
    cipher = ContentCipher.from_data_dir(settings.data_path)
    who = actor or getpass.getuser()

    async def work(session: AsyncSession) -> PackageImport:
        return await import_package(session, cipher, data, aes_key, verify_key, actor=who)

    done = run_in_db(settings, work)
    summary = {
        "package_id": done.manifest.package_id,
        "items_added": done.items_added,
        "items_replaced": done.items_replaced,
        "blueprints": done.blueprints,
    }
    if as_json:
        print_json(summary)
    else:
        click.echo(
            f"package {summary['package_id']}: {done.items_added} items added, "
            f"{done.items_replaced} replaced, {done.blueprints} blueprints"
        )
