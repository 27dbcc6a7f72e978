"""The audit log chains every entry to the one before; any edit is found and named."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, event, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cbt_server import audit
from cbt_server.db.models import AuditEntry
from cbt_server.errors import InvalidInput

Maker = async_sessionmaker[AsyncSession]


async def _write(maker: Maker, n: int) -> list[int]:
    ids = []
    for i in range(n):
        async with maker.begin() as s:
            entry = await audit.record(
                s,
                "zhang",
                "proctor",
                "candidate.pause",
                audit.candidate_target("S-1", f"T{i:03d}"),
                reason=f"机器故障 {i}",
                data={"seat": i, "minutes": 1.5, "tags": ("a", "b")},
            )
            ids.append(entry.id)
    return ids


async def test_empty_log_is_intact(sessionmaker: Maker) -> None:
    async with sessionmaker() as s:
        report = await audit.verify_chain(s)
    assert report.intact and report.entries == 0 and report.tail_hash == audit.GENESIS


async def test_entries_chain_and_verify(sessionmaker: Maker) -> None:
    await _write(sessionmaker, 5)
    async with sessionmaker() as s:
        rows = list(await s.scalars(select(AuditEntry).order_by(AuditEntry.id)))
        report = await audit.verify_chain(s)
    assert report.intact and report.entries == 5
    assert rows[0].prev_hash == audit.GENESIS
    assert [r.prev_hash for r in rows[1:]] == [r.hash for r in rows[:-1]]
    assert report.tail_hash == rows[-1].hash
    assert rows[0].data == {"seat": 0, "minutes": 1.5, "tags": ["a", "b"]}


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("reason", "'nothing happened'"),
        ("actor", "'li'"),
        ("data", '\'{"seat": 99, "minutes": 1.5, "tags": ["a", "b"]}\''),
    ],
)
async def test_edited_entry_is_named(sessionmaker: Maker, column: str, value: str) -> None:
    ids = await _write(sessionmaker, 4)
    async with sessionmaker.begin() as s:
        await s.execute(text(f"UPDATE audit_log SET {column} = {value} WHERE id = {ids[2]}"))
    async with sessionmaker() as s:
        report = await audit.verify_chain(s)
    assert not report.intact
    assert report.broken_id == ids[2]
    assert report.entries == 2
    assert "edited" in report.problem


async def test_edited_timestamp_is_found(sessionmaker: Maker) -> None:
    ids = await _write(sessionmaker, 3)
    async with sessionmaker.begin() as s:
        await s.execute(
            text("UPDATE audit_log SET at = :at WHERE id = :id"),
            {"at": datetime(2020, 1, 1, tzinfo=UTC).replace(tzinfo=None), "id": ids[1]},
        )
    async with sessionmaker() as s:
        assert (await audit.verify_chain(s)).broken_id == ids[1]


async def test_removed_entry_breaks_the_next(sessionmaker: Maker) -> None:
    ids = await _write(sessionmaker, 4)
    async with sessionmaker.begin() as s:
        await s.execute(delete(AuditEntry).where(AuditEntry.id == ids[1]))
    async with sessionmaker() as s:
        report = await audit.verify_chain(s)
    assert report.broken_id == ids[2]
    assert "prev_hash" in report.problem


async def test_rehashed_entry_still_breaks_the_next(sessionmaker: Maker) -> None:
    """An editor who recomputes the edited entry's own hash is caught at the next entry."""
    ids = await _write(sessionmaker, 3)
    async with sessionmaker.begin() as s:
        row = await s.get(AuditEntry, ids[1])
        assert row is not None
        new_hash = audit.chain_hash(
            row.prev_hash,
            audit.canonical(
                at=row.at,
                actor=row.actor,
                role=row.role,
                action=row.action,
                target=row.target,
                reason="forged",
                data=row.data,
            ),
        )
        await s.execute(
            text("UPDATE audit_log SET reason = 'forged', hash = :h WHERE id = :id"),
            {"h": new_hash, "id": ids[1]},
        )
    async with sessionmaker() as s:
        assert (await audit.verify_chain(s)).broken_id == ids[2]


async def test_concurrent_writers_keep_one_chain(sessionmaker: Maker) -> None:
    async def one(i: int) -> None:
        async with sessionmaker.begin() as s:
            await audit.record(s, f"u{i}", "proctor", "room.note", audit.session_target("S"))

    await asyncio.gather(*(one(i) for i in range(20)))
    async with sessionmaker() as s:
        report = await audit.verify_chain(s)
    assert report.intact and report.entries == 20


async def test_entries_of_one_transaction_read_the_tail_once(sessionmaker: Maker) -> None:
    """A group commit appends many entries in one transaction: the tail is locked and
    read for the first, and the next chain on from it; a later transaction of the same
    session reads the tail again (another writer may have appended meanwhile)."""
    reads: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "audit_log" in statement:
            reads.append(statement)

    async with sessionmaker() as s:
        event.listen(s.bind.sync_engine, "before_cursor_execute", count)
        try:
            async with s.begin():
                for i in range(5):
                    await audit.record(s, f"u{i}", "candidate", "candidate.submit", "c:S")
            assert len(reads) == 1
            await _write(sessionmaker, 1)  # another writer appends
            async with s.begin():
                await audit.record(s, "u5", "candidate", "candidate.submit", "c:S")
            assert len(reads) == 3  # the other writer's read, and this transaction's
        finally:
            event.remove(s.bind.sync_engine, "before_cursor_execute", count)
    async with sessionmaker() as s:
        report = await audit.verify_chain(s)
    assert report.intact and report.entries == 7


async def test_rolled_back_entry_leaves_no_trace(sessionmaker: Maker) -> None:
    with pytest.raises(RuntimeError):
        async with sessionmaker.begin() as s:
            await audit.record(s, "zhang", "proctor", "session.start", "session:S")
            raise RuntimeError("the action failed")
    async with sessionmaker() as s:
        assert (await audit.verify_chain(s)).entries == 0


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"actor": ""}, "actor"),
        ({"action": "x" * 65}, "action longer"),
        ({"data": {"bad": float("nan")}}, "not JSON"),
        ({"data": {"bad": object()}}, "not JSON"),
    ],
)
async def test_bad_entries_are_refused(
    sessionmaker: Maker, kwargs: dict[str, object], fragment: str
) -> None:
    args: dict[str, object] = {"actor": "zhang", "role": "proctor", "action": "room.note"}
    args.update(kwargs)
    async with sessionmaker.begin() as s:
        with pytest.raises(InvalidInput, match=fragment):
            await audit.record(s, **args)  # type: ignore[arg-type]


async def test_entries_for_session_selects_by_target(sessionmaker: Maker) -> None:
    async with sessionmaker.begin() as s:
        await audit.record(s, "a", "proctor", "session.start", audit.session_target("S_1"))
        await audit.record(s, "a", "proctor", "candidate.pause", audit.candidate_target("S_1", "T"))
        await audit.record(s, "a", "proctor", "session.start", audit.session_target("SX1"))
        await audit.record(s, "a", "proctor", "session.start", audit.session_target("S_10"))
    async with sessionmaker() as s:
        found = await audit.entries_for_session(s, "S_1")
    assert [e.target for e in found] == ["session:S_1", "session:S_1/candidate:T"]
