"""Gathering the paperwork's content from the database into plain data.

`load_room_record` and `load_score_summary` read one session (short read-only
transactions by the caller); the templates only format what they return. Incidents come
from the session's audit trail (proctor actions) and its room notes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server import audit
from cbt_server.db.models import (
    Assignment,
    AuditEntry,
    Candidate,
    ExamSession,
    Level,
    Occupation,
    Result,
    Room,
    RoomNote,
    User,
)
from cbt_server.errors import NotFound
from cbt_server.paperwork.figures import Scored, ScoreFigures, figures

INCIDENT_LABELS: dict[str, str] = {
    # the audit actions of cbt_server.runtime (proctor commands, deadlines) and sign-off
    "session.open_checkin": "开放签到",
    "session.start": "开考",
    "session.pause": "全场暂停",
    "session.resume": "全场恢复",
    "candidate.pause": "暂停",
    "candidate.resume": "恢复",
    "candidate.extra_time": "延长时间",
    "candidate.unlock": "解锁换机",
    "candidate.focus_lost": "考试窗口失去焦点",
    "candidate.fullscreen_exit": "退出全屏",
    "candidate.force_submit": "强制交卷",
    "candidate.admit_late": "准许迟到入场",
    "candidate.absent": "标记缺考",
    "candidate.identity_checked": "身份核验",
    "candidate.offline": "掉线",
    "candidate.timeout": "到时自动交卷",
    "session.end": "考试结束",
    "session.clock_step": "服务器时钟跳变",
    "paperwork.sign": "考评组长确认签署",
}
"""Audit actions that appear on the room record. `session.note` entries are not listed:
notes are read from the room_notes table itself (each note has both). `candidate.login`
entries appear only as seat changes (SEAT_CHANGE), when a login's seat differs from the
seat the candidate last logged in at (or, first, was registered at). `candidate.offline`
is recorded only for spells over 30 s (a reload or a blip is no incident; see
cbt_server.runtime.candidate.login)."""

SEAT_CHANGE = "换机登录"

STATE_LABELS = {
    "registered": "未登录",
    "checked_in": "已签到",
    "answering": "答题中",
    "paused": "暂停",
    "submitted": "已交卷",
    "graded": "已评分",
    "absent": "缺考",
}
SUBMIT_LABELS = {"candidate": "考生交卷", "proctor": "强制交卷", "timeout": "到时自动交卷"}


@dataclass(frozen=True, slots=True)
class SessionHeader:
    id: int
    code: str
    title: str
    occupation: str
    level: str
    duration_min: int
    state: str
    room_code: str
    room_name: str
    site: str
    scheduled_at: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    signed_by: str | None
    """Display name and username of the signer, e.g. '王老师（wang）'."""
    signed_at: datetime | None
    mode: str = "formal"
    """正式 formal or 试考 rehearsal: a rehearsal's sheets are marked and never signed."""


@dataclass(frozen=True, slots=True)
class StaffLine:
    username: str
    display_name: str
    role: str
    leader: bool


@dataclass(frozen=True, slots=True)
class CandidateLine:
    id: int
    seat: int
    ticket: str
    name: str
    id_number_masked: str
    state: str
    state_label: str
    checked_in_at: datetime | None
    started_at: datetime | None
    submitted_at: datetime | None
    submit_label: str
    score: float | None = None
    max_score: float | None = None
    passed: bool | None = None
    final: bool = False
    identity_checked_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Incident:
    at: datetime
    kind: str
    who: str
    candidate: str
    """'座位 N 姓名（准考证号）', or '全场' for the whole room."""
    detail: str
    reason: str


@dataclass(frozen=True, slots=True)
class RoomRecord:
    session: SessionHeader
    staff: list[StaffLine]
    candidates: list[CandidateLine]
    incidents: list[Incident]
    counts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ScoreSummary:
    session: SessionHeader
    staff: list[StaffLine]
    lines: list[CandidateLine]
    figures: ScoreFigures
    final: bool


def mask_id_number(id_number: str) -> str:
    """Keep the first 6 (region) and last 4 characters of an ID-card number."""
    if len(id_number) <= 10:
        return "*" * len(id_number)
    return id_number[:6] + "*" * (len(id_number) - 10) + id_number[-4:]


