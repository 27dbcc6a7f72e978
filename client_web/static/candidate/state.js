// The page's one state: the server's last word (the latest `state` and what followed)
// plus what the candidate did since and the server has not acknowledged (the outbox).

import { Countdown } from './countdown.js';

export const FINISHED = new Set(['submitted', 'graded', 'absent']);
export const IN_EXAM = new Set(['answering', 'paused']);

export const app = {
  seat: null,
  creds: null, // { ticket, idNumber } of the login in progress
  conn: null,
  outbox: null,
  view: null, // the ExamView
  loggedIn: false, // a state arrived on the current connection
  everLoggedIn: false, // a state arrived since this login
  session: null,
  candidate: null,
  paper: null,
  acked: new Map(), // item_id -> response the server committed
  ackedSeq: new Map(), // item_id -> seq of that response (ignore late, older acks)
  ackedFlags: new Set(),
  current: 0,
  paused: false,
  pauseScope: null,
  pauseReason: '',
  countdown: new Countdown(),
  warned: new Set(), // the time warnings given (their thresholds, ms)
  serverOffset: 0, // server time minus local time, ms (from the last `state`)
  timeUp: false,
  textSize: 1,
  phase: 'login',
  submitted: null,
  result: null,
  checks: new Map(), // practice: item_id -> the server's `checked` (the item is locked)
  review: null, // practice: the items of `reviewed`, once asked for after hand-in
  sent: new Map(), // seq -> {generation, at}: sent on this connection, not yet acked
  holdUntil: 0, // after a "not now" refusal, nothing is sent before this (backoff)
  retryDelay: 0,
  returnTimer: null, // after the session ended: the timer back to the login screen
  returnToLogin: null, // set by app.js: starts that timer (once)
};

// Forget everything of an earlier login (a new one is starting).
export function resetExam() {
  Object.assign(app, {
    loggedIn: false,
    everLoggedIn: false,
    session: null,
    candidate: null,
    paper: null,
    acked: new Map(),
    ackedSeq: new Map(),
    ackedFlags: new Set(),
    current: 0,
    paused: false,
    submitted: null,
    result: null,
    checks: new Map(),
    review: null,
    warned: new Set(),
    timeUp: false,
    countdown: new Countdown(),
    holdUntil: 0,
    retryDelay: 0,
  });
  app.sent.clear();
}

export function responseOf(itemId) {
  let response = app.acked.get(itemId) || [];
  for (const message of app.outbox.items) {
    if (message.type === 'answer' && message.item_id === itemId) response = message.response;
  }
  return response;
}

export function flaggedOf(itemId) {
  let flagged = app.ackedFlags.has(itemId);
  for (const message of app.outbox.items) {
    if (message.type === 'flag' && message.item_id === itemId) flagged = message.flagged;
  }
  return flagged;
}

export function submitRequested() {
  return app.outbox !== null && app.outbox.has('submit');
}

export function canAnswer() {
  return (
    app.phase === 'exam' &&
    app.paper !== null &&
    !app.paused &&
    !app.timeUp &&
    !submitRequested() &&
    app.candidate !== null &&
    app.candidate.state === 'answering'
  );
}

export function currentItem() {
  return app.paper.items[app.current];
}
