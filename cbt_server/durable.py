"""Making a new or renamed file's directory entry durable, on every system the server runs on."""

from __future__ import annotations

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
