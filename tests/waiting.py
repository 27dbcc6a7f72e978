"""Waiting in tests for something to happen, instead of sleeping and hoping it did.

`wait_until` polls a condition until it holds and returns what it returned; past the
time allowed it fails naming what was awaited and what the condition last gave, so a
slow or broken run says what never happened rather than failing somewhere later. The
time allowed is a ceiling on a shared, noisy machine, not a figure under test: a
condition that holds returns at the next poll, so a generous allowance costs nothing.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, overload

T = TypeVar("T")

POLL_S = 0.02
"""How often a condition is looked at: often enough that a test waits at most a few
hundredths of a second more than it must."""


@overload
async def wait_until(
    condition: Callable[[], Awaitable[T]], what: str, *, within: float = ..., every: float = ...
) -> T: ...


@overload
async def wait_until(
    condition: Callable[[], T], what: str, *, within: float = ..., every: float = ...
) -> T: ...


async def wait_until(
    condition: Callable[[], Any],
    what: str,
    *,
    within: float = 30.0,
    every: float = POLL_S,
) -> Any:
    """The first truthy value of `condition()` (a plain or an async function), polled
    every `every` seconds; AssertionError naming `what` if none comes `within` seconds."""
    loop = asyncio.get_running_loop()
    until = loop.time() + within
    while True:
        value = condition()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if loop.time() >= until:
            raise AssertionError(f"waited {within:g} s for {what}; last saw {value!r}")
        await asyncio.sleep(every)


def wait_until_sync(
    condition: Callable[[], T],
    what: str,
    *,
    within: float = 30.0,
    every: float = POLL_S,
) -> T:
    """`wait_until` for tests without an event loop (driving a child process)."""
    until = time.monotonic() + within
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= until:
            raise AssertionError(f"waited {within:g} s for {what}; last saw {value!r}")
        time.sleep(every)
