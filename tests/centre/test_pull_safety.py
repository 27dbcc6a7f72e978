"""Pulls that two centre processes run at once, and a pull that dies half-way: every
result kept exactly once. A real site; the centre on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import DataError

from cbt_server.centre import ingest
from cbt_server.centre.keybank import KeyBank
from cbt_server.centre.models import CentreResult, CentreSite
from cbt_server.db.engine import make_engine, make_sessionmaker
from cbt_server.keys import CIPHER, SESSIONMAKER
from cbt_server.settings import Settings
from tests.centre.conftest import Centre

RESULTS = 40


async def _prepare(centre: Centre, make_site: Any) -> int:
    site = await make_site("site-a")
    await centre.add_site(site)
    for n in range(RESULTS):
        await site.seed.result(f"S{n % 3}")
    async with centre.sessionmaker() as db:
        site_id = await db.scalar(select(CentreSite.id))
    assert site_id is not None
    return int(site_id)


async def _rows(centre: Centre) -> tuple[int, int]:
    """(rows, distinct tickets) the centre holds."""
    async with centre.sessionmaker() as db:
        rows = await db.scalar(select(func.count()).select_from(CentreResult))
        tickets = await db.scalar(select(func.count(func.distinct(CentreResult.ticket))))
    return int(rows or 0), int(tickets or 0)


async def test_two_centre_processes_never_pull_a_page_twice(
    centre: Centre, make_site: Any, centre_settings: Settings
) -> None:
    site_id = await _prepare(centre, make_site)
    # A second "process": its own engine, sessions and key bank on the same database.
    other_engine = make_engine(centre_settings.effective_database_url)
    other = make_sessionmaker(other_engine)
    banks = [KeyBank(centre.app[CIPHER]), KeyBank(centre.app[CIPHER])]
    try:
        async with aiohttp.ClientSession() as http:
            reports = await asyncio.gather(
                ingest.pull_site_into_db(
                    centre.app[SESSIONMAKER], http, site_id, banks[0], limit=4
                ),
                ingest.pull_site_into_db(other, http, site_id, banks[1], limit=4),
            )
    finally:
        await other_engine.dispose()
    assert sum(r.pulled for r in reports) == RESULTS
    assert await _rows(centre) == (RESULTS, RESULTS)
    if centre_settings.is_sqlite:
        return
    # PostgreSQL: the row lock is taken with SKIP LOCKED, so one process found the site
    # busy and left it to the other instead of waiting.
    assert any(r.skipped for r in reports)


async def test_a_pull_that_dies_half_way_resumes_without_loss_or_doubles(
    centre: Centre, make_site: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    site_id = await _prepare(centre, make_site)
    real_upsert = ingest.upsert_results
    calls = 0

    async def dying(db: Any, rows: list[dict[str, Any]]) -> None:
        nonlocal calls
        calls += 1
        await real_upsert(db, rows)  # written, then the process "dies" before commit
        if calls == 3:
            raise RuntimeError("killed")

    monkeypatch.setattr(ingest, "upsert_results", dying)
    bank = KeyBank(centre.app[CIPHER])
    async with aiohttp.ClientSession() as http:
        with pytest.raises(RuntimeError):
            await ingest.pull_site_into_db(centre.sessionmaker, http, site_id, bank, limit=7)
        assert await _rows(centre) == (14, 14)  # two pages committed with their cursor
        monkeypatch.setattr(ingest, "upsert_results", real_upsert)
        report = await ingest.pull_site_into_db(centre.sessionmaker, http, site_id, bank, limit=7)
    assert report.pulled == RESULTS - 14 and report.status == "ok"
    assert await _rows(centre) == (RESULTS, RESULTS)


async def test_sites_pulled_side_by_side_each_get_everything(
    centre: Centre, make_site: Any
) -> None:
    made = [await make_site(f"site-{n}") for n in range(3)]
    for n, site in enumerate(made):
        await centre.add_site(site)
        for _ in range(n + 2):
            await site.seed.result(f"S{n}")
    reports = await ingest.pull_all(
        centre.sessionmaker, KeyBank(centre.app[CIPHER]), limit=2, concurrency=3
    )
    assert sorted((r.site, r.pulled, r.status) for r in reports) == [
        ("site-0", 2, "ok"),
        ("site-1", 3, "ok"),
        ("site-2", 4, "ok"),
    ]
    assert await _rows(centre) == (9, 9)


async def test_a_page_the_database_refuses_is_a_visible_state_then_retried(
    centre: Centre, make_site: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    site_id = await _prepare(centre, make_site)
    real_upsert = ingest.upsert_results

    async def refused(db: Any, rows: list[dict[str, Any]]) -> None:
        raise DataError("INSERT INTO centre_results", {}, Exception("value too long"))

    monkeypatch.setattr(ingest, "upsert_results", refused)
    bank = KeyBank(centre.app[CIPHER])
    async with aiohttp.ClientSession() as http:
        report = await ingest.pull_site_into_db(centre.sessionmaker, http, site_id, bank)
        assert report.status == "store_failed" and "value too long" in report.reason
        async with centre.sessionmaker() as db:
            site = await db.get(CentreSite, site_id)
            assert site is not None and site.status == "store_failed" and site.cursor is None
        monkeypatch.setattr(ingest, "upsert_results", real_upsert)
        report = await ingest.pull_site_into_db(centre.sessionmaker, http, site_id, bank)
    assert report.status == "ok" and report.pulled == RESULTS
