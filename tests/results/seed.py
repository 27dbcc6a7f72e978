"""Seed rooms, sessions, candidates, papers and results through the ORM (the exam runtime
writes results in production; here the tests write them as it will)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cbt_server.db.models import Blueprint, Candidate, Paper, Result
from cbt_server.enrolment.sample import sample_exam
from cbt_server.enrolment.sessions import SessionSpec
from cbt_server.idcard import make_number

T0 = datetime(2026, 12, 5, 1, 30, tzinfo=UTC)


def item_rows(correct: int, wrong: int, score_each: float = 1.0) -> list[dict[str, Any]]:
    """Per-item rows in the shape the grader stores (exam.grading.ItemResult.to_dict)."""
    rows = []
    for n in range(correct + wrong):
        ok = n < correct
        rows.append(
            {
                "item_id": f"electrician-3-{n:04d}",
                "type": "single",
                "response": ["A"] if ok else ["B"],
                "correct": ok,
                "outcome": "correct" if ok else "wrong",
                "score": score_each if ok else 0.0,
                "max_score": score_each,
                "option_order": ["A", "B", "C", "D"],
            }
        )
    return rows


@dataclass
class Seeder:
    sessionmaker: async_sessionmaker[AsyncSession]
    _count: int = 0
    sessions: dict[str, int] = field(default_factory=dict)

    async def exam_session(
        self, code: str, *, occupation: str = "electrician", level: int = 3
    ) -> int:
        """A session (with its own room and blueprint) called `code`; its id."""
        if code in self.sessions:
            return self.sessions[code]
        async with self.sessionmaker.begin() as db:
            blueprint_id = f"bp-{occupation}-{level}"
            if await db.get(Blueprint, blueprint_id) is None:
                db.add(
                    Blueprint(
                        id=blueprint_id,
                        title=f"{occupation} level {level}",
                        occupation=occupation,
                        level=level,
                        spec={},
                    )
                )
            await db.flush()
            spec = SessionSpec(
                code=code,
                blueprint_id=blueprint_id,
                room_code=f"R-{code}",
                title=f"理论考试 {code}",
                room_name=f"机房 {code}",
                seats=40,
                site="测试考点",
            )
            exam = await sample_exam(db, spec, seed="seed", duration_s=5400)
            self.sessions[code] = exam.id
            return exam.id

    async def result(
        self,
        session_code: str,
        *,
        name: str | None = None,
        ticket: str | None = None,
        correct: int = 70,
        wrong: int = 30,
        final: bool = False,
        occupation: str = "electrician",
        level: int = 3,
        rows: list[dict[str, Any]] | None = None,
    ) -> str:
        """A candidate in the session with a graded result; returns the ticket. `rows`,
        when given, are the stored item rows (score and max score their sums)."""
        session_id = await self.exam_session(session_code, occupation=occupation, level=level)
        self._count += 1
        n = self._count
        ticket = ticket or f"T{n:06d}"
        async with self.sessionmaker.begin() as db:
            seat = 1 + len(
                list(
                    await db.scalars(select(Candidate.id).where(Candidate.session_id == session_id))
                )
            )
            candidate = Candidate(
                ticket=ticket,
                id_number=make_number("320102", date(1990, 1, 1) + timedelta(days=n), n % 1000),
                name=name or f"考生{n}",
                occupation=occupation,
                level=level,
                session_id=session_id,
                seat=seat,
            )
            db.add(candidate)
            await db.flush()
            paper = Paper(
                id=f"P-{ticket}",
                candidate_id=candidate.id,
                session_id=session_id,
                blueprint_id=f"bp-{occupation}-{level}",
                seed="s",
                layout={"items": []},
            )
            db.add(paper)
            await db.flush()
            rows_given = rows
            if rows is None:
                rows = item_rows(correct, wrong)
                score, worth = float(correct), float(correct + wrong)
            else:
                score = round(sum(float(r["score"]) for r in rows), 2)
                worth = round(sum(float(r["max_score"]) for r in rows), 2)
            db.add(
                Result(
                    candidate_id=candidate.id,
                    session_id=session_id,
                    paper_id=paper.id,
                    score=score,
                    max_score=worth,
                    pass_mark=60.0,
                    passed=score >= (60 if rows_given is None else 0.6 * worth),
                    started_at=T0,
                    submitted_at=T0 + timedelta(minutes=50, seconds=n),
                    graded_at=T0 + timedelta(minutes=50, seconds=n, microseconds=250),
                    submit_reason="candidate",
                    responses=rows,
                    final=final,
                )
            )
        return ticket
