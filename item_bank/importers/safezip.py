"""Reading zip archives (QTI content packages, .xlsx workbooks) without trusting them.

Checks every member before anything is read: no absolute paths, `..`, backslashes or
drive letters; no encrypted members; limits on member count, member size, total size
and compression ratio, per member and for the whole archive (zip bombs). Reads never
extract to disk, and a member that inflates beyond its declared size is cut off and
refused.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import PurePosixPath

from item_bank.importers.base import reason_of

MAX_MEMBERS = 10_000
MAX_MEMBER_BYTES = 50 * 1024 * 1024
MAX_TOTAL_BYTES = 300 * 1024 * 1024
MAX_RATIO = 200
# Small members may compress extremely well (a blank XML part); only ratio-check big ones.
RATIO_CHECK_FROM = 1024 * 1024


class UnsafeZip(ValueError):
    """The archive is malformed or breaks one of the safety limits."""


def member_name_problem(name: str) -> str | None:
    """Why a member name is unsafe, or None."""
    if not name or "\x00" in name or "\\" in name:
        return "contains a backslash or NUL"
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts:
        return "points outside the archive (absolute path or '..')"
    if len(path.parts[0]) == 2 and path.parts[0][1] == ":":
        return "starts with a drive letter"
    return None


class SafeZip:
    """An opened, pre-checked archive. Use `read(name)`; names are as in the archive."""

    def __init__(self, data: bytes) -> None:
        try:
            self._zip = zipfile.ZipFile(io.BytesIO(data))
            infos = self._zip.infolist()
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
            raise UnsafeZip(f"not a readable zip archive: {reason_of(exc)}") from None
        problems = check_members(infos)
        if problems:
            raise UnsafeZip("; ".join(problems[:5]))
        self._infos = {info.filename: info for info in infos if not info.is_dir()}

    @property
    def names(self) -> list[str]:
        return list(self._infos)

    def __contains__(self, name: str) -> bool:
        return name in self._infos

    def read(self, name: str) -> bytes:
        info = self._infos.get(name)
        if info is None:
            raise KeyError(name)
        try:
            with self._zip.open(info) as handle:
                data = handle.read(info.file_size + 1)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, RuntimeError) as exc:
            raise UnsafeZip(f"{name}: cannot be read: {reason_of(exc)}") from None
        if len(data) > info.file_size:
            raise UnsafeZip(f"{name}: inflates beyond its declared size")
        return data


def check_members(infos: list[zipfile.ZipInfo]) -> list[str]:
    """Every safety rule the listed members break."""
    problems: list[str] = []
    if len(infos) > MAX_MEMBERS:
        return [f"archive has {len(infos)} members (limit {MAX_MEMBERS})"]
    total = 0
    seen: set[str] = set()
    for info in infos:
        name = info.filename
        problem = member_name_problem(name)
        if problem:
            problems.append(f"member {name!r} {problem}")
        if name in seen:
            problems.append(f"member {name!r} appears twice")
        seen.add(name)
        if info.flag_bits & 0x1:
            problems.append(f"member {name!r} is encrypted")
        if info.file_size > MAX_MEMBER_BYTES:
            problems.append(f"member {name!r} is {info.file_size} bytes (limit {MAX_MEMBER_BYTES})")
        if info.file_size > RATIO_CHECK_FROM and info.file_size > MAX_RATIO * max(
            info.compress_size, 1
        ):
            problems.append(f"member {name!r} compresses more than {MAX_RATIO}:1 (zip bomb?)")
        total += info.file_size
    if total > MAX_TOTAL_BYTES:
        problems.append(f"archive expands to {total} bytes (limit {MAX_TOTAL_BYTES})")
    # Members each under the ratio check can still add up to a bomb: judge the whole too.
    packed = sum(info.compress_size for info in infos)
    if total > RATIO_CHECK_FROM and total > MAX_RATIO * max(packed, 1):
        problems.append(
            f"archive expands {total} bytes from {packed}, more than {MAX_RATIO}:1 (zip bomb?)"
        )
    return problems
