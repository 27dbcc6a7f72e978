"""Exam delivery over WebSockets: handlers, services binding the exam core to the
database, the notifier, deadlines and heartbeats.

`setup(app)` mounts it on the app from `create_app`: routes `/ws/candidate` and
`/ws/proctor`, and a cleanup context that owns the notifier and the background tasks.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from cbt_server.db.engine import make_sessionmaker
from cbt_server.keys import (
    ADMISSION,
    CIPHER,
    CLOCK_STEPS,
    HUB,
    LOGIN_LIMITS,
    LOOP_WATCH,
    ROOM_STATES,
    RUNTIME,
    RUNTIME_MOUNTED,
    SESSIONMAKER,
    SETTINGS,
    SWEEPER,
)
from cbt_server.runtime import liveness
from cbt_server.runtime.admission import Admission
from cbt_server.runtime.clock_steps import StepRecorder
from cbt_server.runtime.context import Runtime, new_process_id
from cbt_server.runtime.deadlines import Sweeper
from cbt_server.runtime.exam_clock import ExamClock
from cbt_server.runtime.fdlimit import open_file_limit
from cbt_server.runtime.heap import HeapFreezer
from cbt_server.runtime.hub import Hub
from cbt_server.runtime.login_limit import LoginLimits
from cbt_server.runtime.loopwatch import LoopWatch, log_stall
from cbt_server.runtime.notifier import make_notifier
from cbt_server.runtime.readengine import make_read_engine
from cbt_server.runtime.room_states import RoomStates
from cbt_server.runtime.tasks import stop_tasks
from cbt_server.runtime.ws_candidate import candidate_socket
from cbt_server.runtime.ws_proctor import proctor_socket

log = logging.getLogger(__name__)

CANDIDATE_PATH = "/ws/candidate"
PROCTOR_PATH = "/ws/proctor"


async def runtime_ctx(app: web.Application) -> AsyncIterator[None]:
    """Own the notifier and the background tasks for the app's lifetime."""
    settings = app[SETTINGS]
    read_engine = make_read_engine(settings.effective_database_url)
    process_id = new_process_id()
    notifier = make_notifier(settings.effective_database_url, process_id)
    runtime = Runtime(
        settings,
        app[SESSIONMAKER],
        app[CIPHER],
        notifier,
        read_sessionmaker=make_sessionmaker(read_engine) if read_engine else None,
        serialize_writes=read_engine is not None,
        process_id=process_id,
    )
    # Exam time counts on a monotonic clock: a stepped wall clock moves no remaining time,
    # and each step goes into the room record (runtime/exam_clock.py, clock_steps.py).
    steps = StepRecorder(runtime)
    runtime.now = ExamClock(on_step=steps.seen)
    heap = HeapFreezer(asyncio.get_running_loop())
    heap.install()

    def exam_open(open_: bool) -> None:
        heap.exam_open(open_)
        if not open_ and isinstance(runtime.now, ExamClock):
            runtime.now.follow_wall()  # a clock corrected between exams is right at the next

    sweeper = Sweeper(runtime, on_open=exam_open)
    hub = Hub(on_clock_event=sweeper.wake, on_finish_event=sweeper.wake_to_finish)
    runtime.alarms.on_change = hub.alarms_changed
    app[RUNTIME] = runtime
    app[CLOCK_STEPS] = steps
    app[SWEEPER] = sweeper
    app[HUB] = hub
    app[ROOM_STATES] = RoomStates(runtime, hub.candidate_ids)
    app[LOGIN_LIMITS] = LoginLimits()
    app[ADMISSION] = make_admission(settings.ws_pending_per_address, settings.ws_pending_total)
    app[LOOP_WATCH] = loop_watch = LoopWatch(on_stall=log_stall)
    await notifier.start(hub.deliver, hub.resync)
    await liveness.on_start(runtime)
    tasks = [
        asyncio.create_task(sweeper.run(), name="cbt-deadlines"),
        asyncio.create_task(liveness.beat_forever(runtime), name="cbt-heartbeat"),
        asyncio.create_task(loop_watch.run(), name="cbt-loop-watch"),
        asyncio.create_task(steps.run(), name="cbt-clock-steps"),
    ]
    try:
        yield
    finally:
        await stop_tasks(tasks)
        try:
            # The last sign of life: downtime after a clean stop starts from here.
            async with asyncio.timeout(5):
                await liveness.beat(runtime)
        except Exception as error:
            log.warning("final heartbeat not written: %s", error)
        await notifier.close()
        if read_engine is not None:
            await read_engine.dispose()
        heap.exam_open(False)
        heap.uninstall()


def make_admission(per_address: int, total: int) -> Admission:
    """The ceilings on sockets that have not logged in: never more than half the open
    files this process may have, so that they cannot starve logins, /healthz and staff
    sign-in of file descriptors."""
    limit = open_file_limit()
    if limit is not None:
        total = min(total, max(1, limit // 2))
    return Admission(per_address=min(per_address, total), total=total)


async def _close_sockets(app: web.Application) -> None:
    if HUB in app:
        await app[HUB].close_all()


def setup(app: web.Application) -> None:
    """Mount the exam runtime (idempotent). Call after the database context is added."""
    if app.get(RUNTIME_MOUNTED):
        return
    app[RUNTIME_MOUNTED] = True
    app.router.add_get(CANDIDATE_PATH, candidate_socket)
    app.router.add_get(PROCTOR_PATH, proctor_socket)
    app.cleanup_ctx.append(runtime_ctx)
    app.on_shutdown.append(_close_sockets)
