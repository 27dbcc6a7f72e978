"""Take a backup: the database copy, the key files sealed, one tar written at once."""

from __future__ import annotations

import asyncio
import base64
import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from cbt_server import __version__
from cbt_server.backup import pg_tools
from cbt_server.backup.archive import (
    DATABASE_MEMBERS,
    FORMAT,
    VERSION,
    BackupError,
    describe_members,
    manifest_aad,
    write_archive,
)
from cbt_server.backup.keyseal import Sealer
from cbt_server.backup.sqlite_copy import copy_database
from cbt_server.settings import Settings

KEYS_DIR = "keys"


def sqlite_file(settings: Settings) -> Path:
    return Path(str(make_url(settings.effective_database_url).database))


def database_kind(settings: Settings) -> str:
    return "sqlite" if settings.is_sqlite else "postgresql"


def read_key_files(data_path: Path) -> dict[str, str]:
    """Every file in `<data_dir>/keys` (signing key, content key), base64, by its path
    relative to the data folder."""
    folder = data_path / KEYS_DIR
    if not folder.is_dir():
        return {}
    return {
        f"{KEYS_DIR}/{path.name}": base64.b64encode(path.read_bytes()).decode("ascii")
        for path in sorted(folder.iterdir())
        if path.is_file() and not path.name.startswith(".")
    }


def check_out(out: Path) -> None:
    """Refuse an output that exists or whose folder does not."""
    if out.exists():
        raise BackupError(f"{out}: already exists (choose a new file name)")
    if not out.parent.is_dir():
        raise BackupError(f"{out.parent}: no such folder")


async def take_backup(
    settings: Settings, out: Path, sealer: Sealer, *, now: datetime | None = None
) -> dict[str, Any]:
    """Write a backup of the settings' database and keys to the new file `out`; its
    manifest. Safe while the server runs: neither copy blocks its writers."""
    check_out(out)
    kind = database_kind(settings)
    member = DATABASE_MEMBERS[kind]
    created = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    database: dict[str, Any] = {"kind": kind, "member": member}
    # The copy is written beside the backup, not in the data folder: the exam's disk
    # only ever reads.
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".cbt-backup-") as work:
        copy = Path(work) / member
        if kind == "sqlite":
            counts, revision = await asyncio.to_thread(copy_database, sqlite_file(settings), copy)
        else:
            counts, revision, versions = await pg_tools.dump(settings.effective_database_url, copy)
            database.update(versions)
        database["schema_revision"] = revision
        keys = read_key_files(settings.data_path)
        manifest: dict[str, Any] = {
            "format": FORMAT,
            "version": VERSION,
            "created_at": created,
            "server_version": __version__,
            "database": database,
            "row_counts": counts,
            "key_files": sorted(keys),
            "members": await asyncio.to_thread(describe_members, {member: copy}),
        }
        plain = json.dumps(keys, sort_keys=True).encode()
        manifest["keys"] = sealer.seal(plain, manifest_aad(manifest))
        await asyncio.to_thread(write_archive, out, manifest, {member: copy})
    return manifest
