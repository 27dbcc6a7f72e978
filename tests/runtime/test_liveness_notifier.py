"""Heartbeats and downtime after a crash; the PostgreSQL notifier across a lost connection."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text

from cbt_server.content_crypto import ContentCipher
from cbt_server.db import models
from cbt_server.db.engine import make_engine, make_sessionmaker
from cbt_server.db.migrate import upgrade
from cbt_server.db.types import utcnow
from cbt_server.runtime import liveness
from cbt_server.runtime.context import Runtime
from cbt_server.runtime.events import Event, Kind
from cbt_server.runtime.notifier import MemoryNotifier, PgNotifier
from cbt_server.settings import Settings, load_settings
from tests.runtime.exam_setup import build_exam, settings_for
from tests.runtime.test_room_states import counting
from tests.waiting import wait_until


async def test_crash_leaves_downtime_and_frees_connections(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, "crash")
    engine = make_engine(settings.effective_database_url)
    try:
        await upgrade(engine)
        maker = make_sessionmaker(engine)
        cipher = ContentCipher.from_data_dir(settings.data_path)
        exam = await build_exam(maker, cipher, candidates=2)
        last_beat = utcnow() - timedelta(seconds=3)
        async with maker.begin() as db:  # what a SIGKILLed process leaves behind
            db.add(models.Heartbeat(process_id="4242-dead", beat_at=last_beat))
            held = await db.get(models.Candidate, exam.people[0].id)
            assert held is not None
            held.connection_id = "4242-dead:conn1"
        runtime = Runtime(settings, maker, cipher, MemoryNotifier())
        downtime = await liveness.on_start(runtime)
        assert downtime is not None
        assert (downtime.started_at, downtime.ended_at) == (last_beat, runtime.started_at)
        async with maker() as db:
            held = await db.get(models.Candidate, exam.people[0].id)
            assert held is not None and held.connection_id is None
            beats = list(await db.scalars(select(models.Heartbeat.process_id)))
            assert beats == [runtime.process_id]
        # A normal restart: this process's last beat becomes the start of the next gap.
        await liveness.beat(runtime)
        later = Runtime(settings, maker, cipher, MemoryNotifier())
        second = await liveness.on_start(later)
        assert second is not None and second.ended_at == later.started_at
        async with maker() as db:
            assert len(list(await db.scalars(select(models.Downtime)))) == 2
    finally:
        await engine.dispose()


async def test_first_start_records_no_downtime(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, "fresh")
    engine = make_engine(settings.effective_database_url)
    try:
        await upgrade(engine)
        maker = make_sessionmaker(engine)
        runtime = Runtime(
            settings, maker, ContentCipher.from_data_dir(settings.data_path), MemoryNotifier()
        )
        assert await liveness.on_start(runtime) is None
    finally:
        await engine.dispose()


@pytest.fixture
def pg_settings(tmp_path: Path, pg_url: str) -> Settings:
    return load_settings({}, data_dir=str(tmp_path / "data"), database_url=pg_url)


@pytest.mark.pg
async def test_pg_notifier_delivers_on_commit_only_and_survives_a_lost_connection(
    pg_settings: Settings,
) -> None:
    engine = make_engine(pg_settings.effective_database_url)
    await upgrade(engine)
    maker = make_sessionmaker(engine)
    received: list[Event] = []
    resyncs: list[int] = []
    notifier = PgNotifier(pg_settings.effective_database_url, "test-proc", retry_seconds=0.2)
    try:
        await notifier.start(received.append, lambda: resyncs.append(1))
        assert notifier.listening
        first = Event(Kind.SESSION_PAUSED, 7, data={"reason": "停电"})
        # PostgreSQL delivers notifications in the order their transactions committed:
        # once a marker committed after the event is heard, the event would have been.
        marker = Event(Kind.SESSION_RESUMED, 8)
        async with maker.begin() as db:
            await notifier.stage(db, [first])
            async with maker.begin() as other:
                await notifier.stage(other, [marker])
            await wait_until(lambda: marker in received, "the marker committed meanwhile")
            assert received == [marker]  # nothing before the commit
        await wait_until(lambda: received == [marker, first], "the event, after its commit")
        with pytest.raises(RuntimeError):
            async with maker.begin() as db:
                await notifier.stage(db, [Event(Kind.SESSION_RESUMED, 7)])
                raise RuntimeError("roll back")
        async with maker.begin() as db:
            await notifier.stage(db, [marker])
        await wait_until(lambda: received[2:] == [marker], "the marker after the rollback")
        assert received == [marker, first, marker]  # a rolled-back change is never announced

        # The database drops the listener's connection: it comes back and asks for a
        # resync (notifications sent meanwhile are lost), then hears new events again.
        async with maker.begin() as db:
            await db.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = 'cbt:test-proc'"
                )
            )
        await wait_until(lambda: resyncs == [1] and notifier.listening, "the listener back")
        again = Event(Kind.CANDIDATE_TIME, 7, 3)
        async with maker.begin() as db:
            await notifier.stage(db, [again])
        await wait_until(lambda: received[3:] == [again], "an event after the reconnect")
        assert received == [marker, first, marker, again]
    finally:
        await notifier.close()
        await engine.dispose()


@pytest.mark.pg
async def test_pg_notifier_announces_a_transactions_events_in_order_with_one_statement(
    pg_settings: Settings,
) -> None:
    """A group commit of many answers stages an event each: one round trip for all of
    them, announced in the order they happened."""
    engine = make_engine(pg_settings.effective_database_url)
    await upgrade(engine)
    maker = make_sessionmaker(engine)
    received: list[Event] = []
    notifier = PgNotifier(pg_settings.effective_database_url, "order-proc", retry_seconds=0.2)
    events = [
        Event(Kind.CANDIDATE_ANSWERED if n % 3 else Kind.CANDIDATE_CONNECTED, 7, n)
        for n in range(1, 41)
    ] + [Event(Kind.SESSION_PAUSED, 7, data={"reason": '停电, "引号" {}'})]
    try:
        await notifier.start(received.append, lambda: None)
        async with maker.begin() as db:
            with counting(db) as statements:
                await notifier.stage(db, events)
                await notifier.stage(db, [])  # nothing to announce: no statement
            assert len(statements) == 1
        await wait_until(lambda: len(received) == len(events), "every event")
        assert received == events
    finally:
        await notifier.close()
        await engine.dispose()
