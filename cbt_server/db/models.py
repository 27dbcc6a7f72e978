"""The schema: SQLAlchemy 2 declarative models.

Changes here need an Alembic migration in `cbt_server/db/migrations/versions/` chained
after the current head (`tests/db/test_migrations.py` checks the two agree).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from cbt_server.db.types import UTCDateTime, utcnow

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON()}


# --- reference data -------------------------------------------------------------------


class Occupation(Base):
    """职业: seeded from item_bank.catalogue by the initial migration."""

    __tablename__ = "occupations"
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(64), unique=True)
    name_en: Mapped[str] = mapped_column(String(128))


class Level(Base):
    """等级: 5 初级 … 1 高级技师."""

    __tablename__ = "levels"
    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name_zh: Mapped[str] = mapped_column(String(16), unique=True)


# --- item bank ------------------------------------------------------------------------


class Item(Base):
    """试题. `content` is the encrypted item body (stem, options, key, mapping)."""

    __tablename__ = "items"
    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    # Null for items from formats that do not classify them (QTI, bare spreadsheets):
    # stored and reported, but never drawn into a paper until classified.
    occupation: Mapped[str | None] = mapped_column(ForeignKey("occupations.code"))
    level: Mapped[int | None] = mapped_column(ForeignKey("levels.number"))
    type: Mapped[str] = mapped_column(String(16))
    knowledge_point: Mapped[str | None] = mapped_column(String(64))
    difficulty: Mapped[int | None] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Float, default=1.0)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    source: Mapped[str] = mapped_column(String(512), default="")
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_items_pool", "occupation", "level", "type"),)


class Blueprint(Base):
    """组卷方案: the blueprint document as imported (see docs/item-format.md)."""

    __tablename__ = "blueprints"
    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    title: Mapped[str] = mapped_column(String(256))
    occupation: Mapped[str] = mapped_column(ForeignKey("occupations.code"))
    level: Mapped[int] = mapped_column(ForeignKey("levels.number"))
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The sealed package it came in (`package import`), or None (a bank file): only a
    # packaged blueprint can make a formal session (migration 0007).
    package_id: Mapped[str | None] = mapped_column(
        ForeignKey("paper_packages.package_id"), default=None
    )


class PaperPackage(Base):
    """A sealed paper package (试卷包) as imported: its validity window, and the formal
    session that used its papers (one session, once)."""

    __tablename__ = "paper_packages"
    package_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    creator: Mapped[str] = mapped_column(String(256), default="")
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)
    not_before: Mapped[datetime | None] = mapped_column(default=None)
    not_after: Mapped[datetime | None] = mapped_column(default=None)
    used_by: Mapped[int | None] = mapped_column(
        ForeignKey("exam_sessions.id", use_alter=True), unique=True, default=None
    )


# --- sites, rooms, sessions -----------------------------------------------------------


class Room(Base):
    """考场: a lab room with numbered seats (机位)."""

    __tablename__ = "rooms"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    site: Mapped[str] = mapped_column(String(128), default="")
    seat_count: Mapped[int] = mapped_column(Integer)
    # How the seats stand in the room, for the console's seat plan (null: derived from
    # seat_count, see cbt_server.enrolment.layout).
    rows: Mapped[int | None] = mapped_column(Integer, default=None)
    cols: Mapped[int | None] = mapped_column(Integer, default=None)


class ExamSession(Base):
    """场次: one sitting of one paper blueprint in one room."""

    __tablename__ = "exam_sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(256))
    occupation: Mapped[str] = mapped_column(ForeignKey("occupations.code"))
    level: Mapped[int] = mapped_column(ForeignKey("levels.number"))
    blueprint_id: Mapped[str] = mapped_column(ForeignKey("blueprints.id"))
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id"))
    duration_s: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), default="scheduled")
    scheduled_at: Mapped[datetime | None] = mapped_column(default=None)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    started_by: Mapped[str | None] = mapped_column(String(128), default=None)
    show_scores: Mapped[bool] = mapped_column(Boolean, default=False)
    seed: Mapped[str] = mapped_column(String(64))
    signed_by: Mapped[str | None] = mapped_column(String(128), default=None)
    signed_at: Mapped[datetime | None] = mapped_column(default=None)
    # The rules of the sitting (migration 0006; exam/rules.py): no login later than
    # `late_minutes` after the start (None: any time), no hand-in before
    # `min_submit_minutes` after it (None: any time), a calculator on the exam page.
    late_minutes: Mapped[int | None] = mapped_column(Integer, default=None)
    min_submit_minutes: Mapped[int | None] = mapped_column(Integer, default=None)
    calculator: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # 正式 formal / 试考 rehearsal / 练习 practice (migration 0007; exam/modes.py): only a
    # formal session's results reach the centre's feed and the signed score summary.
    mode: Mapped[str] = mapped_column(String(16), default="formal", server_default="formal")
    # Practice (migration 0010; exam/practice.py): keys shown after each item or at the
    # end, no deadline when untimed, the practice code's hash (the code is never stored).
    feedback: Mapped[str | None] = mapped_column(String(8), default=None)
    untimed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    practice_code_hash: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)


class Candidate(Base):
    """考生 registered for one session at one seat.

    A ticket (准考证号) is unique within a session, not across them: the same person takes
    the rehearsal (试考) and then the formal sitting with one ticket (migration 0011).
    """

    __tablename__ = "candidates"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket: Mapped[str] = mapped_column(String(64), index=True)
    id_number: Mapped[str] = mapped_column(String(18))
    name: Mapped[str] = mapped_column(String(128))
    occupation: Mapped[str] = mapped_column(ForeignKey("occupations.code"))
    level: Mapped[int] = mapped_column(ForeignKey("levels.number"))
    session_id: Mapped[int] = mapped_column(ForeignKey("exam_sessions.id"), index=True)
    seat: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), default="registered")
    checked_in_at: Mapped[datetime | None] = mapped_column(default=None)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    submitted_at: Mapped[datetime | None] = mapped_column(default=None)
    submit_reason: Mapped[str | None] = mapped_column(String(16), default=None)
    # The connection currently holding this candidate (process id + token), and the seat
    # a proctor has unlocked them to move to after a PC failure.
    connection_id: Mapped[str | None] = mapped_column(String(128), default=None)
    login_seat: Mapped[int | None] = mapped_column(Integer, default=None)
    unlocked: Mapped[bool] = mapped_column(Boolean, default=False)
    # SHA-256 of the resume token of the candidate's current login (the PC holding it);
    # a login without it is refused until a proctor unlocks the candidate.
    login_token_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    last_seen_at: Mapped[datetime | None] = mapped_column(default=None)
    acked_seq: Mapped[int] = mapped_column(Integer, default=0)
    # A proctor admitted this candidate after the late-admission limit (reason audited).
    late_admitted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Identity checked (已核验) by a proctor at the seat, against ID card and photo.
    identity_checked_at: Mapped[datetime | None] = mapped_column(default=None)
    identity_checked_by: Mapped[str | None] = mapped_column(String(128), default=None)

    __table_args__ = (
        UniqueConstraint("session_id", "seat", name="uq_candidates_session_seat"),
        UniqueConstraint("session_id", "ticket", name="uq_candidates_session_ticket"),
    )


class CandidatePhoto(Base):
    """A candidate's photo for the identity check: a JPEG re-encoded on import (no
    metadata, bounded size; cbt_server.enrolment.photos)."""

    __tablename__ = "candidate_photos"
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidates.id"), primary_key=True)
    jpeg: Mapped[bytes] = mapped_column(LargeBinary)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(255), default="")
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)


class Paper(Base):
    """试卷 drawn for one candidate: item ids and option order (item_bank Paper.to_dict)."""

    __tablename__ = "papers"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidates.id"), unique=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("exam_sessions.id"), index=True)
    blueprint_id: Mapped[str] = mapped_column(ForeignKey("blueprints.id"))
    seed: Mapped[str] = mapped_column(String(64))
    layout: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Answer(Base):
    """The latest response of a candidate to one item, with the sequence number that set it."""

    __tablename__ = "answers"
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidates.id"), primary_key=True)
    item_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    response: Mapped[list[str]] = mapped_column(JSON)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    seq: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Practice with item feedback: when the key was shown; the answer is locked from then.
    checked_at: Mapped[datetime | None] = mapped_column(default=None)


class Pause(Base):
    """A pause of one candidate (candidate_id set) or the whole room (candidate_id null)."""

    __tablename__ = "pauses"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("exam_sessions.id"), index=True)
    candidate_id: Mapped[int | None] = mapped_column(ForeignKey("candidates.id"), default=None)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    reason: Mapped[str] = mapped_column(Text, default="")
    by: Mapped[str] = mapped_column(String(128), default="")


class TimeGrant(Base):
    """Extra time granted to one candidate by a proctor."""

    __tablename__ = "time_grants"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidates.id"), index=True)
    seconds: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text, default="")
    by: Mapped[str] = mapped_column(String(128), default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)


class Downtime(Base):
    """An interval during which no server process was running (from heartbeats)."""

    __tablename__ = "downtimes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime]


class Heartbeat(Base):
    """Last sign of life of a server process, to detect downtime after a crash."""

    __tablename__ = "heartbeats"
    process_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    beat_at: Mapped[datetime] = mapped_column(default=utcnow)


class Result(Base):
    """A graded result. `feed_seq` orders results for the centre's incremental pull."""

    __tablename__ = "results"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidates.id"), unique=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("exam_sessions.id"), index=True)
    paper_id: Mapped[str] = mapped_column(ForeignKey("papers.id"))
    score: Mapped[float] = mapped_column(Float)
    max_score: Mapped[float] = mapped_column(Float)
    pass_mark: Mapped[float] = mapped_column(Float)
    passed: Mapped[bool] = mapped_column(Boolean)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    submitted_at: Mapped[datetime]
    graded_at: Mapped[datetime] = mapped_column(default=utcnow)
    submit_reason: Mapped[str] = mapped_column(String(16))
    responses: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    final: Mapped[bool] = mapped_column(Boolean, default=False)
    signature: Mapped[str] = mapped_column(Text, default="")
    # Position in the centre's pull feed: set by a database trigger on every insert and
    # update, in commit order (migration 0003; docs/results-api.md). Never set it here.
    feed_seq: Mapped[int | None] = mapped_column(Integer, unique=True)


