"""The audit log: append-only and tamper-evident.

Every entry carries the hash of the one before it:
`hash = sha256(prev_hash + canonical(entry))`, where `canonical` is a fixed JSON rendering
of the entry's fields. Editing, deleting or inserting an entry in the middle breaks the
chain at that point, and `verify_chain` names the first entry that no longer fits.
(Cutting entries off the end leaves a shorter valid chain; the tail hash printed by
`cbt-server audit verify` is what to note down on paper to detect that.)

This module only ever inserts. There is no update or delete path in the code; the
`prev_hash` column is unique, so two writers that read the same tail cannot both append.

Targets follow one convention so that the paperwork can find a session's entries:
`session:<code>` for the session itself and `session:<code>/candidate:<ticket>` for one
candidate of it (see `session_target` and `candidate_target`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server.db.models import AuditEntry
from cbt_server.db.types import utcnow
from cbt_server.errors import InvalidInput

GENESIS = "0" * 64
"""The `prev_hash` of the first entry."""

_PG_LOCK_KEY = 0x43425441  # "CBTA": advisory lock serialising appends on PostgreSQL
_BATCH = 1000


def session_target(code: str) -> str:
    return f"session:{code}"


def candidate_target(code: str, ticket: str) -> str:
    return f"session:{code}/candidate:{ticket}"


def _timestamp(at: datetime) -> str:
    if at.tzinfo is None:
        raise ValueError("audit timestamps must be timezone-aware")
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(
    *,
    at: datetime,
    actor: str,
    role: str,
    action: str,
    target: str,
    reason: str,
    data: dict[str, Any],
) -> str:
    """The fixed text an entry's hash covers (sorted keys, no spaces, UTF-8 as is)."""
    return json.dumps(
        {
            "at": _timestamp(at),
            "actor": actor,
            "role": role,
            "action": action,
            "target": target,
            "reason": reason,
            "data": data,
        },
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
        allow_nan=False,
    )


def chain_hash(prev_hash: str, entry_text: str) -> str:
    return hashlib.sha256((prev_hash + entry_text).encode("utf-8")).hexdigest()


def entry_hash(entry: AuditEntry) -> str:
    """The hash `entry` should carry given its fields and its `prev_hash`."""
    return chain_hash(
        entry.prev_hash,
        canonical(
            at=entry.at,
            actor=entry.actor,
            role=entry.role,
            action=entry.action,
            target=entry.target,
            reason=entry.reason,
            data=entry.data,
        ),
    )


def _normalise(data: dict[str, Any] | None) -> dict[str, Any]:
    """`data` as it will read back from a JSON column (tuples become lists, and so on)."""
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InvalidInput("audit data must be a JSON object")
    try:
        result: dict[str, Any] = json.loads(json.dumps(data, ensure_ascii=False, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"audit data is not JSON: {exc}") from None
    return result


def _check_length(name: str, value: str, limit: int | None) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"audit {name} must be text")
    if limit is not None and len(value) > limit:
        raise InvalidInput(f"audit {name} longer than {limit} characters")
    return value


_TAIL = "cbt_audit_tail"
"""Key in `session.info` of (transaction, hash of the last entry it appended): valid only
within that transaction, as a session may run several one after the other."""


async def _lock_tail(session: AsyncSession) -> None:
    # SQLite transactions here begin IMMEDIATE (engine.py): writers are serialised already.
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})


@dataclass(frozen=True, slots=True)
class Record:
    """One entry to append (see `record` for what each field means)."""

    actor: str
    role: str
    action: str
    target: str = ""
    reason: str = ""
    data: dict[str, Any] | None = None
    at: datetime | None = None


async def record(
    session: AsyncSession,
    actor: str,
    role: str,
    action: str,
    target: str = "",
    reason: str = "",
    data: dict[str, Any] | None = None,
    *,
    at: datetime | None = None,
) -> AuditEntry:
    """Append one entry in the caller's transaction (it commits or rolls back with it).

    `actor` is who did it (a username, `candidate:<ticket>` or `system`), `role` their
    role, `action` a dotted verb such as `candidate.pause`, `target` what it was done to
    (`session_target` / `candidate_target`), `reason` the human reason given.
    """
    (values,) = await _chained(session, [Record(actor, role, action, target, reason, data, at)])
    entry = AuditEntry(**values)
    session.add(entry)
    await session.flush()
    return entry


