// The room console: a live seat grid fed by /ws/proctor, and the proctor's actions.
// Text reaches the page only through textContent; no inline script or style is used.
import { ACTIONS, commandFor, endingList } from "./actions.js";
import { showMessage } from "./banner.js";
import { runBulk, seatList } from "./bulk.js";
import { ProctorConnection } from "./connection.js";
import { dialogPhoto, renderIdentity } from "./identity.js";
import { placeSeats } from "./layout.js";
import { renderFocus, renderPc, watchPcs } from "./pcs.js";
import { Selection } from "./selection.js";
import {
  VIEW_LABELS,
  clockRuns,
  countViews,
  formatRemaining,
  offlineFor,
  seatActions,
  seatView,
} from "./seats.js";
import { activeTab, enableTab, setupTabs } from "./tabs.js";

const root = document.getElementById("console");
const canRun = root.dataset.canRun === "true";
const identityOptions = {
  code: root.dataset.sessionCode,
  showPhotos: root.dataset.showPhotos === "true",
  canRun,
};
const offlineWarningMs = Number(root.dataset.offlineWarningMs);
const grid = document.getElementById("seats");
const template = document.getElementById("seat-template");

const SESSION_LABELS = { scheduled: "未开始", checkin: "签到中", started: "考试中", ended: "已结束" };

const state = {
  room: null, // the last `room` message, without candidates
  seats: new Map(), // candidate_id -> SeatView
  received: new Map(), // candidate_id -> performance.now() when its figures arrived
  clockOffset: 0, // server time minus local time, ms
  cards: new Map(), // candidate_id -> element
  chartShownAt: 0,
  selected: new Set(), // candidate_ids picked for a bulk action
};

function serverNow() {
  return Date.now() + state.clockOffset;
}

function noteServerTime(iso) {
  state.clockOffset = Date.parse(iso) - Date.now();
}

const ALARM_LABELS = { disk_full: "服务器磁盘已满 Disk full" };

// Alarms come as the whole list after every `room` while any is active, and whenever
// they change: a `room` clears the box, the `alarms` after it (if any) fills it again.
function renderAlarms(alarms) {
  const box = document.getElementById("alarms");
  box.replaceChildren(
    ...alarms.map((alarm) => {
      const line = document.createElement("p");
      line.className = "alarm";
      line.dataset.code = alarm.code;
      const title = document.createElement("strong");
      title.textContent = `⚠ ${ALARM_LABELS[alarm.code] || alarm.code}`;
      const since = document.createElement("span");
      since.className = "since";
      since.textContent = `自 ${new Date(alarm.since).toLocaleTimeString("zh-CN")} 起`;
      const detail = document.createElement("span");
      detail.className = "detail";
      detail.textContent = alarm.detail;
      line.append(title, since, detail);
      return line;
    }),
  );
  box.hidden = alarms.length === 0;
}

function setLink(link, reason = "") {
  const el = document.getElementById("link");
  el.dataset.link = link;
  const labels = {
    connecting: "连接中… Connecting",
    open: "已连接 Live",
    closed: "连接断开，正在重连… Reconnecting",
    refused: `连接被拒绝 Refused${reason ? `：${reason}` : ""}`,
  };
  el.textContent = labels[link] || link;
}

// --- rendering ----------------------------------------------------------------------

function cardFor(seat) {
  let card = state.cards.get(seat.candidate_id);
  if (!card) {
    card = template.content.firstElementChild.cloneNode(true);
    card.dataset.candidateId = String(seat.candidate_id);
    state.cards.set(seat.candidate_id, card);
  }
  return card;
}

function renderActions(card, seat) {
  const box = card.querySelector(".seat-actions");
  const wanted = canRun ? seatActions(seat, state.room) : [];
  const key = wanted.join(",");
  if (box.dataset.key === key) return;
  box.dataset.key = key;
  box.replaceChildren();
  for (const action of wanted) {
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.action = action;
    button.textContent = ACTIONS[action].label;
    if (ACTIONS[action].irreversible) button.classList.add("danger");
    box.append(button);
  }
}

