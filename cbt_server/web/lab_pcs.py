"""HTTP edge of lab PCs and seats: the lab agent registers its PC and beats; the lab
administrator maps PCs to seats (by hand, by address rule, by the agents' requests, from
a file) and reads the room; the candidate page asks which seat it is; the console lists
the PCs of its session's room. See docs/lab-readiness.md ("Seats bound to PCs").
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web
from aiohttp.web_request import FileField
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server.auth.policy import Action
from cbt_server.auth.web import (
    page_context,
    read_form,
    require,
    require_page,
    require_session,
)
from cbt_server.db.lab_models import LabPc
from cbt_server.db.models import Room
from cbt_server.db.types import utcnow
from cbt_server.errors import DomainError, InvalidInput
from cbt_server.keys import SESSIONMAKER
from cbt_server.lab import moves, pcs, seatmap
from cbt_server.web.lab import read_limited, require_lab_token
from cbt_server.web.templates import render

MAX_BODY = 64 * 1024
MAX_SEAT_FILE = 2 * 1024 * 1024


async def _json_body(request: web.Request, limit: int, what: str) -> Any:
    body = await read_limited(request, limit)
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InvalidInput(f"{what}: the body is not JSON ({exc})") from None


# --- the agent --------------------------------------------------------------------------


async def register(request: web.Request) -> web.Response:
    """POST /api/v1/lab/pcs: the agent's PC, as it starts; 201 with its id and agent id,
    and ``pending`` saying why, when it moves a mapped PC to a new address (held for the
    lab administrator: this run may beat, and has no seat until confirmed)."""
    await require_lab_token(request)
    reg = seatmap.parse(seatmap.Registration, await _json_body(request, MAX_BODY, "pc"), "pc")
    async with request.app[SESSIONMAKER].begin() as session:
        done = await pcs.register(session, reg, request.remote, utcnow())
        answer = {
            "id": done.pc.id,
            "agent_id": done.agent_id,
            "hostname": done.pc.hostname,
            "address": done.pc.address,
            "room": done.room,
            "seat": done.pc.seat,
            "spare": done.pc.spare,
            "heartbeat_seconds": pcs.HEARTBEAT_SECONDS,
            "pending": done.pending,
        }
        if done.pending:  # the PC's seat and address stay with its confirmed run
            answer |= {"address": request.remote, "room": None, "seat": None, "spare": False}
    return web.json_response(answer, status=201)


async def heartbeat(request: web.Request) -> web.Response:
    """POST /api/v1/lab/pcs/{id}/heartbeat: the agent still runs; its seat now."""
    await require_lab_token(request)
    beat = seatmap.parse(
        seatmap.Heartbeat, await _json_body(request, MAX_BODY, "heartbeat"), "heartbeat"
    )
    pc_id = _pc_id(request.match_info["id"])
    async with request.app[SESSIONMAKER].begin() as session:
        done = await pcs.heartbeat(session, pc_id, beat.agent_id, utcnow(), request.remote)
        pc = done.pc
        room = await session.get(Room, pc.room_id) if pc.room_id is not None else None
        answer = {
            "id": pc.id,
            "room": room.code if room else None,
            "seat": pc.seat,
            "spare": pc.spare,
            "pending": done.pending,
        }
        if done.pending:
            answer |= {"room": None, "seat": None, "spare": False}
    return web.json_response(answer)


def _pc_id(raw: str) -> int:
    if not raw.isdigit() or len(raw) > 12:
        raise InvalidInput(f"pc id: must be a whole number, not {raw!r}")
    return int(raw)


# --- the candidate page -----------------------------------------------------------------


async def whoami(request: web.Request) -> web.Response:
    """GET /api/v1/lab/seat: the seat of the PC this request comes from (by its address),
    for the candidate page, and whether an exam is open in its room (for the kiosk);
    ``{"seat": null}`` when this PC is not mapped, with ``error`` saying why when a
    mapped PC's registration from this address awaits confirmation."""
    async with request.app[SESSIONMAKER]() as session:
        pc = await pcs.pc_at(session, request.remote)
        room = await session.get(Room, pc.room_id) if pc and pc.room_id else None
        exam_open = room is not None and await pcs.exam_open(session, room.id)
        held = await moves.pending_at(session, request.remote) if pc is None else None
    answer: dict[str, Any] = {
        "seat": None,
        "spare": False,
        "room": None,
        "pc": None,
        "exam_open": False,
    }
    if pc is not None and room is not None:
        answer = {
            "seat": pc.seat,
            "spare": pc.spare,
            "room": room.code,
            "pc": pc.hostname,
            "exam_open": exam_open,
        }
    elif held is not None:
        answer["error"] = moves.waiting_note(held)
    return web.json_response(answer, headers={"Cache-Control": "no-store"})


# --- the lab administrator --------------------------------------------------------------


