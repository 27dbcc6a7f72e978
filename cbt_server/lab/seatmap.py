"""Lab PCs and their seats, pure: no web, no database, no clock.

The documents the lab agent sends (its registration, its heartbeat) and the seat-map
file the lab administrator exports and imports, as strict pydantic models; the rule that
maps addresses to seats (".2 → seat 1"); the check of a whole mapping before any of it
is written; and the decision whether a candidate may log in at a PC.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from cbt_server.errors import DuplicateSeat, InvalidInput, WrongPc
from cbt_server.lab_documents import describe_error

MAX_MACS = 16
MAX_SEAT = 100_000
SEAT_FILE_FORMAT: Literal["cbt-seat-map"] = "cbt-seat-map"
OFFLINE_AFTER = timedelta(seconds=45)
"""A PC whose agent has not been heard of for this long shows as offline (the agent
beats every 15 s by default: three missed beats)."""

_MAC = re.compile(r"^[0-9a-f]{2}([:-]?)[0-9a-f]{2}(\1[0-9a-f]{2}){4}$")
_TEXT = r"^[^\x00-\x1f\x7f]*$"


def normalize_mac(text: str) -> str:
    """``AA-BB-CC-DD-EE-FF``, ``aabbccddeeff`` or ``aa:bb:…`` as ``aa:bb:cc:dd:ee:ff``."""
    raw = text.strip().lower()
    if not _MAC.match(raw):
        raise ValueError(f"{text!r} is not a MAC address (aa:bb:cc:dd:ee:ff)")
    digits = re.sub(r"[:-]", "", raw)
    if digits in ("000000000000", "ffffffffffff"):
        raise ValueError(f"{text!r} is not the MAC address of a network card")
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2))


def _macs(values: list[str]) -> list[str]:
    macs = [normalize_mac(v) for v in values]
    if len(set(macs)) != len(macs):
        raise ValueError("lists one MAC address twice")
    return macs


def _hostname(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value.strip()


Hostname = Annotated[
    str, Field(min_length=1, max_length=255, pattern=_TEXT), AfterValidator(_hostname)
]
Macs = Annotated[list[str], Field(min_length=1, max_length=MAX_MACS), AfterValidator(_macs)]
Seat = Annotated[int, Field(ge=1, le=MAX_SEAT)]
Text = Annotated[str, Field(max_length=256, pattern=_TEXT)]


M = TypeVar("M", bound=BaseModel)


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class Registration(_Strict):
    """What the lab agent says of its PC when it starts (POST /api/v1/lab/pcs)."""

    hostname: Hostname
    macs: Macs
    addresses: Annotated[list[Text], Field(max_length=MAX_MACS)] = []
    os: Text = ""
    screen: Annotated[str, Field(max_length=32, pattern=_TEXT)] = "unknown"
    failing: Annotated[list[Text], Field(max_length=64)] = []
    """Names of the readiness checks this PC failed (empty: passed or not measured)."""
    measured: bool = False
    """Whether the readiness checks ran (``failing`` means nothing otherwise)."""
    room: Annotated[str, Field(min_length=1, max_length=64, pattern=_TEXT)] | None = None
    seat: Seat | None = None
    agent_version: Annotated[str, Field(max_length=32, pattern=_TEXT)] = ""


class Heartbeat(_Strict):
    """The agent is still running (POST /api/v1/lab/pcs/{id}/heartbeat)."""

    agent_id: Annotated[str, Field(min_length=1, max_length=64)]


class SeatEntry(_Strict):
    """One PC of a seat-map file: by name and MACs, at a seat or as a spare."""

    hostname: Hostname
    macs: Macs
    seat: Seat | None = None
    spare: bool = False


class SeatFile(_Strict):
    """The seat map of one room as a file (GET/PUT /api/v1/lab/rooms/{code}/seats)."""

    format: Literal["cbt-seat-map"] = SEAT_FILE_FORMAT
    version: Literal[1] = 1
    room: Annotated[str, Field(min_length=1, max_length=64)]
    pcs: Annotated[list[SeatEntry], Field(max_length=MAX_SEAT)]


class SeatRule(_Strict):
    """Seats by address: ``first`` is seat 1, the next address seat 2, …; the ``spares``
    addresses after the last seat are the room's spare PCs."""

    first: Annotated[str, Field(max_length=64)]
    seats: Seat | None = None
    spares: Annotated[int, Field(ge=0, le=1000)] = 0


class Placement(_Strict):
    """Where a PC goes in a hand-made mapping: a seat, a spare, or out of the room."""

    hostname: Hostname
    seat: Seat | None = None
    spare: bool = False


class HandMap(_Strict):
    pcs: Annotated[list[Placement], Field(max_length=MAX_SEAT)]


def parse(model: type[M], data: Any, root: str) -> M:
    """`data` as `model`, or InvalidInput naming the first bad field under `root`."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(describe_error(model, exc.errors(), root)) from None


# --- mappings ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Place:
    """A PC's place in a room: its seat, or a spare (seat None, spare True)."""

    seat: int | None
    spare: bool = False


def check_mapping(places: Mapping[str, Place], seat_count: int, room: str) -> None:
    """Refuse a whole mapping if any seat is out of the room or given twice."""
    by_seat: dict[int, str] = {}
    for name, place in sorted(places.items()):
        if place.seat is None:
            continue
        if place.seat > seat_count:
            raise InvalidInput(
                f"{name}: seat {place.seat} is not in room {room} (seats 1 to {seat_count})"
            )
        other = by_seat.setdefault(place.seat, name)
        if other != name:
            raise DuplicateSeat(f"seat {place.seat} of room {room} is given to {other} and {name}")
        if place.spare:
            raise InvalidInput(f"{name}: a PC is either at a seat or a spare, not both")


