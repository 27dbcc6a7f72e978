"""Heartbeats of server processes, and the downtime they reveal after a crash.

Every process writes a heartbeat every `BEAT_SECONDS`. A process starting when no other
is alive (no heartbeat younger than `DEAD_AFTER_SECONDS`) records the gap since the last
heartbeat as downtime: the clock gives it back to candidates under the default
`downtime_policy = not_counted`. Connections held by processes that died are released,
since their sockets died with them.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server.db import models
from cbt_server.runtime.context import Runtime

log = logging.getLogger(__name__)

BEAT_SECONDS = 2.0
DEAD_AFTER_SECONDS = 3 * BEAT_SECONDS


async def _release_dead(session: AsyncSession, now: datetime, everyone_dead: bool) -> list[str]:
    """Delete heartbeats of dead processes and free the candidates they held."""
    cutoff = now - timedelta(seconds=DEAD_AFTER_SECONDS)
    dead = list(
        await session.scalars(
            select(models.Heartbeat.process_id).where(models.Heartbeat.beat_at <= cutoff)
        )
    )
    if everyone_dead:
        await session.execute(
            update(models.Candidate)
            .where(models.Candidate.connection_id.is_not(None))
            .values(connection_id=None)
        )
    else:
        for process_id in dead:
            await session.execute(
                update(models.Candidate)
                .where(models.Candidate.connection_id.startswith(f"{process_id}:", autoescape=True))
                .values(connection_id=None)
            )
    if dead:
        await session.execute(delete(models.Heartbeat).where(models.Heartbeat.process_id.in_(dead)))
    return dead


async def on_start(runtime: Runtime) -> models.Downtime | None:
    """Record downtime if every process was down, release dead connections, first beat."""
    now = runtime.now()
    cutoff = now - timedelta(seconds=DEAD_AFTER_SECONDS)
    downtime = None
    async with runtime.unit() as work:
        beats = list(await work.session.scalars(select(models.Heartbeat)))
        alive = [b for b in beats if b.beat_at > cutoff and b.process_id != runtime.process_id]
        if beats and not alive:
            last = max(b.beat_at for b in beats)
            if last < now:
                downtime = models.Downtime(started_at=last, ended_at=now)
                work.session.add(downtime)
                log.warning("no server process ran from %s to %s: recorded as downtime", last, now)
        await _release_dead(work.session, now, everyone_dead=not alive)
        await work.session.merge(models.Heartbeat(process_id=runtime.process_id, beat_at=now))
    return downtime


async def beat(runtime: Runtime, *, release: bool = False) -> None:
    now = runtime.now()
    async with runtime.unit() as work:
        await work.session.merge(models.Heartbeat(process_id=runtime.process_id, beat_at=now))
        if release:
            await _release_dead(work.session, now, everyone_dead=False)


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
            log.warning("heartbeat failed: %s", error)
