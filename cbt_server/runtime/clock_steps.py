"""Wall-clock steps in the room record: each step the exam clock took out is written to the
audit log of every session open at the time (`session.clock_step`), so the room record
(考场记录表) says what jump was seen, when, and that remaining time was not moved by it.

The exam clock tells of a step synchronously (it is read inside units of work); the
entries are written by a background task owned by the runtime's cleanup context. With
several worker processes each sees the same step: the first to write it records it, and
the others find it recorded (the session row is locked while they look).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server import audit
from cbt_server.db import models
from cbt_server.exam.state import SessionState
from cbt_server.runtime.context import Runtime
from cbt_server.runtime.exam_clock import STEP_THRESHOLD, Step
from cbt_server.runtime.tasks import raise_if_cancelling

log = logging.getLogger(__name__)

ACTION = "session.clock_step"
SYSTEM = "system"
SAME_STEP_WITHIN = timedelta(seconds=30)
"""Entries of one session closer than this, with jumps within the step threshold of each
other, are one step seen by two processes."""
OPEN = (SessionState.CHECKIN.value, SessionState.STARTED.value)


def describe(jump: timedelta) -> str:
    """The room record's reason text for a step (Chinese first)."""
    seconds = jump.total_seconds()
    way = "拨快" if seconds > 0 else "拨慢"
    return (
        f"服务器系统时钟被{way} {abs(seconds):.1f} 秒；考试计时按单调时钟继续，"
        f"剩余时间未受影响 (server wall clock stepped {seconds:+.1f} s; "
        "remaining time unaffected)"
    )


class StepRecorder:
    """Takes steps from the exam clock (`seen`) and writes them (`run`, a task)."""

    def __init__(self, runtime: Runtime) -> None:
        self._rt = runtime
        self._queue: asyncio.Queue[Step] = asyncio.Queue()

    def seen(self, step: Step) -> None:
        self._queue.put_nowait(step)

    async def run(self) -> None:
        while True:
            step = await self._queue.get()
            try:
                await self.record(step)
            except asyncio.CancelledError:
                raise
            except Exception:
                raise_if_cancelling()
                log.exception("wall-clock step of %s not recorded", step.jump)

    async def record(self, step: Step) -> list[str]:
        """Write the step into every open session's audit log; the codes written."""
        written: list[str] = []
        jump_s = round(step.jump.total_seconds(), 3)
        async with self._rt.unit() as work:
            db = work.session
            exams = (
                await db.scalars(
                    select(models.ExamSession)
                    .where(models.ExamSession.state.in_(OPEN))
                    .order_by(models.ExamSession.id)
                    .with_for_update()
                )
            ).all()
            for exam in exams:
                target = audit.session_target(exam.code)
                if await _recorded(db, target, step):
                    continue
                await audit.record(
                    db,
                    SYSTEM,
                    SYSTEM,
                    ACTION,
                    target,
                    describe(step.jump),
                    {
                        "jump_s": jump_s,
                        "wall_clock": step.wall.isoformat(),
                        "process": self._rt.process_id,
                    },
                    at=step.exam_now,
                )
                written.append(exam.code)
        return written


async def _recorded(db: AsyncSession, target: str, step: Step) -> bool:
    """Whether another process recorded this step for `target` already."""
    rows = await db.scalars(
        select(models.AuditEntry).where(
            models.AuditEntry.target == target,
            models.AuditEntry.action == ACTION,
            models.AuditEntry.at >= step.exam_now - SAME_STEP_WITHIN,
            models.AuditEntry.at <= step.exam_now + SAME_STEP_WITHIN,
        )
    )
    jump = step.jump.total_seconds()
    threshold = STEP_THRESHOLD.total_seconds()
    return any(abs(float((row.data or {}).get("jump_s", 0.0)) - jump) <= threshold for row in rows)
