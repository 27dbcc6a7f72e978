"""A PC mapped to a seat that registers from a new address: held until the lab
administrator confirms it (docs/lab-readiness.md, "A mapped PC at a new address").

MAC addresses are no secret on a lab network and the ``lab:report`` token is on every
lab PC, so a machine that copies a mapped PC's name and one of its MACs could otherwise
register under that name from its own address and take the PC's seat (the candidate
page learns its seat by address). Until confirmed, the PC keeps its address, its agent
run and what the server knows of it; the new run may beat (it is told it waits).
Also the PCs' addresses and MACs, which a confirmation changes as a registration does.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server.db.lab_models import LabPc, LabPcMac
from cbt_server.errors import InvalidInput, UnknownPc


async def take_address(session: AsyncSession, address: str, hostname: str) -> None:
    """The address moved to this PC (DHCP, a swapped PC): no other PC holds it now."""
    await session.execute(
        update(LabPc)
        .where(LabPc.address == address, LabPc.hostname != hostname)
        .values(address=None)
    )


async def set_macs(session: AsyncSession, pc: LabPc, macs: Sequence[str]) -> None:
    await session.execute(
        delete(LabPcMac).where(LabPcMac.pc_id == pc.id, LabPcMac.mac.not_in(list(macs)))
    )
    have = set(await session.scalars(select(LabPcMac.mac).where(LabPcMac.pc_id == pc.id)))
    for mac in macs:
        if mac not in have:
            session.add(LabPcMac(mac=mac, pc_id=pc.id))


def must_hold(pc: LabPc, address: str | None) -> bool:
    """Whether a registration of `pc` from `address` moves a mapped PC elsewhere."""
    return (
        pc.room_id is not None
        and pc.address is not None
        and address is not None
        and address != pc.address
    )


def hold(pc: LabPc, address: str, said: dict[str, Any], now: datetime) -> str:
    """Keep this registration (`said`: macs, facts, requested room and seat) as pending;
    the agent id of the new run (a newer pending registration replaces an older one)."""
    agent_id = secrets.token_urlsafe(16)
    pc.pending_address = address
    pc.pending = said | {"agent_id": agent_id, "at": now.isoformat()}
    return agent_id


def is_pending_agent(pc: LabPc, agent_id: str) -> bool:
    pending = pc.pending or {}
    held = str(pending.get("agent_id", ""))
    return bool(held) and secrets.compare_digest(held, agent_id)


def waiting_note(pc: LabPc) -> str:
    """Why the PC at the pending address has no seat (for its agent and its pages)."""
    return (
        f"PC {pc.hostname} is mapped to a seat at address {pc.address}; its registration "
        f"from {pc.pending_address} awaits the lab administrator's confirmation "
        f"(/lab/seats, or cbt-server lab confirm {pc.hostname}): until then this address "
        "has no seat"
    )


async def pending_at(session: AsyncSession, address: str | None) -> LabPc | None:
    """The PC whose registration from this address awaits confirmation, if any."""
    if not address:
        return None
    return await session.scalar(
        select(LabPc).where(LabPc.pending_address == address).order_by(LabPc.id).limit(1)
    )


async def _held(session: AsyncSession, hostname: str) -> LabPc:
    pc = await session.scalar(select(LabPc).where(LabPc.hostname == hostname))
    if pc is None:
        raise UnknownPc(f"no lab PC named {hostname!r}")
    if pc.pending_address is None or pc.pending is None:
        raise InvalidInput(f"PC {hostname}: no registration awaits confirmation")
    return pc


async def confirm(session: AsyncSession, hostname: str) -> LabPc:
    """The PC did move: its pending address, agent run, MACs and facts become its own
    (the old run's heartbeats are stale from now on); its seat stays."""
    pc = await _held(session, hostname)
    pending, address = dict(pc.pending or {}), str(pc.pending_address)
    macs = [str(m) for m in pending.get("macs", [])]
    others = await session.scalar(
        select(LabPcMac.mac).where(LabPcMac.mac.in_(macs), LabPcMac.pc_id != pc.id).limit(1)
    )
    if others is not None:  # bound to another PC since the registration was held
        raise InvalidInput(f"PC {hostname}: MAC {others} now belongs to another PC: reject it")
    await take_address(session, address, hostname)
    pc.address, pc.agent_id = address, str(pending["agent_id"])
    pc.facts = dict(pending.get("facts", {}))
    pc.requested_room = pending.get("requested_room")
    pc.requested_seat = pending.get("requested_seat")
    pc.pending_address, pc.pending = None, None
    await session.flush()
    if macs:
        await set_macs(session, pc, macs)
    await session.flush()
    return pc


async def reject(session: AsyncSession, hostname: str) -> LabPc:
    """Not this PC: drop the pending registration (its agent's beats become stale)."""
    pc = await _held(session, hostname)
    pc.pending_address, pc.pending = None, None
    await session.flush()
    return pc
