// The exam PC's part: the seat this PC is mapped to (asked of the server, which knows
// the PC by its address), and the exam window kept to the exam: focus lost or full
// screen left is reported to the proctor (never blocking the candidate), and the context
// menu, copy, paste and printing are off while a paper is on screen.

import { app } from './state.js';

const SEAT_URL = '/api/v1/lab/seat';
const pending = []; // focus reports not yet sent (no connection at the time)
let blurred = false;
let wasFullscreen = false;

// The seat the server maps this PC to, or null (not a mapped lab PC, or no answer).
export async function serverSeat() {
  try {
    const response = await fetch(SEAT_URL, { credentials: 'same-origin', cache: 'no-store' });
    if (!response.ok) return null;
    const answer = await response.json();
    return Number.isInteger(answer.seat) ? answer.seat : null;
  } catch {
    return null;
  }
}

function inExam() {
  return app.phase === 'exam' || app.phase === 'waiting';
}

function report(event) {
  pending.push({ type: 'focus', event, at: new Date().toISOString() });
  document.body.dataset.focusReports = String(Number(document.body.dataset.focusReports || 0) + 1);
  flushFocus();
}

// Send what was kept back, once a logged-in connection is there.
export function flushFocus() {
  while (pending.length > 0 && app.loggedIn && app.conn && app.conn.isOpen) {
    if (!app.conn.send(pending[0])) return;
    pending.shift();
  }
}

// Ask for full screen (from a click: browsers allow it only then); in kiosk mode the
// window is full screen already and this does nothing.
export function enterFullscreen() {
  const root = document.documentElement;
  if (document.fullscreenElement || !root.requestFullscreen) return;
  root.requestFullscreen().catch(() => {});
}

function blockInExam(event) {
  if (inExam()) event.preventDefault();
}

function onKeydown(event) {
  const key = event.key.toLowerCase();
  if ((event.ctrlKey || event.metaKey) && (key === 'p' || key === 's') && inExam()) {
    event.preventDefault(); // print, save page
  }
}

export function watch() {
  window.addEventListener('blur', () => {
    if (inExam() && !blurred) {
      blurred = true;
      report('blur');
    }
  });
  window.addEventListener('focus', () => {
    blurred = false;
  });
  document.addEventListener('fullscreenchange', () => {
    const now = Boolean(document.fullscreenElement);
    if (wasFullscreen && !now && inExam()) report('fullscreen_exit');
    wasFullscreen = now;
  });
  for (const name of ['contextmenu', 'copy', 'cut', 'paste', 'dragstart', 'drop']) {
    document.addEventListener(name, blockInExam);
  }
  document.addEventListener('keydown', onKeydown, true);
  setInterval(flushFocus, 1000);
}
