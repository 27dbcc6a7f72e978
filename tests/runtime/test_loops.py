"""CBT_EVENT_LOOP: which event loop the server runs on, and clear errors when it can't."""

from __future__ import annotations

import asyncio

import pytest

from cbt_server.runtime import loops
from cbt_server.settings import SettingsError, load_settings


def _run_on(factory: object) -> str:
    """Run a coroutine on a loop made by `factory`; returns the loop's kind as seen inside."""
    assert callable(factory)
    loop = factory()
    try:

        async def inside() -> str:
            await asyncio.sleep(0)
            return loops.loop_name(asyncio.get_running_loop())

        result = loop.run_until_complete(inside())
        assert isinstance(result, str)
        return result
    finally:
        loop.close()


def test_auto_takes_uvloop_where_it_is_installed() -> None:
    pytest.importorskip("uvloop", reason="uvloop is a dependency on Linux; not on Windows")
    kind, factory = loops.loop_factory("auto")
    assert kind == "uvloop"
    assert _run_on(factory) == "uvloop"


def test_asyncio_is_asyncios_own_loop() -> None:
    kind, factory = loops.loop_factory("asyncio")
    assert kind == "asyncio"
    assert _run_on(factory) == "asyncio"


def test_without_uvloop_auto_falls_back_and_uvloop_is_an_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(loops, "_uvloop", lambda: None)
    kind, factory = loops.loop_factory("auto")
    assert kind == "asyncio" and _run_on(factory) == "asyncio"
    with pytest.raises(SettingsError, match="CBT_EVENT_LOOP: uvloop is not installed"):
        loops.loop_factory("uvloop")


def test_the_setting_names_itself_when_wrong() -> None:
    assert load_settings({}).event_loop == "auto"
    assert load_settings({"CBT_EVENT_LOOP": "asyncio"}).event_loop == "asyncio"
    with pytest.raises(SettingsError, match="CBT_EVENT_LOOP: must be one of auto, uvloop"):
        load_settings({"CBT_EVENT_LOOP": "trio"})
    with pytest.raises(SettingsError, match="CBT_EVENT_LOOP"):
        loops.loop_factory("trio")