async def record_many(session: AsyncSession, records: Sequence[Record]) -> None:
    """Append entries in the order given with one INSERT (a room submitting together),
    in the caller's transaction; checked all before any is written."""
    if records:
        await session.execute(insert(AuditEntry), await _chained(session, records))


async def _chained(session: AsyncSession, records: Sequence[Record]) -> list[dict[str, Any]]:
    """The column values of `records` as the next entries of the chain, in order."""
    checked = [
        Record(
            _check_length("actor", r.actor, 128),
            _check_length("role", r.role, 16),
            _check_length("action", r.action, 64),
            _check_length("target", r.target, 256),
            _check_length("reason", r.reason, None),
            _normalise(r.data),
            (r.at or utcnow()).astimezone(UTC),
        )
        for r in records
    ]
    if any(not r.actor or not r.action for r in checked):
        raise InvalidInput("audit entries need an actor and an action")
    transaction = session.sync_session.get_transaction()
    tail = session.info.get(_TAIL)
    prev_hash = tail[1] if tail is not None and tail[0] is transaction else None
    if prev_hash is None:  # the first entry of this transaction: lock and read the tail
        await _lock_tail(session)
        prev = await session.scalar(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1))
        prev_hash = prev or GENESIS
    rows = []
    for r in checked:
        assert r.at is not None and r.data is not None
        fields: dict[str, Any] = {
            "at": r.at,
            "actor": r.actor,
            "role": r.role,
            "action": r.action,
            "target": r.target,
            "reason": r.reason,
            "data": r.data,
        }
        entry_text = canonical(**fields)
        rows.append({**fields, "prev_hash": prev_hash, "hash": chain_hash(prev_hash, entry_text)})
        prev_hash = rows[-1]["hash"]
    # The tail stays locked until this transaction ends (PostgreSQL's advisory lock, or
    # SQLite's one writer), so the next entry of the same transaction (a room submitting
    # together in one group commit) chains on from here without reading it again.
    session.info[_TAIL] = (transaction, prev_hash)
    return rows


@dataclass(frozen=True, slots=True)
class ChainReport:
    """Outcome of `verify_chain`: how many entries, the tail hash, the first break."""

    entries: int
    tail_hash: str
    broken_id: int | None = None
    problem: str = ""

    @property
    def intact(self) -> bool:
        return self.broken_id is None


async def _entries(session: AsyncSession) -> AsyncIterator[AuditEntry]:
    last_id = 0
    while True:
        rows: Sequence[AuditEntry] = (
            await session.scalars(
                select(AuditEntry)
                .where(AuditEntry.id > last_id)
                .order_by(AuditEntry.id)
                .limit(_BATCH)
                .execution_options(populate_existing=True)
            )
        ).all()
        if not rows:
            return
        for row in rows:
            yield row
        last_id = rows[-1].id


async def verify_chain(session: AsyncSession) -> ChainReport:
    """Walk the log in id order and check every link; stop at the first broken entry."""
    expected_prev = GENESIS
    count = 0
    async for entry in _entries(session):
        if entry.prev_hash != expected_prev:
            return ChainReport(
                count,
                expected_prev,
                entry.id,
                "prev_hash does not match the previous entry's hash "
                "(an entry before it was removed, inserted or rewritten)",
            )
        if entry_hash(entry) != entry.hash:
            return ChainReport(
                count, expected_prev, entry.id, "content does not match its hash (edited)"
            )
        expected_prev = entry.hash
        count += 1
    return ChainReport(count, expected_prev)


async def entries_for_session(session: AsyncSession, code: str) -> list[AuditEntry]:
    """Entries about session `code` and its candidates, oldest first."""
    target = session_target(code)
    rows = await session.scalars(
        select(AuditEntry)
        .where(
            or_(
                AuditEntry.target == target,
                AuditEntry.target.startswith(target + "/", autoescape=True),
            )
        )
        .order_by(AuditEntry.id)
    )
    return list(rows)
