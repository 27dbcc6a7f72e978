"""`cbt-server lab list|export|import|forget|confirm|reject`: the lab's PCs, the seat
map of a room, and PCs registered from a new address, on the server itself (the same
services as the page /lab/seats)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server.cli.core import CliError, in_db, list_from_db, listing_command


@click.group("lab")
def lab_group() -> None:
    """Lab PCs and their seats (docs/lab-readiness.md)."""


@listing_command(lab_group)
def lab_list(ctx: click.Context, as_json: bool) -> None:
    """List every registered PC: room, seat, address, online, failed checks."""
    from cbt_server.db.types import utcnow
    from cbt_server.lab.pcs import all_pcs

    async def rows(session: AsyncSession) -> list[dict[str, Any]]:
        return await all_pcs(session, utcnow())

    def line(row: dict[str, Any]) -> str:
        where = f"{row['room']} seat {row['seat']}" if row["seat"] else row["room"] or "-"
        if row["spare"]:
            where = f"{row['room']} spare"
        state = "online" if row["online"] else "offline"
        failing = ",".join(row["failing"]) or "-"
        line = f"{row['hostname']}\t{where}\t{row['address'] or '-'}\t{state}\t{failing}"
        if row["pending_address"]:
            line += f"\tnew address {row['pending_address']} awaits confirmation"
        return line

    list_from_db(ctx, as_json, rows, line)


@lab_group.command("export")
@click.option("--room", required=True, help="Room code.")
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), help="File (default stdout)."
)
@click.pass_context
def lab_export(ctx: click.Context, room: str, out: Path | None) -> None:
    """Write the room's seat map as a file (format cbt-seat-map)."""
    from cbt_server.lab.pcs import export_file, room_by_code

    async def work(session: AsyncSession) -> dict[str, Any]:
        return (await export_file(session, await room_by_code(session, room))).model_dump()

    text = json.dumps(in_db(ctx, work), ensure_ascii=False, indent=1) + "\n"
    if out is None:
        click.echo(text, nl=False)
        return
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as error:
        raise CliError(f"cannot write {out}: {error}") from None
    click.echo(f"seat map of room {room} written to {out}", err=True)


@lab_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
def lab_import(ctx: click.Context, file: Path) -> None:
    """Replace a room's seat map by FILE (the room named in it); all or nothing."""
    from cbt_server.lab import seatmap
    from cbt_server.lab.pcs import import_file, room_by_code

    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise CliError(f"{file}: not a seat file ({error})") from None

    async def work(session: AsyncSession) -> tuple[str, int]:
        seat_file = seatmap.parse(seatmap.SeatFile, data, "seat file")
        room = await room_by_code(session, seat_file.room)
        return room.code, await import_file(session, room, seat_file)

    code, count = in_db(ctx, work)
    click.echo(f"room {code}: {count} PCs mapped")


@lab_group.command("forget")
@click.argument("hostname")
@click.pass_context
def lab_forget(ctx: click.Context, hostname: str) -> None:
    """Remove the PC HOSTNAME (taken out of the lab, or re-imaged under a new name)."""
    from cbt_server.lab.pcs import forget

    in_db(ctx, lambda session: forget(session, hostname))
    click.echo(f"PC {hostname!r} removed")


@lab_group.command("confirm")
@click.argument("hostname")
@click.pass_context
def lab_confirm(ctx: click.Context, hostname: str) -> None:
    """PC HOSTNAME did move: its registration from a new address takes its seat."""
    from cbt_server.lab.moves import confirm

    async def work(session: AsyncSession) -> str:
        return str((await confirm(session, hostname)).address)

    click.echo(f"PC {hostname!r} is now at {in_db(ctx, work)}")


@lab_group.command("reject")
@click.argument("hostname")
@click.pass_context
def lab_reject(ctx: click.Context, hostname: str) -> None:
    """Not PC HOSTNAME: drop its registration from a new address (it keeps its own)."""
    from cbt_server.lab.moves import reject

    async def work(session: AsyncSession) -> str:
        return str((await reject(session, hostname)).address)

    click.echo(f"PC {hostname!r} stays at {in_db(ctx, work)}; the new address was rejected")
