// Actions on several selected seats at once (pause, extra time): which selected seats
// each applies to, and sending them one by one so that every refusal is named.

export const BULK = {
  pause: {
    label: "暂停所选",
    eligible: (seat) => seat.state === "answering" && !seat.paused,
  },
  extra_time: {
    label: "延时所选",
    eligible: (seat) => seat.state === "answering" || seat.state === "paused",
  },
};

/** The selected seats an action applies to, and those it skips, by seat number. */
export function split(action, seats) {
  const eligible = BULK[action].eligible;
  const sorted = [...seats].sort((a, b) => a.seat - b.seat);
  return { apply: sorted.filter(eligible), skip: sorted.filter((s) => !eligible(s)) };
}

/** Send `commandOf(seat)` for each seat in turn; the seats done and the refusals. */
export async function runBulk(send, seats, commandOf) {
  const done = [];
  const failed = [];
  for (const seat of seats) {
    try {
      await send(commandOf(seat));
      done.push(seat);
    } catch (error) {
      failed.push({ seat, error });
    }
  }
  return { done, failed };
}

export function seatList(seats) {
  return seats.map((s) => `${s.seat}`).join("、") + " 号";
}
