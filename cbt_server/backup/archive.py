"""The backup file: one uncompressed tar whose first member is `manifest.json`.

    manifest.json      format, version, created_at, the database (kind, member, schema
                       revision), row counts per table, size and SHA-256 of every other
                       member, and the site's key files sealed with the passphrase
    database.sqlite3   SQLite: the online-backup copy of the database file
    database.pgdump    PostgreSQL: `pg_dump --format=custom` of one snapshot

A backup is read twice: first every member is hashed and compared with the manifest
(`read_checked`), and only a file that passes is read again to be restored
(`extract_member`, which checks the hash once more as it writes). So a truncated or
corrupted file is refused before anything is written. docs/operations.md describes it.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

FORMAT = "cbt-server-backup"
VERSION = 1
MANIFEST = "manifest.json"
MAX_MANIFEST_BYTES = 1 << 20
DATABASE_MEMBERS = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}
_CHUNK = 1 << 20


class BackupError(ValueError):
    """A backup cannot be made or used; the message names the file and what is wrong."""


def canonical(document: Mapping[str, Any]) -> bytes:
    return json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def manifest_aad(manifest: Mapping[str, Any]) -> bytes:
    """What the sealed keys authenticate: the whole manifest except the `keys` entry."""
    return canonical({k: v for k, v in manifest.items() if k != "keys"})


def file_digest(path: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def describe_members(members: Mapping[str, Path]) -> dict[str, dict[str, Any]]:
    """The manifest's `members` entry: size and SHA-256 of each file."""
    described = {}
    for name, path in members.items():
        size, sha = file_digest(path)
        described[name] = {"size": size, "sha256": sha}
    return described


def write_archive(out: Path, manifest: Mapping[str, Any], members: Mapping[str, Path]) -> None:
    """Write the tar at `out` all at once: a temporary file beside it, synced, renamed.
    Readable by its owner only (mode 0600): the database holds candidates' ID numbers."""
    tmp = out.with_name(f".{out.name}.{os.getpid()}.partial")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as raw:
            with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
                data = json.dumps(manifest, ensure_ascii=False, indent=1).encode()
                info = tarfile.TarInfo(MANIFEST)
                info.size = len(data)
                info.mode, info.mtime = 0o600, int(time.time())
                tar.addfile(info, io.BytesIO(data))
                for name, path in members.items():
                    info = tar.gettarinfo(str(path), arcname=name)
                    info.mode, info.uid, info.gid, info.uname, info.gname = 0o600, 0, 0, "", ""
                    with path.open("rb") as handle:
                        tar.addfile(info, handle)
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)


@dataclass(frozen=True, slots=True)
class Manifest:
    """A manifest read back and checked for shape."""

    raw: dict[str, Any]
    kind: str
    database_member: str
    row_counts: dict[str, int]
    members: dict[str, dict[str, Any]]

    @property
    def created_at(self) -> str:
        return str(self.raw.get("created_at", ""))

    @property
    def schema_revision(self) -> str:
        return str(self.raw["database"].get("schema_revision") or "")


def _need(condition: bool, problem: str) -> None:
    if not condition:
        raise BackupError(f"manifest: {problem}")


def parse_manifest(data: bytes) -> Manifest:
    try:
        raw = json.loads(data)
    except ValueError:
        raise BackupError("manifest: not JSON") from None
    _need(isinstance(raw, dict), "not a JSON object")
    _need(raw.get("format") == FORMAT, f"format is not {FORMAT!r}")
    _need(raw.get("version") == VERSION, f"version {raw.get('version')!r} is not {VERSION}")
    database = raw.get("database")
    _need(isinstance(database, dict), "database: missing")
    kind = database.get("kind")
    _need(kind in DATABASE_MEMBERS, f"database.kind {kind!r} is not sqlite or postgresql")
    counts = raw.get("row_counts")
    _need(
        isinstance(counts, dict)
        and all(isinstance(n, int) and not isinstance(n, bool) for n in counts.values()),
        "row_counts: not an object of whole numbers",
    )
    members = raw.get("members")
    _need(isinstance(members, dict) and bool(members), "members: missing")
    for name, entry in members.items():
        _need(
            isinstance(entry, dict)
            and isinstance(entry.get("size"), int)
            and isinstance(entry.get("sha256"), str),
            f"members.{name}: needs size and sha256",
        )
    member = DATABASE_MEMBERS[kind]
    _need(member in members, f"members: no {member}")
    return Manifest(raw, kind, member, dict(counts), dict(members))


@contextmanager
def _open_tar(path: Path) -> Iterator[tarfile.TarFile]:
    try:
        with tarfile.open(path, mode="r:") as tar:
            yield tar
    except FileNotFoundError:
        raise BackupError(f"{path}: no such file") from None
    except (tarfile.TarError, EOFError) as error:
        raise BackupError(f"{path}: not a complete backup file (truncated? {error})") from None


def _copy_checked(source: IO[bytes], name: str, expect: Mapping[str, Any], sink: Any) -> None:
    digest = hashlib.sha256()
    size = 0
    while chunk := source.read(_CHUNK):
        digest.update(chunk)
        size += len(chunk)
        if sink is not None:
            sink.write(chunk)
    if size != expect["size"]:
        raise BackupError(f"{name}: {size} bytes, the manifest says {expect['size']} (truncated)")
    if digest.hexdigest() != expect["sha256"]:
        raise BackupError(f"{name}: SHA-256 differs from the manifest (the file is corrupted)")


def read_checked(path: Path) -> Manifest:
    """The manifest of the backup at `path` once every member matches it; BackupError
    naming the first problem otherwise. Reads the whole file, writes nothing."""
    with _open_tar(path) as tar:
        first = tar.next()
        if first is None or first.name != MANIFEST or not first.isfile():
            raise BackupError(f"{path}: does not start with {MANIFEST} (not a cbt-server backup)")
        if first.size > MAX_MANIFEST_BYTES:
            raise BackupError(f"{path}: {MANIFEST} is larger than {MAX_MANIFEST_BYTES} bytes")
        handle = tar.extractfile(first)
        assert handle is not None  # a regular file
        try:
            manifest = parse_manifest(handle.read())
        except BackupError as error:
            raise BackupError(f"{path}: {error}") from None
        seen: set[str] = set()
        while (info := tar.next()) is not None:
            expect = manifest.members.get(info.name)
            if expect is None or not info.isfile() or info.name in seen:
                raise BackupError(f"{path}: member {info.name!r} is not in the manifest")
            seen.add(info.name)
            source = tar.extractfile(info)
            assert source is not None
            try:
                _copy_checked(source, info.name, expect, None)
            except BackupError as error:
                raise BackupError(f"{path}: {error}") from None
        missing = sorted(set(manifest.members) - seen)
        if missing:
            raise BackupError(f"{path}: members missing (truncated?): {', '.join(missing)}")
    return manifest


def extract_member(path: Path, manifest: Manifest, name: str, dest: Path) -> None:
    """Write member `name` to `dest` (a new file, mode 0600), checking its hash again."""
    with _open_tar(path) as tar:
        try:
            info = tar.getmember(name)
        except KeyError:
            raise BackupError(f"{path}: no member {name}") from None
        source = tar.extractfile(info)
        assert source is not None
        fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as sink:
            _copy_checked(source, name, manifest.members[name], sink)
            sink.flush()
            os.fsync(sink.fileno())
