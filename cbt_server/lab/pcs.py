"""Lab PCs in the database: registration and heartbeats of the lab agent, seat maps of a
room (by hand, by rule, by the agents' requests, from a file), and the PC a login comes
from. Each function is one unit of work's worth: the caller commits, and a refused
request has written nothing (every check comes before the first write)."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server import lab_readiness
from cbt_server.db.lab_models import CandidateLab, LabPc, LabPcMac
from cbt_server.db.models import ExamSession, LabReport, Room
from cbt_server.errors import InvalidInput, MacBound, NotFound, StaleAgent, UnknownPc, WrongPc
from cbt_server.lab import moves, seatmap
from cbt_server.lab.seatmap import Place, Registration, SeatFile
from lab_agent.bench import Baseline

HEARTBEAT_SECONDS = 15
OPEN_STATES = ("checkin", "started")


@dataclass(frozen=True, slots=True)
class Registered:
    pc: LabPc
    agent_id: str
    room: str | None
    pending: str | None = None
    """Why this registration waits for confirmation (a mapped PC at a new address)."""


@dataclass(frozen=True, slots=True)
class Beat:
    pc: LabPc
    pending: str | None = None
    """Set when the beating run is one whose registration waits for confirmation."""


async def room_by_code(session: AsyncSession, code: str) -> Room:
    room = await session.scalar(select(Room).where(Room.code == code))
    if room is None:
        raise NotFound(f"no room with code {code!r}")
    return room


async def _macs_of(session: AsyncSession, pc_ids: Sequence[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {i: [] for i in pc_ids}
    if pc_ids:
        rows = await session.execute(
            select(LabPcMac.pc_id, LabPcMac.mac)
            .where(LabPcMac.pc_id.in_(pc_ids))
            .order_by(LabPcMac.mac)
        )
        for pc_id, mac in rows.all():
            found[pc_id].append(mac)
    return found


async def _check_macs(session: AsyncSession, hostname: str, macs: Sequence[str]) -> None:
    """MacBound if one of these MACs belongs to a PC of another name."""
    rows = await session.execute(
        select(LabPcMac.mac, LabPc.hostname)
        .join(LabPc, LabPc.id == LabPcMac.pc_id)
        .where(LabPcMac.mac.in_(list(macs)), LabPc.hostname != hostname)
    )
    for mac, other in rows.all():
        raise MacBound(
            f"MAC {mac} is already bound to PC {other}: a cloned or renamed PC? Remove PC "
            f"{other} first if it is the same machine (DELETE /api/v1/lab/pcs/{other})"
        )


async def register(
    session: AsyncSession, reg: Registration, address: str | None, now: datetime
) -> Registered:
    """Record a PC as its agent describes it, seen from `address`; a new agent run."""
    await _check_macs(session, reg.hostname, reg.macs)
    if reg.room is not None:
        room = await room_by_code(session, reg.room)
        if reg.seat is not None and reg.seat > room.seat_count:
            raise InvalidInput(
                f"seat: {reg.seat} is not in room {room.code} (seats 1 to {room.seat_count})"
            )
    elif reg.seat is not None:
        raise InvalidInput("seat: name the room too (--room CODE)")
    pc = await session.scalar(select(LabPc).where(LabPc.hostname == reg.hostname))
    if pc is None:
        pc = LabPc(hostname=reg.hostname, registered_at=now)
        session.add(pc)
    else:
        known = (await _macs_of(session, [pc.id]))[pc.id]
        if known and not set(known) & set(reg.macs):
            # Another machine taking this PC's name would take its seat with it.
            raise MacBound(
                f"PC {pc.hostname} is registered with other MACs: another machine using its "
                f"name? If its network card was replaced, remove PC {pc.hostname} first "
                f"(cbt-server lab forget {pc.hostname})"
            )
    failing, measured = list(reg.failing), reg.measured
    if not measured:  # the PC's latest `check` report, if the server has one
        report = await session.scalar(
            select(LabReport.report)
            .where(LabReport.hostname == reg.hostname)
            .order_by(LabReport.id.desc())
            .limit(1)
        )
        if report is not None:  # judged again by the server's rules, as readiness does
            checks = lab_readiness.judge_report(report, Baseline())
            failing, measured = [c.name for c in checks if not c.passed], True
    facts = {
        "os": reg.os,
        "screen": reg.screen,
        "addresses": list(reg.addresses),
        "failing": failing,
        "measured": measured,
        "agent_version": reg.agent_version,
    }
    if address is not None and moves.must_hold(pc, address):
        said: dict[str, Any] = {"macs": list(reg.macs), "facts": facts}
        said |= {"requested_room": reg.room, "requested_seat": reg.seat}
        agent_id = moves.hold(pc, address, said, now)
        await session.flush()
        return Registered(pc, agent_id, None, moves.waiting_note(pc))
    if address is not None:
        await moves.take_address(session, address, reg.hostname)
    pc.address = address
    pc.facts = facts
    pc.requested_room, pc.requested_seat = reg.room, reg.seat
    pc.agent_id = secrets.token_urlsafe(16)
    pc.last_heartbeat_at = now
    await session.flush()
    await moves.set_macs(session, pc, reg.macs)
    await session.flush()
    placed = await session.get(Room, pc.room_id) if pc.room_id is not None else None
    return Registered(pc, pc.agent_id, placed.code if placed is not None else None)


async def heartbeat(
    session: AsyncSession, pc_id: int, agent_id: str, now: datetime, address: str | None = None
) -> Beat:
    """The agent of PC `pc_id` is alive, seen from `address` (which follows the PC if its
    address changed, DHCP); StaleAgent if a newer run registered since. The run whose
    registration awaits confirmation may beat too, and changes nothing."""
    pc = await session.get(LabPc, pc_id)
    if pc is None:
        raise UnknownPc(f"PC {pc_id} is not registered (removed?): start the agent again")
    if moves.is_pending_agent(pc, agent_id):
        return Beat(pc, moves.waiting_note(pc))
    if not secrets.compare_digest(pc.agent_id, agent_id):
        raise StaleAgent(
            f"PC {pc.hostname} was registered again by another agent run since this one "
            "started: this agent should stop (only one agent per PC)"
        )
    pc.last_heartbeat_at = now
    if address is not None and address != pc.address:
        await moves.take_address(session, address, pc.hostname)
        pc.address = address
    return Beat(pc)


async def forget(session: AsyncSession, hostname: str) -> None:
    """Remove a PC (and its MACs) from the server: a PC taken out of the lab."""
    pc = await session.scalar(select(LabPc).where(LabPc.hostname == hostname))
    if pc is None:
        raise UnknownPc(f"no lab PC named {hostname!r}")
    await session.execute(
        update(CandidateLab).where(CandidateLab.unlocked_pc_id == pc.id).values(unlocked_pc_id=None)
    )
    await session.execute(delete(LabPcMac).where(LabPcMac.pc_id == pc.id))
    await session.delete(pc)


# --- seat maps --------------------------------------------------------------------------


async def _room_pcs(session: AsyncSession, room: Room) -> list[LabPc]:
    return list(
        await session.scalars(select(LabPc).where(LabPc.room_id == room.id).order_by(LabPc.id))
    )


async def apply_places(
    session: AsyncSession, room: Room, places: Mapping[str, Place], *, replace: bool
) -> int:
    """Put these PCs (by name) at these places in `room`; with `replace`, every other PC
    of the room leaves it. The whole resulting map is checked before anything changes;
    returns how many PCs the room holds after."""
    names = list(places)
    found = {
        pc.hostname: pc
        for pc in await session.scalars(select(LabPc).where(LabPc.hostname.in_(names)))
    }
    unknown = [n for n in names if n not in found]
    if unknown:
        raise UnknownPc(
            f"unknown PC {', '.join(sorted(unknown))}: its agent has not registered it "
            "(or import a seat file that lists its MACs)"
        )
    current = await _room_pcs(session, room)
    result: dict[str, Place] = {}
    if not replace:
        result = {pc.hostname: Place(pc.seat, pc.spare) for pc in current}
    result.update(places)
    seatmap.check_mapping(result, room.seat_count, room.code)
    # Clear first, then place: seats swapped between PCs never meet in the unique key.
    moving = {pc.id: pc for pc in current} | {pc.id: pc for pc in found.values()}
    for pc in moving.values():
        pc.seat, pc.spare = None, False
        if replace or pc.hostname in places:
            pc.room_id = None
    await session.flush()
    for name, place in result.items():
        pc = found.get(name) or next(p for p in current if p.hostname == name)
        pc.room_id, pc.seat, pc.spare = room.id, place.seat, place.spare
    await session.flush()
    return len(result)


async def apply_rule(session: AsyncSession, room: Room, rule: seatmap.SeatRule) -> int:
    """Map PCs to seats of `room` by their addresses (the rule replaces the room's map)."""
    rows = await session.execute(
        select(LabPc.hostname, LabPc.address).where(LabPc.address.is_not(None))
    )
    addresses = {h: a for h, a in rows.all() if a is not None}
    places = seatmap.rule_places(rule, addresses, room.seat_count)
    if not places:
        raise InvalidInput(f"rule: no registered PC has an address from {rule.first} on")
    return await apply_places(session, room, places, replace=True)


async def accept_requested(session: AsyncSession, room: Room) -> tuple[int, dict[str, str]]:
    """Give the PCs that asked for a seat of `room` (agent ``--seat N``) those seats, each
    whose seat no other PC holds or asks for; the room's PC count after, and the PCs
    left where they were with why (see `seatmap.split_requests`)."""
    rows = await session.execute(
        select(LabPc.hostname, LabPc.requested_seat).where(LabPc.requested_room == room.code)
    )
    asked = seatmap.accepted_places((h, s) for h, s in rows.all())
    if not asked:
        raise InvalidInput(f"no agent asked for a seat of room {room.code}")
    current = {pc.hostname: Place(pc.seat, pc.spare) for pc in await _room_pcs(session, room)}
    granted, refused = seatmap.split_requests(current, asked, room.seat_count, room.code)
    count = await apply_places(session, room, granted, replace=False) if granted else len(current)
    return count, refused


async def import_file(session: AsyncSession, room: Room, seat_file: SeatFile) -> int:
    """Replace `room`'s map by a seat file; PCs it lists that are not registered yet are
    created from it (a server restored before the agents run)."""
    if seat_file.room != room.code:
        raise InvalidInput(f"room: the file is for room {seat_file.room}, not {room.code}")
    places = seatmap.file_places(seat_file)
    for entry in seat_file.pcs:
        await _check_macs(session, entry.hostname, entry.macs)
    seatmap.check_mapping(places, room.seat_count, room.code)
    for entry in seat_file.pcs:
        pc = await session.scalar(select(LabPc).where(LabPc.hostname == entry.hostname))
        if pc is None:
            pc = LabPc(hostname=entry.hostname, facts={}, agent_id="")
            session.add(pc)
            await session.flush()
            await moves.set_macs(session, pc, entry.macs)
    await session.flush()
    return await apply_places(session, room, places, replace=True)


async def export_file(session: AsyncSession, room: Room) -> SeatFile:
    pcs = await _room_pcs(session, room)
    macs = await _macs_of(session, [pc.id for pc in pcs])
    rows = [(pc.hostname, macs[pc.id], pc.seat, pc.spare) for pc in pcs if macs[pc.id]]
    return seatmap.export_file(room.code, rows)


# --- views ------------------------------------------------------------------------------


def pc_view(pc: LabPc, macs: list[str], now: datetime) -> dict[str, Any]:
    facts = pc.facts or {}
    return {
        "id": pc.id,
        "hostname": pc.hostname,
        "address": pc.address,
        "macs": macs,
        "seat": pc.seat,
        "spare": pc.spare,
        "online": bool(pc.agent_id) and seatmap.online(pc.last_heartbeat_at, now),
        "last_heartbeat": pc.last_heartbeat_at.isoformat() if pc.agent_id else None,
        "failing": list(facts.get("failing", [])),
        "measured": bool(facts.get("measured", False)),
        "os": facts.get("os", ""),
        "screen": facts.get("screen", "unknown"),
        "requested_room": pc.requested_room,
        "requested_seat": pc.requested_seat,
        "pending_address": pc.pending_address,
        "pending_since": (pc.pending or {}).get("at") if pc.pending_address else None,
    }


async def room_view(session: AsyncSession, room: Room, now: datetime) -> dict[str, Any]:
    """Every PC of a room with its seat, state and failing checks, by seat; and the
    room's seats that no PC holds."""
    pcs = await _room_pcs(session, room)
    macs = await _macs_of(session, [pc.id for pc in pcs])
    views = [pc_view(pc, macs[pc.id], now) for pc in pcs]
    views.sort(key=lambda v: (v["seat"] is None, v["seat"] or 0, v["hostname"]))
    taken = {v["seat"] for v in views}
    return {
        "room": room.code,
        "seat_count": room.seat_count,
        "pcs": views,
        "unmapped_seats": [s for s in range(1, room.seat_count + 1) if s not in taken],
        "generated_at": now.isoformat(),
    }


async def all_pcs(session: AsyncSession, now: datetime) -> list[dict[str, Any]]:
    pcs = list(await session.scalars(select(LabPc).order_by(LabPc.hostname)))
    macs = await _macs_of(session, [pc.id for pc in pcs])
    rooms = {r.id: r.code for r in await session.scalars(select(Room))}
    return [pc_view(pc, macs[pc.id], now) | {"room": rooms.get(pc.room_id or 0)} for pc in pcs]


# --- logins -----------------------------------------------------------------------------


async def pc_at(session: AsyncSession, address: str | None) -> LabPc | None:
    """The PC registered from this address, if any."""
    if not address:
        return None
    return await session.scalar(select(LabPc).where(LabPc.address == address))


async def exam_open(session: AsyncSession, room_id: int) -> bool:
    """Whether a session of this room is open for check-in or running."""
    found = await session.scalar(
        select(ExamSession.id)
        .where(ExamSession.room_id == room_id, ExamSession.state.in_(OPEN_STATES))
        .limit(1)
    )
    return found is not None


async def room_has_pcs(session: AsyncSession, room_id: int) -> bool:
    return (
        await session.scalar(select(LabPc.id).where(LabPc.room_id == room_id).limit(1))
    ) is not None


async def lab_row(session: AsyncSession, candidate_id: int) -> CandidateLab:
    """The candidate's lab row, made when first needed (locked with the candidate)."""
    row = await session.get(CandidateLab, candidate_id)
    if row is None:
        row = CandidateLab(candidate_id=candidate_id, focus_lost=0, fullscreen_exits=0)
        session.add(row)
    return row


async def unlock_to(
    session: AsyncSession, candidate_id: int, room_id: int, hostname: str | None
) -> str | None:
    """Name the PC a proctor unlocked a candidate to (None: any PC of the room)."""
    pc_id = None
    if hostname is not None:
        pc = await session.scalar(select(LabPc).where(LabPc.hostname == hostname))
        if pc is None:
            raise UnknownPc(f"no lab PC named {hostname!r}")
        if pc.room_id != room_id:
            raise InvalidInput(f"PC {hostname} is not a PC of this session's room")
        pc_id = pc.id
    (await lab_row(session, candidate_id)).unlocked_pc_id = pc_id
    return hostname


async def check_login(
    session: AsyncSession,
    *,
    candidate_id: int,
    seat: int,
    room_id: int,
    unlocked: bool,
    address: str | None,
) -> LabPc | None:
    """The PC of this login; WrongPc if the candidate may not log in at it (see
    `seatmap.admit`). Writes nothing."""
    pc = await pc_at(session, address)
    has_pcs = await room_has_pcs(session, room_id)
    held = await moves.pending_at(session, address) if pc is None and has_pcs else None
    if held is not None:
        raise WrongPc(moves.waiting_note(held))
    at = None
    if pc is not None and pc.room_id == room_id:
        at = seatmap.PcAtLogin(pc.id, pc.hostname, pc.seat, pc.spare)
    row = await session.get(CandidateLab, candidate_id) if unlocked else None
    seatmap.admit(has_pcs, at, seat, row.unlocked_pc_id if row else None, unlocked)
    return pc if at is not None else None


async def focus_counts(
    session: AsyncSession, candidate_ids: Sequence[int]
) -> dict[int, tuple[int, int]]:
    """How often each candidate's exam window lost focus and left full screen."""
    if not candidate_ids:
        return {}
    rows = await session.execute(
        select(
            CandidateLab.candidate_id, CandidateLab.focus_lost, CandidateLab.fullscreen_exits
        ).where(CandidateLab.candidate_id.in_(list(candidate_ids)))
    )
    return {cid: (lost, exits) for cid, lost, exits in rows.all()}
