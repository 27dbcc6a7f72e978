"""Background tasks stop when the server stops, even when a cancellation gets lost."""

from __future__ import annotations

import asyncio
import logging

import pytest

from cbt_server.runtime.tasks import raise_if_cancelling, stop_tasks


async def test_stop_tasks_gives_up_on_a_task_that_will_not_end(
    caplog: pytest.LogCaptureFixture,
) -> None:
    release = asyncio.Event()

    async def stubborn() -> None:
        while not release.is_set():
            try:
                await release.wait()
            except asyncio.CancelledError:
                continue  # swallows every cancellation

    async def obedient() -> None:
        await asyncio.Event().wait()

    tasks = [asyncio.create_task(stubborn(), name="stubborn"), asyncio.create_task(obedient())]
    await asyncio.sleep(0)
    # It returns with the stubborn task still running: it gave up (the timeout only turns
    # a hang into a failure; how long the giving up takes is in loadtests/timings.py).
    with caplog.at_level(logging.ERROR, logger="cbt_server.runtime.tasks"):
        async with asyncio.timeout(30):
            await stop_tasks(tasks, grace=0.3)
    assert tasks[1].cancelled()
    assert not tasks[0].done()
    assert "stubborn did not stop" in caplog.text
    release.set()
    await tasks[0]


async def test_stop_tasks_reports_a_task_that_had_failed(caplog: pytest.LogCaptureFixture) -> None:
    async def fails() -> None:
        raise ValueError("broken")

    task = asyncio.create_task(fails(), name="fails")
    await asyncio.sleep(0)
    with caplog.at_level(logging.ERROR, logger="cbt_server.runtime.tasks"):
        await stop_tasks([task])
    assert "fails had failed" in caplog.text


async def test_a_retrying_loop_stops_when_its_cancel_came_back_as_another_error() -> None:
    attempts = 0

    async def retrying() -> None:
        nonlocal attempts
        while True:
            attempts += 1
            try:
                try:
                    await asyncio.Event().wait()
                except asyncio.CancelledError:
                    raise OSError("connection closed") from None  # as a driver may do
            except Exception:
                raise_if_cancelling()
            await asyncio.sleep(0)

    task = asyncio.create_task(retrying())
    await asyncio.sleep(0)
    task.cancel()
    done, _ = await asyncio.wait([task], timeout=2)
    assert task in done and task.cancelled()
    assert attempts == 1


async def test_an_ordinary_error_does_not_stop_a_retrying_loop() -> None:
    try:
        raise OSError("database away")
    except OSError:
        raise_if_cancelling()  # nothing asked this task to stop: returns