async def room_pcs(request: web.Request) -> web.Response:
    """GET /api/v1/lab/rooms/{code}/pcs: every PC of the room, online or not."""
    await require(request, Action.MANAGE_SITE)
    async with request.app[SESSIONMAKER]() as session:
        room = await pcs.room_by_code(session, request.match_info["code"])
        view = await pcs.room_view(session, room, utcnow())
    return web.json_response(view)


async def list_pcs(request: web.Request) -> web.Response:
    """GET /api/v1/lab/pcs: every registered PC, in a room or not."""
    await require(request, Action.MANAGE_SITE)
    async with request.app[SESSIONMAKER]() as session:
        return web.json_response({"pcs": await pcs.all_pcs(session, utcnow())})


async def forget_pc(request: web.Request) -> web.Response:
    """DELETE /api/v1/lab/pcs/{hostname}: a PC taken out of the lab."""
    await require(request, Action.MANAGE_SITE)
    async with request.app[SESSIONMAKER].begin() as session:
        await pcs.forget(session, request.match_info["hostname"])
    return web.json_response({"removed": request.match_info["hostname"]})


async def map_seats(request: web.Request) -> web.Response:
    """POST /api/v1/lab/rooms/{code}/seats/{how}: map PCs to seats, ``how`` being ``hand``
    (``{"pcs": [{"hostname", "seat"|"spare"}]}``, merged into the map), ``rule``
    (``{"first": "10.0.0.2", "seats": 30, "spares": 1}``, replacing it) or ``accept``
    (the seats the agents asked for: each that conflicts with no other is applied, the
    others are listed in ``refused`` with why)."""
    await require(request, Action.MANAGE_SITE)
    how = request.match_info["how"]
    data = await _json_body(request, MAX_SEAT_FILE, how) if how != "accept" else None
    refused: dict[str, str] = {}
    async with request.app[SESSIONMAKER].begin() as session:
        room = await pcs.room_by_code(session, request.match_info["code"])
        if how == "hand":
            hand = seatmap.parse(seatmap.HandMap, data, "hand")
            places = {}
            for p in hand.pcs:
                if p.hostname in places:
                    raise InvalidInput(f"hand.pcs: {p.hostname} is listed twice")
                places[p.hostname] = seatmap.Place(p.seat, p.spare)
            count = await pcs.apply_places(session, room, places, replace=False)
        elif how == "rule":
            count = await pcs.apply_rule(
                session, room, seatmap.parse(seatmap.SeatRule, data, "rule")
            )
        else:
            count, refused = await pcs.accept_requested(session, room)
        view = await pcs.room_view(session, room, utcnow())
    left = [{"hostname": name, "reason": why} for name, why in sorted(refused.items())]
    return web.json_response(
        view | {"mapped": count} | ({"refused": left} if how == "accept" else {})
    )


async def export_seats(request: web.Request) -> web.Response:
    """GET /api/v1/lab/rooms/{code}/seats: the room's seat map as a file."""
    await require(request, Action.MANAGE_SITE)
    async with request.app[SESSIONMAKER]() as session:
        room = await pcs.room_by_code(session, request.match_info["code"])
        document = await pcs.export_file(session, room)
    return web.json_response(
        document.model_dump(),
        headers={"Content-Disposition": f'attachment; filename="seats-{room.code}.json"'},
        dumps=lambda obj: json.dumps(obj, ensure_ascii=False, indent=1),
    )


async def import_seats(request: web.Request) -> web.Response:
    """PUT /api/v1/lab/rooms/{code}/seats: replace the room's seat map by a file."""
    await require(request, Action.MANAGE_SITE)
    data = await _json_body(request, MAX_SEAT_FILE, "seat file")
    seat_file = seatmap.parse(seatmap.SeatFile, data, "seat file")
    async with request.app[SESSIONMAKER].begin() as session:
        room = await pcs.room_by_code(session, request.match_info["code"])
        count = await pcs.import_file(session, room, seat_file)
        view = await pcs.room_view(session, room, utcnow())
    return web.json_response(view | {"mapped": count})


async def seats_page(request: web.Request, code: str | None = None, **notes: str) -> web.Response:
    """GET /lab/seats[?room=CODE]: the rooms' PCs and seats for the lab administrator."""
    principal, _ = await require_page(request, Action.MANAGE_SITE)
    async with request.app[SESSIONMAKER]() as session:
        rooms = list(await session.scalars(select(Room).order_by(Room.code)))
        code = code or request.query.get("room") or (rooms[0].code if rooms else None)
        room = next((r for r in rooms if r.code == code), None)
        view = await pcs.room_view(session, room, utcnow()) if room else None
        others = list(await session.scalars(select(LabPc.hostname).where(LabPc.room_id.is_(None))))
    return render(
        request,
        "lab_seats.html",
        page_context(principal, rooms=rooms, room=room, view=view, unplaced=others, **notes),
        status=400 if "error" in notes else 200,
    )


