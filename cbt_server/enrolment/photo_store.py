"""Candidate photos against the database: matching them to candidates, storing, reading.

A photo is named by a ticket number (one candidate) or an ID-card number (every
registration of that person, e.g. a morning and an afternoon sitting). A photo that
matches no registered candidate rejects the whole zip, like a bad roster row; a good zip
replaces the photos of the candidates it names, in the caller's transaction.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server import audit
from cbt_server.db import models
from cbt_server.enrolment.photos import Photo, PhotosRejected


@dataclass(frozen=True, slots=True)
class PhotoReport:
    photos: int
    candidates: int
    per_session: dict[str, int]
    """Session code -> how many of its candidates have a photo now."""
    missing: dict[str, int]
    """Session code -> how many of its candidates (not absent) still have none."""


async def store_photos(
    session: AsyncSession, photos: Sequence[Photo], actor: str, *, dry_run: bool = False
) -> PhotoReport:
    """Attach each photo to the candidates it names; PhotosRejected (nothing stored) if
    any names nobody."""
    keys = [p.key for p in photos]
    rows = list(
        await session.execute(
            select(models.Candidate, models.ExamSession.code)
            .join(models.ExamSession, models.ExamSession.id == models.Candidate.session_id)
            .where(
                or_(
                    func.upper(models.Candidate.ticket).in_(keys),
                    func.upper(models.Candidate.id_number).in_(keys),
                )
            )
        )
    )
    by_key: dict[str, list[tuple[models.Candidate, str]]] = {}
    for candidate, code in rows:
        for key in {candidate.ticket.upper(), candidate.id_number.upper()}:
            by_key.setdefault(key, []).append((candidate, code))
    problems = [
        f"{p.member}: no registered candidate has ticket or ID-card number {p.key}"
        for p in photos
        if p.key not in by_key
    ]
    if problems:
        raise PhotosRejected(problems)
    chosen: dict[int, tuple[Photo, str]] = {}
    for photo in photos:
        for candidate, code in by_key[photo.key]:
            # A ticket names one registration exactly: it wins over an ID-card number.
            if candidate.id not in chosen or photo.key == candidate.ticket.upper():
                chosen[candidate.id] = (photo, code)
    per_session = dict(Counter(code for _, code in chosen.values()))
    if not dry_run:
        await session.execute(
            delete(models.CandidatePhoto).where(models.CandidatePhoto.candidate_id.in_(chosen))
        )
        session.add_all(
            models.CandidatePhoto(
                candidate_id=cid, jpeg=p.jpeg, width=p.width, height=p.height, source=p.member
            )
            for cid, (p, _) in chosen.items()
        )
        await session.flush()
        for code, count in sorted(per_session.items()):
            await audit.record(
                session,
                actor,
                "cli",
                "roster.photos",
                audit.session_target(code),
                data={"photos": count},
            )
    missing = await _missing(session, list(per_session), set(chosen) if dry_run else set())
    return PhotoReport(len(photos), len(chosen), per_session, missing)


async def _missing(session: AsyncSession, codes: list[str], pending: set[int]) -> dict[str, int]:
    """Candidates (not absent) of these sessions without a photo (`pending`: would have one)."""
    rows = await session.execute(
        select(models.ExamSession.code, models.Candidate.id)
        .join(models.Candidate, models.Candidate.session_id == models.ExamSession.id)
        .outerjoin(models.CandidatePhoto, models.CandidatePhoto.candidate_id == models.Candidate.id)
        .where(
            models.ExamSession.code.in_(codes),
            models.Candidate.state != "absent",
            models.CandidatePhoto.candidate_id.is_(None),
        )
    )
    counts: Counter[str] = Counter(code for code, cid in rows.all() if cid not in pending)
    return {code: counts.get(code, 0) for code in codes}


async def photo_of(session: AsyncSession, candidate_id: int) -> bytes | None:
    """The stored JPEG of a candidate, if any."""
    row = await session.get(models.CandidatePhoto, candidate_id)
    return row.jpeg if row is not None else None


async def with_photos(session: AsyncSession, candidate_ids: Sequence[int]) -> set[int]:
    """Which of these candidates have a photo."""
    if not candidate_ids:
        return set()
    return set(
        await session.scalars(
            select(models.CandidatePhoto.candidate_id).where(
                models.CandidatePhoto.candidate_id.in_(list(candidate_ids))
            )
        )
    )
