"""A formal session cannot start outside its package's validity window (issue 20)."""

from __future__ import annotations

from datetime import timedelta

from cbt_server.db import models
from cbt_server.db.types import utcnow
from cbt_server.settings import Settings
from tests.conftest import LiveServer
from tests.runtime.conftest import ExamServerFactory
from tests.runtime.exam_setup import Exam, open_db
from tests.runtime.wsclient import command, proctor_open


async def seal_window(settings: Settings, exam: Exam, hours_from_now: tuple[int, int]) -> None:
    """Put the session's blueprint in a package valid between the two offsets."""
    now = utcnow()
    async with open_db(settings) as db, db.begin():
        row = await db.get(models.ExamSession, exam.session_id)
        assert row is not None
        blueprint = await db.get(models.Blueprint, row.blueprint_id)
        assert blueprint is not None
        db.add(
            models.PaperPackage(
                package_id="pkg-1",
                not_before=now + timedelta(hours=hours_from_now[0]),
                not_after=now + timedelta(hours=hours_from_now[1]),
            )
        )
        await db.flush()
        blueprint.package_id = "pkg-1"


async def test_a_formal_package_outside_its_window_cannot_start(
    exam_server_factory: ExamServerFactory, exam: Exam, sqlite_settings: Settings
) -> None:
    await seal_window(sqlite_settings, exam, (-30, -2))  # expired two hours ago
    server: LiveServer = await exam_server_factory(sqlite_settings)
    proctor, _ = await proctor_open(server.ws_url, exam.proctor_cookie, exam.session_id)
    await proctor.send({"type": "start", "seq": 1})
    error = await proctor.expect("error", ref_seq=1)
    assert error["code"] == "package_window" and "不在有效期内" in error["message"]
    async with open_db(sqlite_settings) as db:
        row = await db.get(models.ExamSession, exam.session_id)
        assert row is not None and row.state == "checkin" and row.started_at is None
    # A rehearsal of the same room is not held to the formal package's window.
    async with open_db(sqlite_settings) as db, db.begin():
        row = await db.get(models.ExamSession, exam.session_id)
        assert row is not None
        row.mode = "rehearsal"
    await command(proctor, "start")
    await proctor.close()


async def test_inside_the_window_it_starts(
    exam_server_factory: ExamServerFactory, exam: Exam, sqlite_settings: Settings
) -> None:
    await seal_window(sqlite_settings, exam, (-1, 8))
    server: LiveServer = await exam_server_factory(sqlite_settings)
    proctor, _ = await proctor_open(server.ws_url, exam.proctor_cookie, exam.session_id)
    await command(proctor, "start")
    await proctor.close()
