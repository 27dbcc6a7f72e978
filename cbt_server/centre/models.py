"""The centre's own tables: registered sites, the results pulled from them, the refusals.

They live on the same declarative base and in the same Alembic tree as the site's tables
(migration 0010_centre_tables): a centre database is made by the same `cbt-server db upgrade`
and re-uses the site tables it needs as they are: `users` and `staff_sessions` (its
staff sign in like a site's), `audit_log` (who registered a site, who trusted a key) and
`items` (the centre's own copy of the item bank, against which every result is
re-graded). The site tables a centre does not use stay empty, as these do on a site.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from cbt_server.db.models import Base
from cbt_server.db.types import utcnow


class CentreSite(Base):
    """A site (考点) the centre pulls from: where, which key it trusts, where it stopped.

    `status` is the last pull's verdict (`new`, `ok`, `key_changed`, `unreachable`,
    `token_refused`, `cursor_ahead`, `bad_answer`, `store_failed`), `status_reason` its
    sentence. A key offered that differs from the pinned one is kept in `offered_*` until
    a person trusts it (`cbt-server centre site trust-key`).
    """

    __tablename__ = "centre_sites"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(128), default="")
    url: Mapped[str] = mapped_column(String(512))
    # The site's results:read token: the centre must send it, so it is kept as given.
    pull_token: Mapped[str] = mapped_column(Text)
    # SHA-256 of the token the site presents to the centre (its secret was shown once).
    site_token_hash: Mapped[str] = mapped_column(String(64))
    kid: Mapped[str | None] = mapped_column(String(64), default=None)
    public_key: Mapped[str | None] = mapped_column(String(128), default=None)
    offered_kid: Mapped[str | None] = mapped_column(String(64), default=None)
    offered_key: Mapped[str | None] = mapped_column(String(128), default=None)
    cursor: Mapped[str | None] = mapped_column(String(256), default=None)
    status: Mapped[str] = mapped_column(String(16), default="new")
    status_reason: Mapped[str] = mapped_column(Text, default="")
    last_pull_at: Mapped[datetime | None] = mapped_column(default=None)
    last_ok_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CentreResult(Base):
    """One candidate's result as the centre holds it: the signed document, the centre's
    own re-grade, and whether they agree. One row per (site, session, ticket): a result
    the site re-publishes (signed off, corrected) replaces the row, never adds one."""

    __tablename__ = "centre_results"
    __table_args__ = (UniqueConstraint("site_id", "session", "ticket"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("centre_sites.id"), index=True)
    session: Mapped[str] = mapped_column(String(64))
    ticket: Mapped[str] = mapped_column(String(64))
    id_number: Mapped[str] = mapped_column(String(18), index=True)
    name: Mapped[str] = mapped_column(String(128))
    occupation: Mapped[str] = mapped_column(String(64))
    level: Mapped[int] = mapped_column(Integer)
    exam_date: Mapped[date] = mapped_column(Date)
    site_score: Mapped[str] = mapped_column(String(16))
    centre_score: Mapped[str | None] = mapped_column(String(16), default=None)
    max_score: Mapped[str] = mapped_column(String(16))
    pass_mark: Mapped[str] = mapped_column(String(16))
    passed: Mapped[bool] = mapped_column(Boolean)
    final: Mapped[bool] = mapped_column(Boolean)
    # `ok` (re-graded to the site's score) or `mismatch` (see `reason`)
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")
    # The result exactly as signed: its canonical JSON (docs/results-api.md) and the
    # site's signature over its UTF-8 bytes, so anyone can verify it again later.
    canonical: Mapped[str] = mapped_column(Text)
    signature: Mapped[str] = mapped_column(String(128))
    pulled_at: Mapped[datetime] = mapped_column(default=utcnow)


class CentreRejection(Base):
    """A result whose signature did not verify with the pinned key, kept as evidence."""

    __tablename__ = "centre_rejections"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("centre_sites.id"), index=True)
    ticket: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    document: Mapped[Any] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class CentreExaminer(Base):
    """The centre's register of examiners (考评员) and quality supervisors (质量督导员).

    `home_site_id` is the site the person belongs to (none for the centre's own staff);
    `failed_checks` counts failed duty checks: at two the person is dismissed."""

    __tablename__ = "centre_examiners"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16))  # examiner or supervisor
    home_site_id: Mapped[int | None] = mapped_column(ForeignKey("centre_sites.id"), default=None)
    failed_checks: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CentreAssignment(Base):
    """An examiner or supervisor assigned to one session of one site (交叉委派)."""

    __tablename__ = "centre_assignments"
    __table_args__ = (UniqueConstraint("examiner_id", "site_id", "session"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    examiner_id: Mapped[int] = mapped_column(ForeignKey("centre_examiners.id"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("centre_sites.id"), index=True)
    session: Mapped[str] = mapped_column(String(64))
    exam_date: Mapped[date] = mapped_column(Date)
    leader: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CentrePaperRequest(Base):
    """A site's paper request (试卷申请) and, once approved, its sealed package.

    `status`: `requested` → `approved` (papers assembled and sealed, valid on the exam
    day) ; `pulled_at` and `key_released_at` say when the site fetched the package and
    its content key. The content key is kept encrypted under the centre's own key;
    `roster` is the candidates the site sent (with the 补考 marks the centre checked).
    """

    __tablename__ = "centre_paper_requests"
    __table_args__ = (UniqueConstraint("site_id", "session"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("centre_sites.id"), index=True)
    occupation: Mapped[str] = mapped_column(String(64))
    level: Mapped[int] = mapped_column(Integer)
    session: Mapped[str] = mapped_column(String(64))
    exam_date: Mapped[date] = mapped_column(Date)
    candidates: Mapped[int] = mapped_column(Integer)
    roster: Mapped[Any] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default="requested")
    blueprint_id: Mapped[str | None] = mapped_column(String(128), default=None)
    package_id: Mapped[str | None] = mapped_column(String(64), default=None)
    package: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    sealed_key: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    approved_by: Mapped[str | None] = mapped_column(String(128), default=None)
    approved_at: Mapped[datetime | None] = mapped_column(default=None)
    pulled_at: Mapped[datetime | None] = mapped_column(default=None)
    key_released_at: Mapped[datetime | None] = mapped_column(default=None)


class CentreReadiness(Base):
    """A site's last lab readiness verdict (docs/lab-readiness.md), as the site pushed it
    with its centre token: the verdict and its reasons, without the per-PC rows."""

    __tablename__ = "centre_readiness"
    site_id: Mapped[int] = mapped_column(ForeignKey("centre_sites.id"), primary_key=True)
    ready: Mapped[bool] = mapped_column(Boolean)
    verdict: Mapped[Any] = mapped_column(JSON)
    generated_at: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