async def seats_form(request: web.Request) -> web.Response:
    """POST /lab/seats/{code}/{how}: the page's forms (place one PC, rule, accept, import);
    the page again, saying what was saved or why nothing was."""
    await require_page(request, Action.MANAGE_SITE)
    code, how = request.match_info["code"], request.match_info["how"]
    form = await read_form(request)
    note = ""
    try:
        async with request.app[SESSIONMAKER].begin() as session:
            room = await pcs.room_by_code(session, code)
            if how == "place":
                name = _field(form, "hostname")
                raw = _field(form, "seat")
                place = _place(raw)
                count = await pcs.apply_places(session, room, {name: place}, replace=False)
            elif how == "rule":
                rule = seatmap.SeatRule(
                    first=_field(form, "first"),
                    seats=_whole(_field(form, "seats") or str(room.seat_count), "seats"),
                    spares=_whole(_field(form, "spares") or "0", "spares", low=0),
                )
                count = await pcs.apply_rule(session, room, rule)
            elif how == "accept":
                count, refused = await pcs.accept_requested(session, room)
                note = "".join(f"; {n} left where it was: {why}" for n, why in refused.items())
            elif how in ("confirm", "reject"):
                name = _field(form, "hostname")
                pc = await (moves.confirm if how == "confirm" else moves.reject)(session, name)
                count = await _count(session, room)
                note = f"; PC {name} is now at {pc.address}" if how == "confirm" else ""
                note = note or f"; the registration of PC {name} from a new address was rejected"
            else:
                upload = form.get("file")
                if not isinstance(upload, FileField):
                    raise InvalidInput("file: choose a seat file to import")
                raw_file = upload.file.read(MAX_SEAT_FILE + 1)
                if len(raw_file) > MAX_SEAT_FILE:
                    raise InvalidInput(f"file: at most {MAX_SEAT_FILE} bytes")
                try:
                    data = json.loads(raw_file.decode("utf-8"))
                except (UnicodeDecodeError, ValueError, RecursionError) as exc:
                    raise InvalidInput(f"file: not a seat file ({exc})") from None
                seat_file = seatmap.parse(seatmap.SeatFile, data, "seat file")
                count = await pcs.import_file(session, room, seat_file)
    except DomainError as error:
        return await seats_page(request, code, error=error.message)
    return await seats_page(request, code, done=f"{count} PCs in room {code}{note}")


async def _count(session: AsyncSession, room: Room) -> int:
    return len((await pcs.room_view(session, room, utcnow()))["pcs"])


def _field(form: Any, name: str) -> str:
    value = form.get(name, "")
    return value.strip()[:255] if isinstance(value, str) else ""


def _place(raw: str) -> seatmap.Place:
    """A seat number, "spare", or empty (out of the room... as a spare-less PC)."""
    if raw.lower() in ("spare", "备用"):
        return seatmap.Place(None, spare=True)
    if not raw:
        return seatmap.Place(None)
    return seatmap.Place(_whole(raw, "seat"))


def _whole(raw: str, name: str, low: int = 1) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInput(f"{name}: must be a whole number, not {raw!r}") from None
    if not low <= value <= seatmap.MAX_SEAT:
        raise InvalidInput(f"{name}: must be between {low} and {seatmap.MAX_SEAT}")
    return value


# --- the console ------------------------------------------------------------------------


async def session_pcs(request: web.Request) -> web.Response:
    """GET /api/staff/sessions/{code}/pcs: the PCs of the session's room, for its console
    (before anyone logs in: which PCs are up, at which seat, what failed)."""
    _, _, exam = await require_session(request, Action.VIEW_SESSION, request.match_info["code"])
    async with request.app[SESSIONMAKER]() as session:
        room = await session.get(Room, exam.room_id)
        assert room is not None
        view = await pcs.room_view(session, room, utcnow())
    return web.json_response(view, headers={"Cache-Control": "no-store"})


def setup(app: web.Application) -> None:
    """Register the lab PC routes (called once by create_app)."""
    app.router.add_post("/api/v1/lab/pcs", register)
    app.router.add_get("/api/v1/lab/pcs", list_pcs)
    app.router.add_post("/api/v1/lab/pcs/{id}/heartbeat", heartbeat)
    app.router.add_delete("/api/v1/lab/pcs/{hostname}", forget_pc)
    app.router.add_get("/api/v1/lab/seat", whoami)
    app.router.add_get("/api/v1/lab/rooms/{code}/pcs", room_pcs)
    app.router.add_get("/api/v1/lab/rooms/{code}/seats", export_seats)
    app.router.add_put("/api/v1/lab/rooms/{code}/seats", import_seats)
    app.router.add_post("/api/v1/lab/rooms/{code}/seats/{how:hand|rule|accept}", map_seats)
    app.router.add_get("/api/staff/sessions/{code}/pcs", session_pcs)
    app.router.add_get("/lab/seats", seats_page)
    app.router.add_post(
        "/lab/seats/{code}/{how:place|rule|accept|import|confirm|reject}", seats_form
    )
