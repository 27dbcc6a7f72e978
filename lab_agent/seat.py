"""``register``: tell the server about this PC, then keep a heartbeat while it runs.

The server learns the PC's name, MACs, OS, screen and (when ``--check`` ran) which
readiness checks failed; it sees the address the PC comes from itself. The lab
administrator maps PCs to seats on the server (docs/lab-readiness.md); ``--room`` and
``--seat`` only ask for a seat, which the administrator accepts or not.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

from . import __version__, nics, screen, sysinfo
from .link import LabClient, RefusedError, ServerError

RETRY_SECONDS = 5.0


@dataclass
class Registered:
    pc_id: int
    agent_id: str
    heartbeat_seconds: float
    pending: str | None = None
    """Why the server holds this registration for the lab administrator to confirm."""


def registration(
    *,
    hostname: str,
    macs: list[str],
    address: str | None,
    os_name: str,
    screen_size: str,
    failing: list[str] | None,
    room: str | None,
    seat: int | None,
) -> dict[str, Any]:
    """The body of ``POST /api/v1/lab/pcs`` (``failing`` None: checks not run)."""
    return {
        "hostname": hostname,
        "macs": macs,
        "addresses": [address] if address else [],
        "os": os_name[:256],
        "screen": screen_size[:32],
        "failing": list(failing or []),
        "measured": failing is not None,
        "room": room,
        "seat": seat,
        "agent_version": __version__,
    }


def this_pc(
    client: LabClient, failing: list[str] | None, room: str | None, seat: int | None
) -> dict[str, Any]:
    """The registration of the PC the agent runs on."""
    macs = nics.mac_addresses()
    if not macs:
        raise ServerError("no MAC address found on this PC: cannot tell it apart from others")
    return registration(
        hostname=sysinfo.hostname(),
        macs=macs,
        address=nics.address_towards(client.host, client.port or 80),
        os_name=sysinfo.os_name(),
        screen_size=screen.screen_resolution(),
        failing=failing,
        room=room,
        seat=seat,
    )


def register(client: LabClient, body: dict[str, Any]) -> Registered:
    answer = client.register(body)
    if not isinstance(answer, dict) or not isinstance(answer.get("id"), int):
        raise ServerError(f"{client.url('pcs')} did not answer like a CBT server: {answer!r}")
    pending = answer.get("pending")
    return Registered(
        answer["id"],
        str(answer["agent_id"]),
        float(answer.get("heartbeat_seconds", 15)),
        pending if isinstance(pending, str) and pending else None,
    )


def keep_alive(
    client: LabClient,
    body: dict[str, Any],
    err: TextIO,
    *,
    beats: int | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Register, then beat until interrupted (or ``beats`` beats); the exit code.

    A server that forgot the PC (``unknown_pc``) is answered by registering again; a
    newer run of the agent on the same PC (``stale_agent``) ends this one with code 1;
    an unreachable server is retried every few seconds.
    """
    done = register(client, body)
    err.write(
        f"registered as PC {done.pc_id} ({body['hostname']}); heartbeat every "
        f"{done.heartbeat_seconds:g} s\n"
    )
    if done.pending:
        err.write(f"waiting: {done.pending}\n")
    count = 0
    last: object = done.pending
    while beats is None or count < beats:
        sleep(done.heartbeat_seconds)
        count += 1
        try:
            answer = client.heartbeat(done.pc_id, done.agent_id)
        except RefusedError as exc:
            if exc.code == "unknown_pc":
                err.write("the server forgot this PC: registering again\n")
                done = register(client, body)
                continue
            err.write(f"error: {exc}\n")
            return 1
        except ServerError as exc:
            err.write(f"heartbeat failed, retrying: {exc}\n")
            client.close()
            continue
        place = (answer.get("room"), answer.get("seat")) if isinstance(answer, dict) else None
        held = answer.get("pending") if isinstance(answer, dict) else None
        if isinstance(held, str) and held:
            if last != held:
                last = held
                err.write(f"waiting: {held}\n")
            continue
        if place is not None and place != last:
            last = place
            where = f"seat {place[1]} of room {place[0]}" if place[1] else f"room {place[0]}"
            err.write(f"this PC is {where if place[0] else 'in no room yet'}\n")
    return 0