async def find_session(db: AsyncSession, code: str) -> ExamSession:
    row = await db.scalar(select(ExamSession).where(ExamSession.code == code))
    if row is None:
        raise NotFound(f"no exam session with code {code!r}")
    return row


async def session_header(db: AsyncSession, exam: ExamSession) -> SessionHeader:
    """The header table of every sheet about `exam` (code, title, occupation, room, times)."""
    room = await db.get(Room, exam.room_id)
    occupation = await db.get(Occupation, exam.occupation)
    level = await db.get(Level, exam.level)
    return SessionHeader(
        id=exam.id,
        code=exam.code,
        title=exam.title,
        occupation=occupation.name_zh if occupation else exam.occupation,
        level=level.name_zh if level else str(exam.level),
        duration_min=round(exam.duration_s / 60),
        state=exam.state,
        room_code=room.code if room else "",
        room_name=room.name if room else "",
        site=room.site if room else "",
        scheduled_at=exam.scheduled_at,
        started_at=exam.started_at,
        ended_at=exam.ended_at,
        signed_by=(await _names(db, [exam.signed_by]))[exam.signed_by] if exam.signed_by else None,
        signed_at=exam.signed_at,
        mode=exam.mode,
    )


async def _names(db: AsyncSession, usernames: list[str]) -> dict[str, str]:
    """username -> '姓名（username）' for staff accounts; other actors as they are
    ('system' -> '系统')."""
    wanted = set(usernames)
    found = {
        user.username: f"{user.display_name}（{user.username}）"
        if user.display_name and user.display_name != user.username
        else user.username
        for user in await db.scalars(select(User).where(User.username.in_(wanted)))
    }
    return {name: found.get(name, "系统" if name == "system" else name) for name in wanted}


async def _staff(db: AsyncSession, session_id: int) -> list[StaffLine]:
    rows = await db.execute(
        select(User, Assignment.leader)
        .join(Assignment, Assignment.user_id == User.id)
        .where(Assignment.session_id == session_id)
        .order_by(Assignment.leader.desc(), User.username)
    )
    return [
        StaffLine(user.username, user.display_name or user.username, user.role, bool(leader))
        for user, leader in rows
    ]


async def _candidate_lines(db: AsyncSession, session_id: int) -> list[CandidateLine]:
    rows = await db.execute(
        select(Candidate, Result)
        .outerjoin(Result, Result.candidate_id == Candidate.id)
        .where(Candidate.session_id == session_id)
        .order_by(Candidate.seat)
    )
    lines = []
    for cand, result in rows:
        lines.append(
            CandidateLine(
                id=cand.id,
                seat=cand.seat,
                ticket=cand.ticket,
                name=cand.name,
                id_number_masked=mask_id_number(cand.id_number),
                state=cand.state,
                state_label=STATE_LABELS.get(cand.state, cand.state),
                checked_in_at=cand.checked_in_at,
                started_at=cand.started_at,
                submitted_at=cand.submitted_at,
                submit_label=SUBMIT_LABELS.get(cand.submit_reason or "", ""),
                score=result.score if result else None,
                max_score=result.max_score if result else None,
                passed=result.passed if result else None,
                final=bool(result and result.final),
                identity_checked_at=cand.identity_checked_at,
            )
        )
    return lines


def _detail(entry: AuditEntry) -> str:
    data: dict[str, Any] = entry.data or {}
    parts = []
    seconds = data.get("seconds")
    if isinstance(seconds, int | float) and not isinstance(seconds, bool):
        minutes = seconds / 60
        parts.append(f"延长 {minutes:g} 分钟" if minutes >= 1 else f"延长 {seconds:g} 秒")
    offline = data.get("offline_s")
    if isinstance(offline, int | float) and not isinstance(offline, bool):
        parts.append(f"离线 {offline / 60:.1f} 分钟" if offline >= 60 else f"离线 {offline:g} 秒")
    jump = data.get("jump_s")
    if isinstance(jump, int | float) and not isinstance(jump, bool):
        parts.append(f"时钟跳变 {jump:+.1f} 秒，计时未受影响")
    if isinstance(data.get("results"), int):
        parts.append(f"成绩 {data['results']} 份定稿")
    for key in ("from_seat", "seat"):
        if isinstance(data.get(key), int):
            parts.append(f"座位 {data[key]}")
            break
    if isinstance(data.get("pc"), str):
        parts.append(f"机位 {data['pc']}")
    return "；".join(parts)


