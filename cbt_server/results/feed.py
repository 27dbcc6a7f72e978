"""The pull feed: results in commit order, paged by an opaque cursor, with filters.

Every insert or update of a result gets the next `results.feed_seq`, handed out by a
database trigger under a lock that its transaction holds until it ends (migration 0003).
So a committed number N implies every smaller number is committed or was rolled back,
and every write still to come gets a number above every committed one.

A page is read as: first H = the largest committed number, then the matching rows with
`after < feed_seq <= H` in order. Rows up to H are all visible to the second statement
(they were committed before the first one ran), so when the page is not full the next
cursor is H itself: nothing at or below H can appear later. When the page is full, the
next cursor is the last row's number. Either way a result written later comes after it.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, Text, cast, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from cbt_server.db.models import Candidate, ExamSession, Result, Room
from cbt_server.errors import Conflict, InvalidInput
from cbt_server.exam.modes import FORMAL
from cbt_server.results.canonical import build_document
from cbt_server.results.formats import DocumentError
from cbt_server.results.signing import SiteKey, verify_document
from cbt_server.results.sources import FIELD_SOURCES

if TYPE_CHECKING:
    _Query = Select[*tuple[Any, ...]]

log = logging.getLogger(__name__)

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
_CURSOR_PREFIX = b"cbt-feed:v1:"
_TEXT_FILTER = re.compile(r"[^\x00-\x1f\x7f]{1,64}")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Filters:
    session: str | None = None
    occupation: str | None = None
    level: int | None = None
    final: bool | None = None
    formal_only: bool = False
    """Formal sessions only: what the centre is given (the feed is always so)."""


@dataclass(frozen=True, slots=True)
class PageRequest:
    after: int
    limit: int
    filters: Filters


@dataclass(frozen=True, slots=True)
class Page:
    results: list[dict[str, Any]]
    next: str | None

    def to_json(self) -> dict[str, Any]:
        return {"results": self.results, "next": self.next}


def encode_cursor(position: int) -> str:
    raw = _CURSOR_PREFIX + str(position).encode("ascii")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The feed position in a cursor made by `encode_cursor`; InvalidInput otherwise."""
    bad = InvalidInput("after: not a cursor given by this API (use the 'next' value)")
    if not cursor or len(cursor) > 64 or not re.fullmatch(r"[A-Za-z0-9_-]+", cursor):
        raise bad
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (binascii.Error, ValueError):
        raise bad from None
    if not raw.startswith(_CURSOR_PREFIX):
        raise bad
    digits = raw[len(_CURSOR_PREFIX) :]
    if not digits.isdigit() or len(digits) > 18 or (digits.startswith(b"0") and digits != b"0"):
        raise bad
    return int(digits)


def _text_filter(query: Mapping[str, str], name: str) -> str | None:
    value = query.get(name)
    if value is None:
        return None
    if not _TEXT_FILTER.fullmatch(value):
        raise InvalidInput(f"{name}: must be 1 to 64 characters without control characters")
    return value


def _bool_filter(query: Mapping[str, str], name: str) -> bool | None:
    value = query.get(name)
    if value is None:
        return None
    if value not in ("true", "false"):
        raise InvalidInput(f"{name}: must be true or false, not {value[:20]!r}")
    return value == "true"


def parse_filters(query: Mapping[str, str]) -> Filters:
    """Filters from query parameters: session, occupation, level (1-5), final (true/false)."""
    level: int | None = None
    raw_level = query.get("level")
    if raw_level is not None:
        if raw_level not in ("1", "2", "3", "4", "5"):
            raise InvalidInput(f"level: must be 1 to 5, not {raw_level[:20]!r}")
        level = int(raw_level)
    return Filters(
        session=_text_filter(query, "session"),
        occupation=_text_filter(query, "occupation"),
        level=level,
        final=_bool_filter(query, "final"),
    )


def parse_page_request(query: Mapping[str, str]) -> PageRequest:
    """after, limit and filters from query parameters; InvalidInput names a bad one."""
    raw_limit = query.get("limit")
    limit = DEFAULT_LIMIT
    if raw_limit is not None:
        if not re.fullmatch(r"[0-9]{1,4}", raw_limit) or not 1 <= int(raw_limit) <= MAX_LIMIT:
            raise InvalidInput(f"limit: must be an integer from 1 to {MAX_LIMIT}")
        limit = int(raw_limit)
    raw_after = query.get("after")
    after = 0 if raw_after is None else decode_cursor(raw_after)
    return PageRequest(after=after, limit=limit, filters=parse_filters(query))


# Plain columns, not ORM objects, and `responses` as its stored JSON text: the
# transaction (which holds SQLite's write lock) only moves bytes; parsing and building
# documents happen after it ends.
_COLUMNS = (
    Result.id,
    Result.feed_seq,
    Result.signature,
    *(
        cast(column, Text) if column is Result.responses else column  # JSON text, unparsed
        for column in FIELD_SOURCES.values()
    ),
)
_FIELDS = tuple(FIELD_SOURCES)


