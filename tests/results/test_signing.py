"""The site key file, and every Result written through the ORM getting a valid signature
that a raw SQL edit breaks."""

from __future__ import annotations

import asyncio
import logging
import stat
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cbt_server.db.models import Candidate, Result
from cbt_server.results.feed import Filters, fetch_all, publish_rows
from cbt_server.results.hooks import UnsignedResultWrite, install_result_signing
from cbt_server.results.signing import (
    KEY_FILE,
    KeyFileError,
    SiteKey,
    load_or_create_key,
    verify_document,
)
from cbt_server.settings import Settings
from tests.results.seed import Seeder


def test_key_is_created_private_and_reused(tmp_path: Path) -> None:
    key = load_or_create_key(tmp_path)
    path = tmp_path / KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_key(tmp_path).public_raw == key.public_raw
    assert [p.name for p in path.parent.iterdir()] == ["site-signing.pem"]  # no temp left


def test_unusable_key_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / KEY_FILE
    path.parent.mkdir(parents=True)
    path.write_text("not a key")
    with pytest.raises(KeyFileError, match="site-signing.pem"):
        load_or_create_key(tmp_path)


@pytest.fixture
def site_key(tmp_path: Path) -> SiteKey:
    return load_or_create_key(tmp_path / "site")


@pytest.fixture
def signing(
    sessionmaker: async_sessionmaker[AsyncSession], site_key: SiteKey
) -> async_sessionmaker[AsyncSession]:
    install_result_signing(sessionmaker, site_key)
    return sessionmaker


async def _documents(sm: async_sessionmaker[AsyncSession]) -> dict[str, dict[str, Any]]:
    """Each result as the API publishes it, by ticket."""
    async with sm() as db:
        rows = await fetch_all(db, Filters())
    return {doc["ticket"]: doc for doc in publish_rows(rows)}


async def test_orm_insert_is_signed_and_raw_sql_edit_breaks_it(
    signing: async_sessionmaker[AsyncSession], site_key: SiteKey
) -> None:
    seed = Seeder(signing)
    ticket = await seed.result("S1", name="李四", correct=55, wrong=45)
    other = await seed.result("S1")
    public = site_key.private_key.public_key()
    documents = await _documents(signing)
    assert documents[ticket]["signature"]
    assert all(verify_document(public, doc) for doc in documents.values())

    # Someone with database access lifts a failing score to a pass, behind the app's back.
    async with signing.begin() as db:
        await db.execute(
            text(
                "UPDATE results SET score = 65, passed = true WHERE candidate_id = "
                "(SELECT id FROM candidates WHERE ticket = :t)"
            ),
            {"t": ticket},
        )
    documents = await _documents(signing)
    assert documents[ticket]["score"] == "65.00"
    assert not verify_document(public, documents[ticket])
    assert verify_document(public, documents[other])


async def test_orm_updates_are_signed_again(
    signing: async_sessionmaker[AsyncSession], site_key: SiteKey
) -> None:
    seed = Seeder(signing)
    ticket = await seed.result("S1")
    public = site_key.private_key.public_key()
    before = (await _documents(signing))[ticket]
    async with signing.begin() as db:  # the examiner leader signs: results become final
        result = await db.scalar(select(Result))
        assert result is not None
        result.final = True
    after = (await _documents(signing))[ticket]
    assert after["final"] is True and after["signature"] != before["signature"]
    assert verify_document(public, after)
    async with signing.begin() as db:  # a name corrected through the app re-signs too
        candidate = await db.scalar(select(Candidate).where(Candidate.ticket == ticket))
        assert candidate is not None
        candidate.name = "王五"
    renamed = (await _documents(signing))[ticket]
    assert renamed["name"] == "王五" and verify_document(public, renamed)


async def test_raw_sql_edit_of_a_shown_candidate_field_breaks_it(
    signing: async_sessionmaker[AsyncSession], site_key: SiteKey
) -> None:
    ticket = await Seeder(signing).result("S1")
    async with signing.begin() as db:
        await db.execute(
            text("UPDATE candidates SET name = '冒名' WHERE ticket = :t"), {"t": ticket}
        )
    document = (await _documents(signing))[ticket]
    assert not verify_document(site_key.private_key.public_key(), document)


async def test_bulk_update_of_results_is_refused(
    signing: async_sessionmaker[AsyncSession],
) -> None:
    await Seeder(signing).result("S1")
    async with signing() as db:
        with pytest.raises(UnsignedResultWrite, match="unsigned"):
            await db.execute(update(Result).values(final=True))


async def test_a_session_without_the_key_writes_unsigned_and_says_so(
    sessionmaker: async_sessionmaker[AsyncSession],
    site_key: SiteKey,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="cbt_server.results.hooks"):
        ticket = await Seeder(sessionmaker).result("S1")
    assert "without the site key" in caplog.text
    document = (await _documents(sessionmaker))[ticket]
    assert document["signature"] == ""
    assert not verify_document(site_key.private_key.public_key(), document)


async def test_result_without_candidate_is_refused_clearly(
    signing: async_sessionmaker[AsyncSession],
) -> None:
    from cbt_server.results.formats import DocumentError
    from tests.results.seed import T0

    session_id = await Seeder(signing).exam_session("S1")
    async with signing() as db:
        db.add(
            Result(
                candidate_id=None,
                session_id=session_id,
                paper_id="P",
                score=1,
                max_score=1,
                pass_mark=1,
                passed=True,
                submitted_at=T0,
                submit_reason="candidate",
                responses=[],
            )
        )
        with pytest.raises(DocumentError, match="candidate id is not set"):
            await db.flush()


async def test_results_written_by_earlier_startup_tasks_are_signed(settings: Settings) -> None:
    """A context started before the results one (like the runtime's deadline sweeper)
    whose background task writes a Result at once still gets it signed."""
    from aiohttp import web

    from cbt_server.app import create_app, database_ctx
    from cbt_server.keys import SESSIONMAKER, SITE_KEY

    tasks: list[asyncio.Task[str]] = []

    async def early_writer(app: web.Application) -> AsyncIterator[None]:
        seed = Seeder(app[SESSIONMAKER])
        await seed.exam_session("S1")
        tasks.append(asyncio.create_task(seed.result("S1")))
        yield

    app = create_app(settings)
    position = list(app.cleanup_ctx).index(database_ctx) + 1
    app.cleanup_ctx.insert(position, early_writer)
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        ticket = await tasks[0]
        document = (await _documents(app[SESSIONMAKER]))[ticket]
        assert verify_document(app[SITE_KEY].private_key.public_key(), document)
    finally:
        await runner.cleanup()