function renderSeat(seat) {
  const card = cardFor(seat);
  const roomPaused = state.room ? state.room.room_paused : false;
  const view = seatView(seat, roomPaused);
  card.dataset.view = view;
  card.dataset.seat = String(seat.seat);
  card.dataset.ticket = seat.ticket;
  card.querySelector(".seat-no").textContent = `${seat.seat} 号`;
  card.querySelector(".state").textContent = VIEW_LABELS[view];
  card.querySelector(".name").textContent = seat.name;
  card.title = `${seat.seat} 号 ${seat.name} ${seat.ticket}`;
  renderIdentity(card, seat, identityOptions);
  const pick = card.querySelector(".select");
  if (pick) pick.checked = state.selected.has(seat.candidate_id);
  let progress = `${seat.answered}/${seat.total} 题`;
  if (seat.score !== null && seat.score !== undefined) {
    progress += ` · ${seat.score} 分${seat.passed ? " 合格" : " 不合格"}`;
  }
  card.querySelector(".answered").textContent = progress;
  renderFocus(card, seat);
  renderPc(card, seat.seat);
  renderActions(card, seat);
  tickSeat(seat, card);
  return card;
}

function tickSeat(seat, card) {
  const roomPaused = state.room ? state.room.room_paused : false;
  const sessionState = state.room ? state.room.state : "scheduled";
  const remainingEl = card.querySelector(".remaining");
  if (seat.remaining_ms === null || ["submitted", "graded", "absent"].includes(seat.state)) {
    remainingEl.textContent = "";
  } else {
    let left = seat.remaining_ms;
    if (clockRuns(seat, roomPaused, sessionState)) {
      left -= performance.now() - (state.received.get(seat.candidate_id) || performance.now());
    }
    remainingEl.textContent = formatRemaining(left); // the card is narrow: no "剩余" prefix
    remainingEl.dataset.remainingMs = String(Math.max(0, Math.round(left)));
  }
  const offline = offlineFor(seat, serverNow());
  const warning = card.querySelector(".warning");
  const long = offline > offlineWarningMs;
  card.classList.toggle("offline-long", long);
  warning.hidden = !long;
  if (long) warning.textContent = `⚠ 离线 ${Math.floor(offline / 1000)} 秒`;
}

function renderCounts() {
  const roomPaused = state.room ? state.room.room_paused : false;
  const counts = countViews(state.seats.values(), roomPaused);
  for (const li of document.querySelectorAll("#counts [data-count]")) {
    li.querySelector("b").textContent = String(counts[li.dataset.count] || 0);
  }
}

function renderRoom() {
  const room = state.room;
  const badge = document.getElementById("session-state");
  badge.dataset.state = room.state;
  badge.textContent = SESSION_LABELS[room.state] || room.state;
  document.getElementById("room-paused").hidden = !room.room_paused;
  const own = document.querySelector('.sittings a[aria-current="page"] .sitting-state');
  if (own) own.textContent = badge.textContent; // this sitting's entry in the day's list
  const next = document.getElementById("next-sitting-banner");
  if (next) next.hidden = room.state !== "ended"; // offer the room's next sitting
  for (const button of document.querySelectorAll(".room-actions [data-action]")) {
    const action = button.dataset.action;
    const allowed = {
      open_checkin: room.state === "scheduled",
      start: room.state === "scheduled" || room.state === "checkin",
      pause_all: room.state === "started" && !room.room_paused,
      resume_all: room.state === "started" && room.room_paused,
      note: true,
      end_session: room.state === "started",
    }[action];
    button.disabled = !allowed;
  }
  const sorted = [...state.seats.values()].sort((a, b) => a.seat - b.seat);
  grid.replaceChildren(...sorted.map(renderSeat));
  placeSeats(grid, room, grid.children);
  selection.render();
  renderCounts();
  refreshChart();
}

function refreshChart() {
  const finished = [...state.seats.values()].some((s) => s.state === "graded");
  enableTab("chart", finished);
  if (!finished || activeTab() !== "chart") return;
  const now = performance.now();
  if (now - state.chartShownAt < 3000) return;
  state.chartShownAt = now;
  const img = document.getElementById("chart-img");
  img.src = `${img.dataset.src}?t=${Date.now()}`;
}

// --- messages -----------------------------------------------------------------------

function onMessage(message) {
  switch (message.type) {
    case "room": {
      noteServerTime(message.server_time);
      const { candidates, ...room } = message;
      state.room = room;
      state.seats.clear();
      const now = performance.now();
      for (const seat of candidates) {
        state.seats.set(seat.candidate_id, seat);
        state.received.set(seat.candidate_id, now);
      }
      for (const id of [...state.cards.keys()]) {
        if (!state.seats.has(id)) state.cards.delete(id);
      }
      renderRoom();
      renderAlarms([]);
      break;
    }
    case "alarms":
      renderAlarms(message.alarms);
      break;
    case "seat": {
      noteServerTime(message.server_time);
      const seat = message.candidate;
      const isNew = !state.seats.has(seat.candidate_id);
      state.seats.set(seat.candidate_id, seat);
      state.received.set(seat.candidate_id, performance.now());
      if (isNew) renderRoom();
      else {
        renderSeat(seat);
        renderCounts();
        refreshChart();
      }
      break;
    }
    case "error":
      showMessage(`${message.code}: ${message.message}`, true);
      break;
    case "closing":
      showMessage(message.reason, !message.reconnect);
      break;
    default:
      break;
  }
}