@dataclass(frozen=True, slots=True)
class StoredResult:
    """One result row as loaded, before publishing: each document field's stored value
    (`responses` still as its JSON text)."""

    id: int
    feed_seq: int | None
    signature: str
    values: dict[str, Any]

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> StoredResult:
        ident, feed_seq, signature, *values = row
        return cls(ident, feed_seq, signature, dict(zip(_FIELDS, values, strict=True)))

    @property
    def ticket(self) -> str:
        ticket: str = self.values["ticket"]
        return ticket

    def facts(self) -> dict[str, Any]:
        """The document's stored values; DocumentError if the stored JSON is not usable."""
        try:
            responses = json.loads(self.values["responses"] or "null")
        except (TypeError, ValueError):
            raise DocumentError("responses: stored value is not JSON") from None
        if not isinstance(responses, list):
            raise DocumentError("responses: stored value is not a list")
        return {**self.values, "responses": responses}


def _joined() -> _Query:
    return (
        select(*_COLUMNS)
        .select_from(Result)
        .join(Candidate, Candidate.id == Result.candidate_id)
        .join(ExamSession, ExamSession.id == Result.session_id)
        .join(Room, Room.id == ExamSession.room_id)
        # Only formal sessions' results reach the centre (rehearsals and practice never).
        .where(ExamSession.mode == FORMAL)
    )


def apply_filters(stmt: _Query, filters: Filters) -> _Query:
    if filters.session is not None:
        stmt = stmt.where(ExamSession.code == filters.session)
    if filters.occupation is not None:
        stmt = stmt.where(Candidate.occupation == filters.occupation)
    if filters.level is not None:
        stmt = stmt.where(Candidate.level == filters.level)
    if filters.final is not None:
        stmt = stmt.where(Result.final == filters.final)
    if filters.formal_only:
        stmt = stmt.where(ExamSession.mode == FORMAL)
    return stmt


async def _load(session: AsyncSession, stmt: _Query) -> list[StoredResult]:
    return [StoredResult.from_row(row) for row in (await session.execute(stmt)).all()]


def published(stored: StoredResult) -> dict[str, Any]:
    """The API form of one result: its document as stored now, with the stored signature.

    A row whose stored values cannot be published (only possible after an edit behind the
    ORM's back) is served with those values blanked, so it fails verification loudly at
    the centre instead of breaking the whole page here.
    """
    try:
        document = build_document(stored.facts())
    except DocumentError as exc:
        log.error("result %s (ticket %s) cannot be published: %s", stored.id, stored.ticket, exc)
        document = _blanked_document(stored)
    document["signature"] = stored.signature or ""
    return document


def _blanked_document(stored: StoredResult) -> dict[str, Any]:
    safe = {**stored.values, "score": 0, "max_score": 0, "pass_mark": 0, "started_at": None}
    try:
        return build_document({**safe, "responses": []})
    except DocumentError:  # times broken too: cannot happen via UTCDateTime, be safe
        return build_document(
            {**safe, "responses": [], "submitted_at": _EPOCH, "graded_at": _EPOCH}
        )


def publish_rows(rows: list[StoredResult]) -> list[dict[str, Any]]:
    return [published(row) for row in rows]


@dataclass(frozen=True, slots=True)
class RowPage:
    """A page as loaded; publishing (CPU work) happens after the transaction ends."""

    rows: list[StoredResult]
    next: str | None

    def publish(self) -> Page:
        return Page(publish_rows(self.rows), self.next)


async def fetch_page(session: AsyncSession, request: PageRequest) -> RowPage:
    """One page of the feed after `request.after` (see the module docstring)."""
    horizon = await session.scalar(select(func.max(Result.feed_seq)))
    horizon = int(horizon or 0)
    if request.after > horizon:
        raise Conflict(
            "after: the cursor is ahead of this server's results (was the database "
            "restored from an older backup?); pull again from the start",
            code="cursor_ahead",
        )
    stmt = (
        apply_filters(_joined(), request.filters)
        .where(Result.feed_seq > request.after, Result.feed_seq <= horizon)
        .order_by(Result.feed_seq)
        .limit(request.limit + 1)
    )
    rows = await _load(session, stmt)
    full = len(rows) > request.limit
    rows = rows[: request.limit]
    position = int(rows[-1].feed_seq or 0) if full else horizon
    return RowPage(rows, encode_cursor(position) if position > 0 else None)


async def fetch_all(session: AsyncSession, filters: Filters) -> list[StoredResult]:
    """Every matching result, ordered by session, room and seat (for the CSV export)."""
    stmt = apply_filters(_joined(), filters).order_by(
        ExamSession.code, Room.code, Candidate.seat, Candidate.ticket
    )
    return await _load(session, stmt)


def verified(key: SiteKey, documents: list[dict[str, Any]]) -> list[bool]:
    """Whether each document's signature verifies under the site's own key."""
    public = key.private_key.public_key()
    return [verify_document(public, doc) for doc in documents]


async def feed_triggers_present(conn: AsyncConnection) -> bool:
    """True if the triggers that number the feed exist (a SQLite table rebuild drops them)."""
    if conn.dialect.name == "sqlite":
        sql = (
            "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name IN "
            "('results_feed_seq_insert', 'results_feed_seq_update')"
        )
        expected = 2
    else:
        sql = (
            "SELECT count(*) FROM pg_trigger WHERE tgname = 'results_feed_seq' "
            "AND tgrelid = 'results'::regclass"
        )
        expected = 1
    return (await conn.scalar(text(sql))) == expected
