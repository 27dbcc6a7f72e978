// Sending to the server: the hello, and every unacknowledged message in seq order.

import { KEYS, local } from './storage.js';
import { app } from './state.js';

export const PROTOCOL = 'cbt.v1';
const RESEND_AFTER_MS = 8000;

export function wsUrl() {
  const scheme = window.location.protocol === 'https:' ? 'wss://' : 'ws://';
  return scheme + window.location.host + document.body.dataset.wsPath;
}

export function resumeInfo() {
  return local.get(KEYS.resume(app.creds.ticket), {}) || {};
}

export function saveResume(changes) {
  local.set(KEYS.resume(app.creds.ticket), { ...resumeInfo(), ...changes });
}

export function sayHello() {
  app.loggedIn = false;
  app.sent.clear();
  const token = resumeInfo().token;
  if (app.creds.practiceCode) {
    app.conn.send({
      type: 'practice_hello',
      protocol: PROTOCOL,
      code: app.creds.practiceCode,
      seat: app.seat,
      resume_token: typeof token === 'string' ? token : null,
    });
    return;
  }
  app.conn.send({
    type: 'hello',
    protocol: PROTOCOL,
    ticket: app.creds.ticket,
    id_number: app.creds.idNumber,
    seat: app.seat,
    resume_token: typeof token === 'string' ? token : null,
  });
}

// Send every unacknowledged message not yet sent on this connection, in seq order.
export function flush() {
  if (!app.loggedIn || !app.conn || !app.conn.isOpen || app.paused) return;
  if (performance.now() < app.holdUntil) return;
  const generation = app.conn.generation;
  for (const message of app.outbox.items) {
    const sent = app.sent.get(message.seq);
    if (sent && sent.generation === generation) continue;
    if (!app.conn.send(message)) return;
    app.sent.set(message.seq, { generation, at: performance.now() });
  }
}

// Acks that never came (server busy, a frame lost to a dying link): send again, under a
// fresh number. The server skips any number up to its mark, so resending the old number
// after a later message was applied would be acknowledged without being applied.
export function resendStale() {
  const now = performance.now();
  for (const [seq, sent] of [...app.sent]) {
    if (now - sent.at > RESEND_AFTER_MS) {
      app.sent.delete(seq);
      app.outbox.renumber(seq);
    }
  }
  flush();
}