class RoomNote(Base):
    """An entry of the room record (考场记录表) written by a proctor."""

    __tablename__ = "room_notes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("exam_sessions.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    author: Mapped[str] = mapped_column(String(128))
    text: Mapped[str] = mapped_column(Text)


# --- people and access ----------------------------------------------------------------


class User(Base):
    """Staff account: lab_admin, proctor, supervisor (argon2 password hash)."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128), default="")
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(256))
    # The account-wide lockout (failures from every address; auth/lockout.py).
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(default=None)
    failures_since: Mapped[datetime | None] = mapped_column(default=None)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # Made by `centre assignments pull` for the sessions the centre assigned: disabled
    # once every session it is assigned to is signed off (auth/session_only.py).
    session_only: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LoginLock(Base):
    """Failed staff logins of one account from one client address, and its lock there."""

    __tablename__ = "login_locks"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    address: Mapped[str] = mapped_column(String(64), primary_key=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(default=None)


class Assignment(Base):
    """Which sessions a proctor or supervisor is assigned to."""

    __tablename__ = "assignments"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("exam_sessions.id"), primary_key=True)
    # The examiner leader (考评组长) of the session: the one who signs the score summary.
    leader: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class StaffSession(Base):
    """A signed-in staff browser. The cookie holds a random secret; only its SHA-256 is
    stored, so a leaked database row cannot be replayed as a cookie."""

    __tablename__ = "staff_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    client: Mapped[str] = mapped_column(String(256), default="")


class ApiToken(Base):
    """Bearer token for machine clients; only a hash of the secret is stored."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    token_hash: Mapped[str] = mapped_column(String(128), unique=True)
    scope: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class AuditEntry(Base):
    """Append-only audit log; each entry carries the hash of the previous one."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16), default="")
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(256), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Unique: two writers that read the same tail cannot both append (no forked chain).
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class LabReport(Base):
    """A lab PC's readiness report from the lab agent."""

    __tablename__ = "lab_reports"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hostname: Mapped[str] = mapped_column(String(255), index=True)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    passed: Mapped[bool] = mapped_column(Boolean)
    report: Mapped[dict[str, Any]] = mapped_column(JSON)
