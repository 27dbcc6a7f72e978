// Pure helpers of the seat grid: what a seat shows and which actions it offers.
// No DOM here, so the rules stay readable in one place.

export const VIEW_LABELS = {
  registered: "未登录",
  waiting: "等待开考",
  answering: "答题中",
  offline: "离线",
  paused: "已暂停",
  submitted: "已交卷",
  absent: "缺考",
};

const IN_EXAM = new Set(["answering", "paused"]);

/** The displayed state of a seat: not logged in / waiting / answering / offline / paused /
 *  submitted / absent. A paused seat stays "paused" even if its PC dropped off. */
export function seatView(seat, roomPaused) {
  switch (seat.state) {
    case "registered":
      return "registered";
    case "checked_in":
      return seat.online ? "waiting" : "offline";
    case "answering":
      if (roomPaused || seat.paused) return "paused";
      return seat.online ? "answering" : "offline";
    case "paused":
      return "paused";
    case "submitted":
    case "graded":
      return "submitted";
    case "absent":
      return "absent";
    default:
      return "registered";
  }
}

/** Whether the seat's clock is running. It runs on while the PC is offline, and for a
 *  candidate who has not logged in yet: their time counts from the session start. */
export function clockRuns(seat, roomPaused, sessionState) {
  return (
    sessionState === "started" &&
    ["registered", "checked_in", "answering"].includes(seat.state) &&
    !seat.paused &&
    !roomPaused &&
    seat.remaining_ms !== null
  );
}

/** Milliseconds a seat has been offline at `serverNow` (0 when online or never seen). */
export function offlineFor(seat, serverNow) {
  if (seat.online || !seat.last_seen) return 0;
  if (!(seat.state === "checked_in" || IN_EXAM.has(seat.state))) return 0;
  return Math.max(0, serverNow - Date.parse(seat.last_seen));
}

export function formatRemaining(ms) {
  if (ms === null || ms === undefined) return "";
  const total = Math.max(0, Math.ceil(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const mm = String(m).padStart(2, "0");
  const ss = String(s).padStart(2, "0");
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

/** The per-seat actions, in button order (`room`: the room's last `room` message). A
 *  sitting with a late-admission limit lets a proctor admit someone not logged in yet. */
export function seatActions(seat, room = null) {
  switch (seat.state) {
    case "registered":
      if (room && room.state === "started" && room.late_minutes != null && !seat.late_admitted) {
        return ["admit_late", "mark_absent"];
      }
      return ["mark_absent"];
    case "checked_in":
      return seat.identity_checked
        ? ["unlock", "mark_absent"]
        : ["verify_identity", "unlock", "mark_absent"];
    case "answering":
      return ["pause", "extra_time", "unlock", "force_submit"];
    case "paused":
      return ["resume", "extra_time", "unlock", "force_submit"];
    default:
      return [];
  }
}

export function countViews(seats, roomPaused) {
  const counts = { registered: 0, waiting: 0, answering: 0, offline: 0, paused: 0, submitted: 0, absent: 0 };
  for (const seat of seats) counts[seatView(seat, roomPaused)] += 1;
  return counts;
}
