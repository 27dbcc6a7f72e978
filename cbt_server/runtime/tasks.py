"""Background tasks that stop when the server stops.

Two ways a cancellation gets lost on Python 3.11, both seen hanging a server's shutdown:
`asyncio.wait_for` returns the result when the awaited thing completes in the same turn
as the cancel (banned in pyproject.toml; use `asyncio.timeout`), and SQLAlchemy's
session close raises the database's error instead of the cancellation when its cleanup
fails (the database went away as the server stopped). A loop that catches `Exception` to
retry must therefore ask whether it was told to stop, and the server never waits for a
task without a bound.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

log = logging.getLogger(__name__)

STOP_GRACE = 10.0
"""Seconds a background task is given to end once the server stops."""


def raise_if_cancelling() -> None:
    """In an `except Exception` of a retrying loop: stop if a cancellation was requested
    and then turned into another error on its way up."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


async def stop_tasks(tasks: Iterable[asyncio.Task[None]], grace: float = STOP_GRACE) -> None:
    """Cancel background tasks and wait for them at most `grace` seconds; a task that does
    not end is reported, and the caller goes on instead of hanging."""
    tasks = list(tasks)
    if not tasks:
        return
    for task in tasks:
        task.cancel()
    done, stuck = await asyncio.wait(tasks, timeout=grace)
    for task in done:
        if not task.cancelled() and task.exception() is not None:
            log.error("background task %s had failed", task.get_name(), exc_info=task.exception())
    for task in stuck:
        log.error("background task %s did not stop within %.0f s", task.get_name(), grace)
