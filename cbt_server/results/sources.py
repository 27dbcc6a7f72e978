"""Where each field of a result document is stored: one column per field.

The feed selects these columns and the signing hook reads these attributes, so both
publish the same values; tests/results/test_documents.py checks that the fields here
are those of `documents.UnsignedResult`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import InstrumentedAttribute

from cbt_server.db.models import Candidate, ExamSession, Result, Room

FIELD_SOURCES: dict[str, InstrumentedAttribute[Any]] = {
    "ticket": Candidate.ticket,
    "id_number": Candidate.id_number,
    "name": Candidate.name,
    "occupation": Candidate.occupation,
    "level": Candidate.level,
    "session": ExamSession.code,
    "room": Room.code,
    "seat": Candidate.seat,
    "paper_id": Result.paper_id,
    "started_at": Result.started_at,
    "submitted_at": Result.submitted_at,
    "graded_at": Result.graded_at,
    "score": Result.score,
    "max_score": Result.max_score,
    "pass_mark": Result.pass_mark,
    "passed": Result.passed,
    "final": Result.final,
    "responses": Result.responses,
}


def shown_fields(table: type[Any]) -> tuple[str, ...]:
    """The attributes of `table` that a result document shows."""
    return tuple(column.key for column in FIELD_SOURCES.values() if column.class_ is table)


def stored_values(rows: Mapping[Any, Any]) -> dict[str, Any]:
    """Each field's stored value, read from the ORM objects of its tables (by class)."""
    return {name: getattr(rows[col.class_], col.key) for name, col in FIELD_SOURCES.items()}
