"""Heartbeats of server processes, and the downtime they reveal after a crash.

Every process writes a heartbeat every `BEAT_SECONDS`. Which processes are alive right
now is known without waiting for beats: on SQLite only this one (a SQLite site runs one
process); on PostgreSQL those with an open event-listener connection, found in
`pg_stat_activity` under the application name `cbt:<process id>`.

A process starting when every other process had stopped (all live processes started
after the last heartbeat of the dead ones) records the gap as downtime; the clock gives
it back to candidates under the default `downtime_policy = not_counted`. Connections
held by dead processes are released, since their sockets died with them.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from sqlalchemy import delete, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server.db import models
from cbt_server.runtime.context import Runtime
from cbt_server.runtime.notifier import APPLICATION_PREFIX
from cbt_server.runtime.tasks import raise_if_cancelling

log = logging.getLogger(__name__)

BEAT_SECONDS = 2.0


async def live_processes(session: AsyncSession, runtime: Runtime) -> dict[str, datetime]:
    """process id -> since when it has been up, for every live server process."""
    live = {runtime.process_id: runtime.started_at}
    if session.get_bind().dialect.name == "postgresql":
        rows = await session.execute(
            text(
                "SELECT application_name, backend_start FROM pg_stat_activity "
                "WHERE datname = current_database() AND application_name LIKE :prefix"
            ),
            {"prefix": f"{APPLICATION_PREFIX}%"},
        )
        for name, since in rows.all():
            process_id = str(name)[len(APPLICATION_PREFIX) :]
            live.setdefault(process_id, since)
    return live


async def _release(session: AsyncSession, dead: list[str]) -> None:
    """Forget dead processes and free the candidates whose connection they held."""
    for process_id in dead:
        await session.execute(
            update(models.Candidate)
            .where(models.Candidate.connection_id.startswith(f"{process_id}:", autoescape=True))
            .values(connection_id=None)
        )
    if dead:
        await session.execute(delete(models.Heartbeat).where(models.Heartbeat.process_id.in_(dead)))


async def on_start(runtime: Runtime) -> models.Downtime | None:
    """Record downtime if every process had stopped, release the dead, first beat."""
    now = runtime.now()
    downtime = None
    async with runtime.unit() as work:
        session = work.session
        live = await live_processes(session, runtime)
        beats = list(await session.scalars(select(models.Heartbeat)))
        dead = [b for b in beats if b.process_id not in live]
        if dead:
            last = max(b.beat_at for b in dead)
            first_up = min(live.values())
            known = await session.scalar(
                select(models.Downtime.id).where(models.Downtime.started_at == last).limit(1)
            )
            if last < first_up and known is None:
                downtime = models.Downtime(started_at=last, ended_at=first_up)
                session.add(downtime)
                log.warning("no server process ran from %s to %s: downtime", last, first_up)
        await _release(session, [b.process_id for b in dead])
        await session.merge(models.Heartbeat(process_id=runtime.process_id, beat_at=now))
    return downtime


async def beat(runtime: Runtime, *, release: bool = False) -> None:
    now = runtime.now()
    async with runtime.unit() as work:
        await work.session.merge(models.Heartbeat(process_id=runtime.process_id, beat_at=now))
        if release:
            live = await live_processes(work.session, runtime)
            beats = await work.session.scalars(select(models.Heartbeat.process_id))
            await _release(work.session, [p for p in beats if p not in live])


async def beat_forever(runtime: Runtime) -> None:
    count = 0
    while True:
        await asyncio.sleep(BEAT_SECONDS)
        count += 1
        try:
            await beat(runtime, release=count % 5 == 0)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # the database may be briefly away; keep beating
            raise_if_cancelling()
            log.warning("heartbeat failed: %s", error)
