"""The lab PCs' tables (docs/lab-readiness.md): each PC as its agent registered it, its
MAC addresses, and what the lab adds to a candidate. On the same metadata as
`cbt_server.db.models`; Alembic's environment imports both."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cbt_server.db.models import Base
from cbt_server.db.types import utcnow


class LabPc(Base):
    """A lab PC (机位) as its lab agent registered it, and the seat it is mapped to.

    `address` is the address the server saw the agent come from: the candidate page on
    the same PC comes from it too, which is how a page learns its seat. `agent_id`
    names the agent run that registered last; heartbeats of any other run are stale.
    `pending_address` and `pending` hold a registration that would move this PC, mapped
    to a seat, to another address: it waits for the lab administrator (cbt_server.lab.moves).
    """

    __tablename__ = "lab_pcs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hostname: Mapped[str] = mapped_column(String(255), unique=True)
    address: Mapped[str | None] = mapped_column(String(64), index=True, default=None)
    facts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    requested_room: Mapped[str | None] = mapped_column(String(64), default=None)
    requested_seat: Mapped[int | None] = mapped_column(Integer, default=None)
    room_id: Mapped[int | None] = mapped_column(ForeignKey("rooms.id"), default=None)
    seat: Mapped[int | None] = mapped_column(Integer, default=None)
    spare: Mapped[bool] = mapped_column(Boolean, default=False)
    agent_id: Mapped[str] = mapped_column(String(64), default="")
    registered_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_heartbeat_at: Mapped[datetime] = mapped_column(default=utcnow)
    pending_address: Mapped[str | None] = mapped_column(String(64), index=True, default=None)
    pending: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)

    __table_args__ = (UniqueConstraint("room_id", "seat", name="uq_lab_pcs_room_seat"),)


class LabPcMac(Base):
    """A MAC address of a lab PC: one MAC belongs to one PC (the key says so)."""

    __tablename__ = "lab_pc_macs"
    mac: Mapped[str] = mapped_column(String(17), primary_key=True)
    pc_id: Mapped[int] = mapped_column(ForeignKey("lab_pcs.id", ondelete="CASCADE"), index=True)


class CandidateLab(Base):
    """What the lab adds to a candidate: the spare PC a proctor unlocked them to, and how
    often their exam window lost focus or left full screen (times in the audit log)."""

    __tablename__ = "candidate_lab"
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidates.id"), primary_key=True)
    unlocked_pc_id: Mapped[int | None] = mapped_column(ForeignKey("lab_pcs.id"), default=None)
    focus_lost: Mapped[int] = mapped_column(Integer, default=0)
    fullscreen_exits: Mapped[int] = mapped_column(Integer, default=0)
    last_focus_event_at: Mapped[datetime | None] = mapped_column(default=None)