def rule_places(rule: SeatRule, addresses: Mapping[str, str], seat_count: int) -> dict[str, Place]:
    """The places the rule gives to PCs (name → address); PCs outside its range get none."""
    try:
        first = ipaddress.IPv4Address(rule.first.strip())
    except ValueError:
        raise InvalidInput(f"rule.first: {rule.first!r} is not an IPv4 address") from None
    seats = rule.seats if rule.seats is not None else seat_count
    if seats > seat_count:
        raise InvalidInput(f"rule.seats: {seats} is more than the room's {seat_count} seats")
    places: dict[str, Place] = {}
    for name, text in addresses.items():
        try:
            address = ipaddress.IPv4Address(text)
        except ValueError:
            continue  # an IPv6 or unknown address is out of an IPv4 rule
        offset = int(address) - int(first)
        if 0 <= offset < seats:
            places[name] = Place(offset + 1)
        elif seats <= offset < seats + rule.spares:
            places[name] = Place(None, spare=True)
    return places


def accepted_places(requests: Iterable[tuple[str, int | None]]) -> dict[str, Place]:
    """The seats the agents asked for (``--seat N``), for the PCs that asked one."""
    return {name: Place(seat) for name, seat in requests if seat is not None}


def split_requests(
    current: Mapping[str, Place], asked: Mapping[str, Place], seat_count: int, room: str
) -> tuple[dict[str, Place], dict[str, str]]:
    """The agents' requests (`asked`) that can be applied to a room mapped as `current`,
    and the others (name → why). A request is refused when its seat is out of the room,
    another PC asks for the same seat (the one already there keeps it), or a PC that
    stays where it is holds it; a PC whose request is refused stays where it was."""
    refused: dict[str, str] = {}
    by_seat: dict[int, list[str]] = {}
    for name, place in sorted(asked.items()):
        if place.seat is None:
            continue
        if place.seat > seat_count:
            refused[name] = f"seat {place.seat} is not in room {room} (seats 1 to {seat_count})"
        else:
            by_seat.setdefault(place.seat, []).append(name)
    for seat, names in by_seat.items():
        holder = next((n for n in names if current.get(n) == Place(seat)), None)
        for name in names if len(names) > 1 else []:
            if name != holder:
                others = " and ".join(n for n in names if n != name)
                refused[name] = f"seat {seat} of room {room} is asked for by {others} too"
    changed = True
    while changed:  # a seat is free if the PC holding it moves to a seat of its own
        changed = False
        moving = {n for n, p in asked.items() if n not in refused and current.get(n) != p}
        for name in sorted(moving):
            wanted = asked[name].seat
            holder = next((h for h, p in current.items() if p.seat == wanted and h != name), None)
            if holder is not None and holder not in moving:
                refused[name] = f"seat {wanted} of room {room} is {holder}'s"
                changed = True
                break
    return {n: p for n, p in asked.items() if n not in refused}, refused


def file_places(seat_file: SeatFile) -> dict[str, Place]:
    """The places of a seat-map file; a PC listed twice is refused."""
    places: dict[str, Place] = {}
    for entry in seat_file.pcs:
        if entry.hostname in places:
            raise InvalidInput(f"pcs: {entry.hostname} is listed twice")
        places[entry.hostname] = Place(entry.seat, entry.spare)
    macs: dict[str, str] = {}
    for entry in seat_file.pcs:
        for mac in entry.macs:
            other = macs.setdefault(mac, entry.hostname)
            if other != entry.hostname:
                raise InvalidInput(f"pcs: MAC {mac} is listed for {other} and {entry.hostname}")
    return places


# --- logins -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PcAtLogin:
    """The PC a login comes from, as the room it stands in knows it."""

    id: int
    hostname: str
    seat: int | None
    spare: bool


def admit(
    room_has_pcs: bool,
    pc: PcAtLogin | None,
    candidate_seat: int,
    unlocked_pc_id: int | None,
    unlocked: bool,
) -> None:
    """Whether a candidate may log in at this PC; WrongPc saying why not.

    A room without registered PCs keeps the old rule (any PC, ``?seat=`` as typed). In a
    room with PCs a candidate logs in at the PC of their seat, or at the PC a proctor
    unlocked them to (a spare, or any PC of the room when the unlock named none).
    """
    if not room_has_pcs:
        return
    if pc is None:
        raise WrongPc(
            "this PC is not registered in this candidate's room: log in at your seat's PC "
            f"(seat {candidate_seat}), or ask the lab administrator to map this PC"
        )
    if pc.seat == candidate_seat:
        return
    if unlocked and unlocked_pc_id in (None, pc.id):
        return
    where = f"seat {pc.seat}" if pc.seat is not None else "a spare PC"
    raise WrongPc(
        f"this PC ({pc.hostname}) is {where}; your seat is {candidate_seat}. "
        "To use this PC, a proctor must unlock you to it"
    )


def online(last_heartbeat: datetime, now: datetime) -> bool:
    return now - last_heartbeat <= OFFLINE_AFTER


def export_file(room: str, pcs: Sequence[tuple[str, list[str], int | None, bool]]) -> SeatFile:
    """The seat-map file of a room from its PCs (name, MACs, seat, spare), by seat."""
    entries = [SeatEntry(hostname=h, macs=m, seat=s, spare=sp) for h, m, s, sp in pcs]
    entries.sort(key=lambda e: (e.seat is None, e.seat or 0, e.hostname))
    return SeatFile(room=room, pcs=entries)