def _incident_candidate(entry: AuditEntry, code: str, by_ticket: dict[str, CandidateLine]) -> str:
    prefix = audit.candidate_target(code, "")
    if not entry.target.startswith(prefix):
        return "全场"
    ticket = entry.target[len(prefix) :]
    line = by_ticket.get(ticket)
    if line is None:
        return ticket
    return f"座位 {line.seat} {line.name}（{line.ticket}）"


def _seat_changes(
    trail: list[AuditEntry], code: str, by_ticket: dict[str, CandidateLine]
) -> dict[int, str]:
    """Audit entry id -> '座位 A → 座位 B' for each login at another seat than the
    candidate's previous login (or their registered seat, for the first)."""
    prefix = audit.candidate_target(code, "")
    last: dict[str, int] = {}
    moves: dict[int, str] = {}
    for entry in trail:
        seat = (entry.data or {}).get("seat")
        if entry.action != "candidate.login" or not entry.target.startswith(prefix):
            continue
        if not isinstance(seat, int) or isinstance(seat, bool):
            continue
        ticket = entry.target[len(prefix) :]
        line = by_ticket.get(ticket)
        before = last.get(ticket, line.seat if line is not None else seat)
        if seat != before:
            moves[entry.id] = f"座位 {before} → 座位 {seat}"
        last[ticket] = seat
    return moves


async def _incidents(
    db: AsyncSession, exam: ExamSession, lines: list[CandidateLine]
) -> list[Incident]:
    by_ticket = {line.ticket: line for line in lines}
    trail = await audit.entries_for_session(db, exam.code)
    moves = _seat_changes(trail, exam.code, by_ticket)
    entries = [e for e in trail if e.action in INCIDENT_LABELS or e.id in moves]
    notes = list(
        await db.scalars(
            select(RoomNote)
            .where(RoomNote.session_id == exam.id)
            .order_by(RoomNote.at, RoomNote.id)
        )
    )
    names = await _names(db, [e.actor for e in entries] + [n.author for n in notes])
    incidents = []
    for entry in entries:
        incidents.append(
            Incident(
                at=entry.at,
                kind=INCIDENT_LABELS.get(entry.action, SEAT_CHANGE),
                who=names[entry.actor],
                candidate=_incident_candidate(entry, exam.code, by_ticket),
                detail=moves.get(entry.id) or _detail(entry),
                reason=entry.reason,
            )
        )
    for note in notes:
        incidents.append(Incident(note.at, "记录", names[note.author], "全场", "", note.text))
    incidents.sort(key=lambda incident: incident.at)
    return incidents


def _counts(lines: list[CandidateLine]) -> dict[str, int]:
    absent = sum(1 for line in lines if line.state == "absent")
    finished = sum(1 for line in lines if line.state in ("submitted", "graded"))
    return {
        "registered": len(lines),
        "present": len(lines) - absent - sum(1 for ln in lines if ln.state == "registered"),
        "absent": absent,
        "submitted": finished,
    }


async def load_room_record(db: AsyncSession, exam: ExamSession) -> RoomRecord:
    lines = await _candidate_lines(db, exam.id)
    return RoomRecord(
        session=await session_header(db, exam),
        staff=await _staff(db, exam.id),
        candidates=lines,
        incidents=await _incidents(db, exam, lines),
        counts=_counts(lines),
    )


async def load_score_summary(db: AsyncSession, exam: ExamSession) -> ScoreSummary:
    lines = await _candidate_lines(db, exam.id)
    results = list(
        await db.scalars(select(Result).where(Result.session_id == exam.id).order_by(Result.id))
    )
    scored = [Scored(r.score, r.max_score, r.pass_mark, r.passed) for r in results]
    absent = sum(1 for line in lines if line.state == "absent")
    return ScoreSummary(
        session=await session_header(db, exam),
        staff=await _staff(db, exam.id),
        lines=lines,
        figures=figures(scored, absent),
        final=bool(results) and all(r.final for r in results),
    )
