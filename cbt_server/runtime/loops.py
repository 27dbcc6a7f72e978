"""Which event loop the server runs on (`CBT_EVENT_LOOP`).

The server spends most of a busy exam in the event loop itself: reading WebSocket
frames, waking the coroutine that waits for them, writing the replies. uvloop (libuv
under asyncio's interface) does that work in C; the profile of a 2,000-candidate room
spent about 60 % of the server's core there. uvloop does not exist on Windows, so
`auto` takes it where it is installed and otherwise asyncio's own loop, and the server
says which one it runs (the ready line and /healthz).
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Callable
from types import ModuleType

from cbt_server.settings import SettingsError

CHOICES = ("auto", "uvloop", "asyncio")


def _uvloop() -> ModuleType | None:
    try:
        return importlib.import_module("uvloop")
    except ImportError:
        return None


def loop_factory(choice: str) -> tuple[str, Callable[[], asyncio.AbstractEventLoop]]:
    """The loop to run for setting value `choice`: its name and a function making one.

    `uvloop` asked for where it cannot be imported is a settings error naming the
    setting, not a silent fallback: whoever asked meant it.
    """
    if choice not in CHOICES:
        raise SettingsError(f"CBT_EVENT_LOOP: must be one of {', '.join(CHOICES)}: {choice!r}")
    if choice == "asyncio":
        return "asyncio", asyncio.new_event_loop
    uvloop = _uvloop()
    if uvloop is None:
        if choice == "uvloop":
            raise SettingsError(
                "CBT_EVENT_LOOP: uvloop is not installed here (it does not exist on "
                "Windows); use auto or asyncio"
            )
        return "asyncio", asyncio.new_event_loop
    new_loop: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return "uvloop", new_loop


def loop_name(loop: asyncio.AbstractEventLoop) -> str:
    """`uvloop` or `asyncio`: what a running loop is, for /healthz."""
    return "uvloop" if type(loop).__module__.startswith("uvloop") else "asyncio"
