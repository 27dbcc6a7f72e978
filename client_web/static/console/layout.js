// The seat grid laid out as the room stands: `rows` × `cols` from the room's settings
// (the `room` message; seat 1 front left, numbered row by row). Pure placement here,
// applied to the grid and cards by `placeSeats`.

/** (row, column), 1-based, of a seat in a plan of `cols` columns; null if outside. */
export function place(seatNumber, rows, cols) {
  if (!(rows > 0 && cols > 0) || seatNumber < 1 || seatNumber > rows * cols) return null;
  return { row: Math.ceil(seatNumber / cols), col: ((seatNumber - 1) % cols) + 1 };
}

/** Apply the room's plan to the grid and each card (CSSOM, which the CSP allows). */
export function placeSeats(grid, room, cards) {
  const rows = room && room.rows;
  const cols = room && room.cols;
  grid.classList.toggle("planned", Boolean(rows && cols));
  grid.style.gridTemplateColumns = cols ? `repeat(${cols}, minmax(0, 1fr))` : "";
  grid.dataset.rows = rows ? String(rows) : "";
  grid.dataset.cols = cols ? String(cols) : "";
  for (const card of cards) {
    const spot = place(Number(card.dataset.seat), rows, cols);
    card.style.gridRow = spot ? String(spot.row) : "";
    card.style.gridColumn = spot ? String(spot.col) : "";
  }
}
