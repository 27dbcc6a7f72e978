"""The process's open-file limit: raised to the hard limit at start, and reported.

Every socket is a file descriptor; Debian's default soft limit of 1024 is reached by a
room of candidates plus a few idle sockets (issue 18). The `resource` module exists on
POSIX only: on Windows nothing is raised and the limit is reported as unknown (None).
"""

from __future__ import annotations

import importlib
import logging
import os
from types import ModuleType

log = logging.getLogger(__name__)


def _resource() -> ModuleType | None:
    try:
        return importlib.import_module("resource")
    except ImportError:  # Windows
        return None


def open_file_limit() -> int | None:
    """The soft limit on open files of this process (None where unknown or unlimited)."""
    resource = _resource()
    if resource is None:
        return None
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return None if soft == resource.RLIM_INFINITY else int(soft)


def raise_open_file_limit() -> int | None:
    """Raise the soft open-file limit to the hard limit; the soft limit now in force."""
    resource = _resource()
    if resource is None:
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError) as error:  # macOS caps it below an infinite hard limit
            log.warning("open-file limit left at %s (raising it to %s: %s)", soft, hard, error)
    return open_file_limit()


def open_file_count() -> int | None:
    """How many files this process has open, where the system tells (Linux: /proc)."""
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return None
