"""Restore a backup into an empty data folder (and, on PostgreSQL, an empty database).

Everything that can be checked before writing is: the whole file against its manifest,
the database kind against the settings, the passphrase, the key file names, the target
being empty, the PostgreSQL tools. Only then are the keys and the database written; if
that fails part way, what was written is removed again (pg_restore runs in one
transaction). The checks of the restored site follow (`verify.verify_restored`).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cbt_server.backup import pg_tools
from cbt_server.backup.archive import BackupError, Manifest, extract_member, manifest_aad
from cbt_server.backup.archive import read_checked as read_checked_backup
from cbt_server.backup.keyseal import unseal
from cbt_server.backup.take import KEYS_DIR, database_kind, sqlite_file
from cbt_server.backup.verify import Verification, verify_restored
from cbt_server.db.migrate import alembic_config
from cbt_server.durable import private_dir
from cbt_server.settings import Settings

_KEY_NAME = re.compile(rf"{KEYS_DIR}/[A-Za-z0-9][A-Za-z0-9._-]{{0,100}}")


@dataclass(frozen=True, slots=True)
class Restored:
    manifest: Manifest
    verification: Verification

    def to_json(self) -> dict[str, Any]:
        return {
            "created_at": self.manifest.created_at,
            "database": self.manifest.kind,
            "schema_revision": self.manifest.schema_revision,
            "key_files": sorted(self.manifest.raw.get("key_files", [])),
            **self.verification.to_json(),
        }


def open_keys(manifest: Manifest, passphrase: str) -> dict[str, bytes]:
    """The key files sealed in the manifest, by relative path; BackupError or SealError."""
    plain = unseal(manifest.raw.get("keys"), passphrase, manifest_aad(manifest.raw))
    try:
        files = json.loads(plain)
        decoded = {name: base64.b64decode(data, validate=True) for name, data in files.items()}
    except (ValueError, AttributeError, TypeError, binascii.Error):
        raise BackupError("the sealed keys are not a list of key files") from None
    for name in decoded:
        if not _KEY_NAME.fullmatch(name):
            raise BackupError(f"the sealed keys hold an unexpected file name {name!r}")
    return decoded


def _empty_folder(path: Path) -> bool:
    return not path.exists() or (path.is_dir() and not any(path.iterdir()))


def check_schema(manifest: Manifest) -> None:
    """Refuse a backup whose schema this server's migrations do not know (a newer one)."""
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    revision = manifest.schema_revision
    try:
        known = ScriptDirectory.from_config(alembic_config()).get_revision(revision)
    except CommandError:
        known = None
    if not revision or known is None:
        raise BackupError(
            f"the backup's database schema {revision!r} is unknown to this server: install "
            f"the version that made it ({manifest.raw.get('server_version', '?')}) or a newer one"
        )


async def check_target(settings: Settings, manifest: Manifest) -> None:
    """Refuse a target of the wrong kind or with anything in it."""
    kind = database_kind(settings)
    if manifest.kind != kind:
        raise BackupError(
            f"the backup holds a {manifest.kind} database but this server uses {kind} "
            "(set CBT_DATABASE_URL to match)"
        )
    if not _empty_folder(settings.data_path):
        raise BackupError(f"{settings.data_path}: the data folder is not empty; restore into "
                          "an empty (or new) folder")  # fmt: skip
    if kind == "sqlite":
        if sqlite_file(settings).exists():
            raise BackupError(f"{sqlite_file(settings)}: a database file is already there")
        return
    found = await pg_tools.relations_in(settings.effective_database_url)
    if found:
        raise BackupError(
            f"the PostgreSQL database is not empty ({found} tables, sequences or views): "
            "restore into a newly created database"
        )


def _write_keys(data_path: Path, keys: dict[str, bytes]) -> None:
    private_dir(data_path / KEYS_DIR)
    for name, data in keys.items():
        fd = os.open(data_path / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())


def _restore_tool(manifest: Manifest) -> str:
    made_by = manifest.raw["database"].get("pg_dump")
    return pg_tools.check_restore_tool(made_by if isinstance(made_by, int) else 0)


async def _write_database(
    settings: Settings, backup: Path, manifest: Manifest, pg_restore: str
) -> None:
    if manifest.kind == "sqlite":
        target = sqlite_file(settings)
        target.parent.mkdir(parents=True, exist_ok=True)
        extract_member(backup, manifest, manifest.database_member, target)
        return
    with tempfile.TemporaryDirectory(prefix="cbt-restore-") as work:
        dump_file = Path(work) / manifest.database_member
        extract_member(backup, manifest, manifest.database_member, dump_file)
        await pg_tools.restore(settings.effective_database_url, dump_file, pg_restore)


def _undo(settings: Settings, data_existed: bool) -> None:
    """Remove what a failed restore wrote (the target was empty before it)."""
    if data_existed:
        for child in settings.data_path.iterdir():
            if child.is_dir():
                shutil.rmtree(child, ignore_errors=True)
            else:
                child.unlink(missing_ok=True)
    else:
        shutil.rmtree(settings.data_path, ignore_errors=True)
    if settings.is_sqlite:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{sqlite_file(settings)}{suffix}").unlink(missing_ok=True)


async def restore_backup(settings: Settings, backup: Path, passphrase: str) -> Restored:
    """Check, restore and verify the backup at `backup` into the settings' empty target."""
    manifest = read_checked_backup(backup)
    check_schema(manifest)
    await check_target(settings, manifest)
    keys = open_keys(manifest, passphrase)
    pg_restore = _restore_tool(manifest) if manifest.kind == "postgresql" else ""
    data_existed = settings.data_path.exists()
    try:
        private_dir(settings.data_path)
        _write_keys(settings.data_path, keys)
        await _write_database(settings, backup, manifest, pg_restore)
    except BaseException:
        _undo(settings, data_existed)
        raise
    return Restored(manifest, await verify_restored(settings, manifest))
