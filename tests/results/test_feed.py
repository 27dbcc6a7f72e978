"""Cursor paging: each result exactly once, in commit order, with results arriving
between pages and transactions committing out of id order; parameters validated."""

from __future__ import annotations

import asyncio

from sqlalchemy import select, text

from cbt_server.db.models import Result
from cbt_server.keys import ENGINE, SETTINGS
from cbt_server.results.feed import decode_cursor, encode_cursor, feed_triggers_present
from tests.results.conftest import Site


async def _pull_all(site: Site, cursor: str | None, limit: int) -> tuple[list[str], str | None]:
    tickets: list[str] = []
    while True:
        params = {"limit": str(limit)}
        if cursor is not None:
            params["after"] = cursor
        page = await site.page(**params)
        tickets += [r["ticket"] for r in page["results"]]
        cursor = page["next"]
        if len(page["results"]) < limit:
            return tickets, cursor


async def test_empty_feed(site: Site) -> None:
    assert await site.page() == {"results": [], "next": None}


async def test_paging_with_results_arriving_between_pages(site: Site) -> None:
    first = [await site.seed.result("S1") for _ in range(7)]
    page = await site.page(limit="3")
    assert [r["ticket"] for r in page["results"]] == first[:3]
    # New results commit while the puller is between pages.
    second = [await site.seed.result("S2") for _ in range(4)]
    got, cursor = await _pull_all(site, page["next"], 3)
    assert got == first[3:] + second
    # Nothing comes twice; later arrivals come after the stored cursor.
    assert (await site.page(after=cursor))["results"] == []
    third = [await site.seed.result("S1") for _ in range(2)]
    got, cursor2 = await _pull_all(site, cursor, 3)
    assert got == third
    assert (await site.page(after=cursor2)) == {"results": [], "next": cursor2}


async def test_update_moves_a_result_to_the_end(site: Site) -> None:
    tickets = [await site.seed.result("S1") for _ in range(3)]
    cursor = (await site.page())["next"]
    async with site.sessionmaker.begin() as db:
        first = await db.scalar(select(Result).order_by(Result.id).limit(1))
        assert first is not None
        first.final = True
    page = await site.page(after=cursor)
    assert [(r["ticket"], r["final"]) for r in page["results"]] == [(tickets[0], True)]


async def test_out_of_order_commits_are_not_skipped(site: Site) -> None:
    """Transaction A writes a result first but commits last: the puller must still get it.

    With plain autoincrement ids on PostgreSQL, B's row (id 2) could be served while A's
    (id 1) was uncommitted, and a cursor past 2 would skip A for ever.
    """
    await site.seed.exam_session("S1")
    await site.seed.result("S1", ticket="BEFORE")
    cursor = (await site.page())["next"]

    a_written, a_commit = asyncio.Event(), asyncio.Event()

    async def writer_a() -> None:
        async with site.sessionmaker.begin() as db:
            await db.execute(text("UPDATE results SET final = final"))  # touch: joins the feed
            a_written.set()
            await a_commit.wait()

    task_a = asyncio.create_task(writer_a())
    await a_written.wait()
    task_b = asyncio.create_task(site.seed.result("S1", ticket="B"))
    await asyncio.sleep(0.5)
    assert not task_b.done(), "B must wait for A's feed lock"
    if not site.server.app[SETTINGS].is_sqlite:
        # While A is open the puller sees neither A's nor B's write; its cursor stays put.
        # (On SQLite every transaction, reads too, queues behind A: nothing to observe.)
        page = await site.page(after=cursor)
        assert page == {"results": [], "next": cursor}
    a_commit.set()
    await task_a
    await task_b
    got, _ = await _pull_all(site, cursor, 10)
    assert got == ["BEFORE", "B"]  # A's touch of BEFORE, then B, in commit order


async def test_feed_triggers_exist(site: Site) -> None:
    async with site.server.app[ENGINE].connect() as c:
        assert await feed_triggers_present(c)
    await site.seed.result("S1")
    async with site.sessionmaker() as db:
        seqs = list(await db.scalars(select(Result.feed_seq)))
    assert seqs == [1]


def test_cursor_round_trip() -> None:
    for position in (0, 1, 123456789012):
        assert decode_cursor(encode_cursor(position)) == position


BAD_PARAMETERS = [
    ({"limit": "0"}, "limit"),
    ({"limit": "1001"}, "limit"),
    ({"limit": "ten"}, "limit"),
    ({"limit": "-5"}, "limit"),
    ({"after": "garbage!"}, "after"),
    ({"after": "Zm9vOjE"}, "after"),  # base64 of something that is not our cursor
    ({"level": "9"}, "level"),
    ({"final": "yes"}, "final"),
    ({"session": "x" * 65}, "session"),
    ({"occupation": "a\x01b"}, "occupation"),
    ({"session": "S1\n"}, "session"),  # a trailing newline is not the code
]


async def test_bad_parameters_are_400_naming_them(site: Site) -> None:
    for params, word in BAD_PARAMETERS:
        status, body, _ = await site.get("/api/v1/results", params)
        assert status == 400, params
        assert body["error"]["code"] == "invalid_input"
        assert body["error"]["message"].startswith(word), (params, body)


async def test_limit_bounds_are_accepted(site: Site) -> None:
    for _ in range(3):
        await site.seed.result("S1")
    assert len((await site.page(limit="1"))["results"]) == 1
    assert len((await site.page(limit="1000"))["results"]) == 3
    assert len((await site.page())["results"]) == 3


async def test_cursor_ahead_of_the_feed_is_409(site: Site) -> None:
    await site.seed.result("S1")
    status, body, _ = await site.get("/api/v1/results", {"after": encode_cursor(50)})
    assert status == 409
    assert body["error"]["code"] == "cursor_ahead"
