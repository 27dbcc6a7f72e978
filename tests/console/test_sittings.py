"""Sittings (场次): the console lists the room's sessions of the day and links the next."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import aiohttp
from sqlalchemy import update

from cbt_server.db import models
from cbt_server.db.engine import make_engine, make_sessionmaker
from cbt_server.enrolment.sessions import sittings_of_day
from cbt_server.settings import Settings
from tests.conftest import LiveServer
from tests.console.room import Room

MORNING = datetime(2026, 12, 5, 1, 0, tzinfo=UTC)  # 09:00 in China


def exam(ident: int, code: str, at: datetime | None) -> models.ExamSession:
    return models.ExamSession(id=ident, code=code, scheduled_at=at, started_at=None)


def test_sittings_of_the_day_in_order() -> None:
    morning = exam(1, "AM", MORNING)
    afternoon = exam(2, "PM", MORNING + timedelta(hours=5))
    rehearsal = exam(3, "R", MORNING - timedelta(hours=1))
    tomorrow = exam(4, "NEXT", MORNING + timedelta(days=1))
    unscheduled = exam(5, "U", None)
    rows = [afternoon, tomorrow, morning, unscheduled, rehearsal]
    assert [e.code for e in sittings_of_day(rows, morning)] == ["R", "AM", "PM"]
    assert [e.code for e in sittings_of_day(rows, unscheduled)] == ["U"]


async def test_console_lists_the_day_and_links_the_next(
    room_server: LiveServer, room: Room, room_settings: Settings
) -> None:
    engine = make_engine(room_settings.effective_database_url)
    try:
        async with make_sessionmaker(engine).begin() as db:
            for code, at in (("S1", MORNING), ("S2", MORNING + timedelta(hours=5))):
                await db.execute(
                    update(models.ExamSession)
                    .where(models.ExamSession.code == code)
                    .values(scheduled_at=at)
                )
    finally:
        await engine.dispose()
    cookies = {"cbt_staff": room.cookies["admin"]}
    async with aiohttp.ClientSession(room_server.base_url, cookies=cookies) as http:
        async with http.get("/console/sessions/S1") as resp:
            morning = await resp.text()
        async with http.get("/console/sessions/S2") as resp:
            afternoon = await resp.text()
        # Once the morning has ended its page offers the afternoon at once (the live
        # console shows the same banner when the end arrives over the socket).
        engine = make_engine(room_settings.effective_database_url)
        try:
            async with make_sessionmaker(engine).begin() as db:
                await db.execute(
                    update(models.ExamSession)
                    .where(models.ExamSession.code == "S1")
                    .values(state="ended")
                )
        finally:
            await engine.dispose()
        async with http.get("/console/sessions/S1") as resp:
            ended = await resp.text()
    # The banner offering the next sitting is there, hidden until the session has ended.
    assert (
        '<aside id="next-sitting-banner" class="next-banner" role="status" data-next="S2" hidden>'
        in morning
    )
    assert (
        '<aside id="next-sitting-banner" class="next-banner" role="status" data-next="S2">' in ended
    )
    assert 'id="next-sitting-go"' in ended and 'href="/console/sessions/S2"' in ended
    assert 'id="next-sitting-banner"' not in afternoon
    assert "本考场今日场次" in morning
    assert 'data-sitting="S1" aria-current="page"' in morning
    assert 'data-sitting="S2"' in morning
    assert 'id="next-sitting"' in morning and "下一场 Next：S2" in morning
    assert 'data-sitting="S2" aria-current="page"' in afternoon
    assert 'id="next-sitting"' not in afternoon  # the last sitting of the day
