"""Making a new or renamed file's directory entry durable, on every system the server runs
on; and folders that only the server's account can read."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path


def fsync_dir(folder: Path) -> None:
    """fsync `folder` so a file just created or renamed in it survives a power cut.

    POSIX needs this for the directory entry. Windows cannot open a directory as a file
    (os.open fails with PermissionError) and NTFS journals its metadata, so there is
    nothing to do there.
    """
    if sys.platform == "win32":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def private_dir(path: Path) -> None:
    """Create `path`, and each missing folder above it, readable by this account only
    (0700; Windows ignores the mode): the data folder holds candidates' names and ID-card
    numbers in the SQLite file and the site's keys. A folder that exists is left as it is."""
    missing = []
    while not path.exists():
        missing.append(path)
        if path.parent == path:
            break
        path = path.parent
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):  # made meanwhile by another process
            folder.mkdir(mode=0o700)