// --- actions ------------------------------------------------------------------------

const dialog = document.getElementById("action-dialog");
const form = document.getElementById("action-form");
let current = null; // { action, candidateId, bulk: seats or null }

function openDialog(action, seat, bulk = null) {
  const spec = ACTIONS[action];
  current = { action, candidateId: seat ? seat.candidate_id : null, bulk };
  let who = seat ? `（${seat.seat} 号 ${seat.name} ${seat.ticket}）` : "";
  if (bulk) who = `（${bulk.length} 个座位：${seatList(bulk)}）`;
  document.getElementById("dialog-title").textContent = `${spec.title}${who}`;
  dialogPhoto(action, seat, identityOptions);
  document.getElementById("dialog-text").textContent = spec.text;
  document.getElementById("dialog-warning").hidden = !spec.irreversible;
  const list = document.getElementById("dialog-list");
  const lines = action === "end_session" ? endingList(state.seats.values()) : [];
  list.replaceChildren(
    ...lines.map((line) => {
      const li = document.createElement("li");
      li.textContent = line;
      return li;
    }),
  );
  list.hidden = lines.length === 0;
  document.getElementById("minutes-field").hidden = !spec.minutes;
  document.getElementById("pc-field").hidden = action !== "unlock";
  const reasonField = document.getElementById("reason-field");
  const reason = document.getElementById("dialog-reason");
  reasonField.hidden = spec.reason === "none";
  reason.required = spec.reason === "required";
  reason.maxLength = spec.maxLength || 500;
  reason.value = "";
  document.getElementById("dialog-error").hidden = true;
  document.getElementById("dialog-confirm").disabled = false;
  dialog.dataset.action = action;
  dialog.showModal();
  if (!reasonField.hidden) reason.focus();
}

async function confirmDialog(event) {
  event.preventDefault();
  if (!current) return;
  const reason = document.getElementById("dialog-reason").value.trim();
  const minutes = Number(document.getElementById("dialog-minutes").value);
  const spec = ACTIONS[current.action];
  const errorBox = document.getElementById("dialog-error");
  if (spec.reason === "required" && !reason) {
    errorBox.textContent = "请填写原因。A reason is required.";
    errorBox.hidden = false;
    return;
  }
  if (spec.minutes && !(Number.isInteger(minutes) && minutes >= 1 && minutes <= 240)) {
    errorBox.textContent = "延长时间须为 1–240 分钟。Minutes must be 1 to 240.";
    errorBox.hidden = false;
    return;
  }
  const confirmButton = document.getElementById("dialog-confirm");
  confirmButton.disabled = true;
  if (current.bulk) {
    const { action, bulk } = current;
    const fields = { reason, minutes };
    const outcome = await runBulk(
      (command) => connection.send(command),
      bulk,
      (seat) => commandFor(action, seat.candidate_id, fields),
    );
    dialog.close();
    selection.report(spec, outcome);
    return;
  }
  try {
    const pc = document.getElementById("dialog-pc").value || null;
    await connection.send(commandFor(current.action, current.candidateId, { reason, minutes, pc }));
    dialog.close();
    showMessage(`已执行：${spec.title}`);
  } catch (error) {
    errorBox.textContent = `${error.code || "error"}: ${error.message || "操作失败"}`;
    errorBox.hidden = false;
    confirmButton.disabled = false;
  }
}

form.addEventListener("submit", confirmDialog);
document.getElementById("dialog-cancel").addEventListener("click", () => dialog.close());

const selection = new Selection({
  state,
  grid,
  canRun,
  open: (action, seats) => openDialog(action, null, seats),
});

setupTabs(() => refreshChart());

root.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-action]");
  if (!button || !canRun) return;
  const card = button.closest(".seat");
  const seat = card ? state.seats.get(Number(card.dataset.candidateId)) : null;
  openDialog(button.dataset.action, seat);
});

// --- start --------------------------------------------------------------------------

const connection = new ProctorConnection({
  path: root.dataset.wsPath,
  protocol: root.dataset.protocol,
  sessionId: Number(root.dataset.sessionId),
  onMessage,
  onLink: setLink,
});
connection.open();
watchPcs(root.dataset.sessionCode);

window.setInterval(() => {
  for (const seat of state.seats.values()) {
    const card = state.cards.get(seat.candidate_id);
    if (card) tickSeat(seat, card);
  }
}, 250);
