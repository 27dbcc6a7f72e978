"""A room's seat plan: how its numbered seats stand, for the console to draw them so.

Seats are numbered from the front left, row by row (seat 1 … cols in the first row). A
room may carry its plan (`session create --rows R --cols C`); one that does not gets a
plan derived from its seat count, wider than deep as a console on a 4:3 or 16:9 screen
is (40 seats: 5 rows of 8).
"""

from __future__ import annotations

import math

from cbt_server.errors import InvalidInput

MAX_SIDE = 50


def derived_plan(seat_count: int) -> tuple[int, int]:
    """(rows, cols) for a room of `seat_count` seats without a plan of its own."""
    seats = max(1, seat_count)
    cols = max(1, min(seats, math.ceil(math.sqrt(seats * 1.6))))
    return math.ceil(seats / cols), cols


def seat_plan(seat_count: int, rows: int | None, cols: int | None) -> tuple[int, int]:
    """The room's (rows, cols): its own plan when set, else the derived one."""
    if rows and cols:
        return rows, cols
    return derived_plan(seat_count)


def check_plan(seat_count: int, rows: int | None, cols: int | None) -> tuple[int, int] | None:
    """A plan an administrator gives: both or neither, each 1..50, room for every seat."""
    if rows is None and cols is None:
        return None
    if rows is None or cols is None:
        raise InvalidInput("give both --rows and --cols (the room's seat plan), or neither")
    if not (1 <= rows <= MAX_SIDE and 1 <= cols <= MAX_SIDE):
        raise InvalidInput(f"rows and cols must be 1..{MAX_SIDE}, not {rows}×{cols}")
    if rows * cols < seat_count:
        raise InvalidInput(f"{rows}×{cols} places cannot hold the room's {seat_count} seats")
    return rows, cols
