"""Sign every Result written through the ORM, without writers having to remember.

`install_result_signing(sessionmaker, key)` puts the site key into the `info` of every
session the sessionmaker makes. A `before_flush` listener on the Session class (process
wide, acting only on sessions that carry a key) then, for each new or changed Result,
builds the published document from the result, its candidate, session and room, and
stores its signature. Edits of a candidate's, session's or room's published fields
through the ORM re-sign the results that show them. A result edited in the database
behind the ORM's back keeps its old signature and so fails verification.

Bulk `insert(Result)` / `update(Result)` statements through a signing session bypass the
flush and are refused with `UnsignedResultWrite`: load the objects and set attributes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any, TypeVar

from sqlalchemy import event, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from cbt_server.db.models import Candidate, ExamSession, Result, Room
from cbt_server.db.types import utcnow
from cbt_server.results.canonical import build_document
from cbt_server.results.formats import DocumentError
from cbt_server.results.signing import SiteKey
from cbt_server.results.sources import shown_fields, stored_values

log = logging.getLogger(__name__)

SIGNER_INFO_KEY = "cbt.results.signer"

# Published fields of the related rows: changing one re-signs the results that show it.
_CANDIDATE_FIELDS = shown_fields(Candidate)
_SESSION_FIELDS = shown_fields(ExamSession)
_ROOM_FIELDS = shown_fields(Room)

T = TypeVar("T")


class UnsignedResultWrite(RuntimeError):
    """A write of results that would bypass signing (a bulk ORM statement)."""


def install_result_signing(sessionmaker: async_sessionmaker[AsyncSession], key: SiteKey) -> None:
    """Make every session of `sessionmaker` sign the Results it writes with `key`."""
    _register_listeners()
    info = dict(sessionmaker.kw.get("info") or {})
    info[SIGNER_INFO_KEY] = key
    sessionmaker.configure(info=info)


def _register_listeners() -> None:
    if not event.contains(Session, "before_flush", _before_flush):
        event.listen(Session, "before_flush", _before_flush)
    if not event.contains(Session, "do_orm_execute", _refuse_bulk_writes):
        event.listen(Session, "do_orm_execute", _refuse_bulk_writes)


def _before_flush(session: Session, _context: UOWTransaction, _instances: Any) -> None:
    key = session.info.get(SIGNER_INFO_KEY)
    changed = [r for r in session.new if isinstance(r, Result)]
    changed += [r for r in session.dirty if isinstance(r, Result) and session.is_modified(r)]
    if key is None:
        for result in changed:
            log.warning(
                "result of candidate %s written by a session without the site key: "
                "it will fail verification (see cbt_server.results.hooks)",
                result.candidate_id,
            )
        return
    seen = {id(r) for r in changed}
    for result in _results_shown_by_changed_rows(session):
        if id(result) not in seen:
            seen.add(id(result))
            changed.append(result)
    for result in changed:
        sign_result(session, result, key)


def _refuse_bulk_writes(state: ORMExecuteState) -> None:
    if SIGNER_INFO_KEY not in state.session.info:
        return
    if not (state.is_insert or state.is_update):
        return
    mapper = state.bind_mapper
    if mapper is not None and mapper.class_ is Result:
        raise UnsignedResultWrite(
            "bulk INSERT/UPDATE of results would leave them unsigned: add Result objects "
            "or set attributes on loaded ones so that each is signed at flush"
        )


def _modified(obj: object, fields: Iterable[str]) -> bool:
    attrs = inspect(obj).attrs
    return any(attrs[name].history.has_changes() for name in fields)


def _results_shown_by_changed_rows(session: Session) -> list[Result]:
    """Results whose published document shows a candidate/session/room field being changed."""
    candidate_ids: set[int] = set()
    session_ids: set[int] = set()
    room_ids: set[int] = set()
    for obj in session.dirty:
        if isinstance(obj, Candidate) and _modified(obj, _CANDIDATE_FIELDS):
            candidate_ids.add(obj.id)
        elif isinstance(obj, ExamSession) and _modified(obj, _SESSION_FIELDS):
            session_ids.add(obj.id)
        elif isinstance(obj, Room) and _modified(obj, _ROOM_FIELDS):
            room_ids.add(obj.id)
    if not (candidate_ids or session_ids or room_ids):
        return []
    if room_ids:
        session_ids |= set(
            session.scalars(select(ExamSession.id).where(ExamSession.room_id.in_(room_ids)))
        )
    found: list[Result] = []
    if candidate_ids:
        found += session.scalars(select(Result).where(Result.candidate_id.in_(candidate_ids)))
    if session_ids:
        found += session.scalars(select(Result).where(Result.session_id.in_(session_ids)))
    return found


def _load(session: Session, cls: type[T], ident: int | None, what: str) -> T:
    if ident is None:
        raise DocumentError(f"{what} id is not set; flush the {what} before its result")
    for obj in session.new:  # pending rows given an explicit id
        if isinstance(obj, cls) and getattr(obj, "id", None) == ident:
            return obj
    obj = session.get(cls, ident)
    if obj is None:
        raise DocumentError(f"{what} {ident} does not exist")
    return obj


def result_facts(
    result: Result, candidate: Candidate, exam: ExamSession, room: Room
) -> dict[str, Any]:
    """The stored value of each field of a result's document, from the ORM rows."""
    return stored_values({Result: result, Candidate: candidate, ExamSession: exam, Room: room})


def sign_result(session: Session, result: Result, key: SiteKey) -> None:
    """Fill the defaults the document needs, build it and store its signature."""
    # Column defaults are applied by the INSERT, after this hook: apply them now so the
    # signed document states what will be stored.
    if result.graded_at is None:
        result.graded_at = utcnow()
    if result.final is None:
        result.final = False
    candidate = _load(session, Candidate, result.candidate_id, "candidate")
    exam = _load(session, ExamSession, result.session_id, "session")
    room = _load(session, Room, exam.room_id, "room")
    result.signature = key.sign(build_document(result_facts(result, candidate, exam, room)))
