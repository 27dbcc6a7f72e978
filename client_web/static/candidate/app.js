// The candidate's page: login -> identity -> waiting room -> exam -> submit -> done.
//
// The server is the authority (protocol cbt.v1, docs/protocol.md): this module keeps the
// last full `state` it sent, overlays the answers not yet acknowledged (outbox.js, kept
// in localStorage), and draws the screen for the current phase.

import { Connection } from './connection.js';
import { Countdown, WARNING_MS, formatClock } from './countdown.js';
import * as dialogs from './dialogs.js';
import { byId, showScreen } from './dom.js';
import { ExamView, TEXT_SIZES } from './exam_view.js';
import { currentLanguage, hasString, preferredLanguage, setLanguage, t } from './i18n.js';
import { isTyping, keyAction } from './keyboard.js';
import { Outbox } from './outbox.js';
import { flattenPaper, nextResponse, optionsOf, sameResponse, tally } from './paper.js';
import * as ui from './screens.js';
import { KEYS, local, readSeat, session } from './storage.js';

const PROTOCOL = 'cbt.v1';
const FINISHED = new Set(['submitted', 'graded', 'absent']);
const IN_EXAM = new Set(['answering', 'paused']);
// Refusals of one message that mean "not now": keep it and send it again later.
const RETRY_LATER = new Set(['paused', 'unavailable', 'internal', 'rate_limited']);
// Refusals of a login that the page retries by itself (with backoff).
const LOGIN_RETRY = new Set(['not_started', 'unavailable', 'internal']);
const RESEND_AFTER_MS = 8000;
const ID_NUMBER = /^\d{17}[\dX]$/;

const app = {
  seat: null,
  seatInvalid: null,
  creds: null,
  conn: null,
  outbox: null,
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
  warned: false,
  timeUp: false,
  textSize: 1,
  phase: 'login',
  submitted: null,
  result: null,
  sent: new Map(), // seq -> {generation, at}: sent on this connection, not yet acked
  holdUntil: 0, // after a "not now" refusal, nothing is sent before this (backoff)
  retryDelay: 0,
};

let view = null;

// --- what the candidate sees --------------------------------------------------------

function responseOf(itemId) {
  let response = app.acked.get(itemId) || [];
  for (const message of app.outbox.items) {
    if (message.type === 'answer' && message.item_id === itemId) response = message.response;
  }
  return response;
}

function flaggedOf(itemId) {
  let flagged = app.ackedFlags.has(itemId);
  for (const message of app.outbox.items) {
    if (message.type === 'flag' && message.item_id === itemId) flagged = message.flagged;
  }
  return flagged;
}

function submitRequested() {
  return app.outbox !== null && app.outbox.has('submit');
}

function canAnswer() {
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

function currentItem() {
  return app.paper.items[app.current];
}

function render() {
  showScreen(app.phase);
  ui.renderTopbar(app.phase, app.session, app.candidate);
  if (app.phase === 'confirm') ui.renderIdentity(app.candidate, app.session);
  if (app.phase === 'waiting') ui.renderWaiting(app.session);
  if (app.phase === 'exam') renderExam();
  if (app.phase === 'done') renderDone();
  dialogs.showPause(app.paused && app.phase === 'exam', app.pauseScope, app.pauseReason);
  if (app.phase !== 'exam') dialogs.closeSubmit();
  renderStatus();
  tick();
}

function renderExam() {
  if (!app.paper) return;
  const item = currentItem();
  const id = item.item_id;
  const total = app.paper.items.length;
  view.renderItem(item, total, responseOf(id), flaggedOf(id), !canAnswer());
  const counts = tally(app.paper.items, responseOf, flaggedOf);
  view.updateSheet(app.paper, app.current, responseOf, flaggedOf, counts);
  view.setTextSize(app.textSize);
}

function renderDone() {
  let kind = 'submitted';
  if (app.candidate && app.candidate.state === 'absent') kind = 'absent';
  else if (!app.submitted && app.session && app.session.state === 'ended') kind = 'ended';
  ui.renderDone({
    kind,
    reason: app.submitted ? app.submitted.reason : null,
    at: app.submitted ? app.submitted.at : null,
    showScores: Boolean(app.session && app.session.show_scores),
    result: app.result,
  });
}

function renderStatus() {
  const conn = app.conn;
  const pending = app.outbox ? app.outbox.size : 0;
  if (!conn || conn.status === 'stopped') {
    ui.renderStatus('', 'stopped');
  } else if (conn.status !== 'open' || !app.loggedIn) {
    let key = 'status.connecting';
    if (pending > 0) key = 'status.offline_pending';
    else if (app.everLoggedIn) key = 'status.offline';
    const kind = app.everLoggedIn || pending > 0 ? 'offline' : 'connecting';
    ui.renderStatus(t(key, { n: pending }), kind);
  } else if (pending > 0) {
    ui.renderStatus(t('status.saving', { n: pending }), 'saving');
  } else {
    ui.renderStatus(t(app.phase === 'exam' ? 'status.saved' : 'status.connected'), 'saved');
  }
}

function tick() {
  if (app.phase !== 'exam' || !app.countdown.known) return;
  const remaining = app.countdown.remaining();
  const running = !app.countdown.frozen;
  let level = 'normal';
  if (remaining <= WARNING_MS) level = 'warning';
  if (app.paused) level = 'paused';
  ui.renderClock(formatClock(remaining), level);
  if (running && remaining <= WARNING_MS && remaining > 0 && !app.warned) {
    app.warned = true;
    ui.toast(t('exam.time_warning'), 15000);
  }
  const timeUp = running && remaining === 0;
  if (timeUp !== app.timeUp) {
    app.timeUp = timeUp;
    if (timeUp) ui.toast(t('exam.time_up'), 60000);
    renderExam();
  }
}

// --- talking to the server ----------------------------------------------------------

function wsUrl() {
  const scheme = window.location.protocol === 'https:' ? 'wss://' : 'ws://';
  return scheme + window.location.host + document.body.dataset.wsPath;
}

function resumeInfo() {
  return local.get(KEYS.resume(app.creds.ticket), {}) || {};
}

function saveResume(changes) {
  local.set(KEYS.resume(app.creds.ticket), { ...resumeInfo(), ...changes });
}

function startLogin(ticket, idNumber) {
  if (app.conn) app.conn.stop();
  app.creds = { ticket, idNumber };
  app.outbox = new Outbox(KEYS.outbox(ticket), local);
  Object.assign(app, {
    loggedIn: false,
    everLoggedIn: false,
    session: null,
    candidate: null,
    paper: null,
    acked: new Map(),
    ackedSeq: new Map(),
    ackedFlags: new Set(),
    paused: false,
    submitted: null,
    result: null,
    warned: false,
    timeUp: false,
    countdown: new Countdown(),
  });
  app.sent.clear();
  ui.loginBusy(true);
  app.conn = new Connection(wsUrl(), PROTOCOL, {
    onOpen: sayHello,
    onMessage: receive,
    onStatus: () => {
      if (app.conn && app.conn.status !== 'open') app.loggedIn = false;
      renderStatus();
    },
  });
  app.conn.start();
}

function sayHello() {
  app.loggedIn = false;
  app.sent.clear();
  const token = resumeInfo().token;
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
function flush() {
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

// Acks that never came (server busy, frame lost to a dying link): send again. The
// server acknowledges a seq it already has without applying it twice.
function resendStale() {
  const now = performance.now();
  for (const [seq, sent] of app.sent) {
    if (now - sent.at > RESEND_AFTER_MS) app.sent.delete(seq);
  }
  flush();
}

function queue(message) {
  app.outbox.supersede(message);
  app.outbox.add(message);
  flush();
  refresh();
}

function refresh() {
  if (app.phase === 'exam') renderExam();
  renderStatus();
}

function receive(message) {
  switch (message.type) {
    case 'state':
      onState(message);
      break;
    case 'ack':
      onAck(message.seq);
      break;
    case 'paused':
      onPaused(message);
      break;
    case 'resumed':
      onResumed(message);
      break;
    case 'time':
      onTime(message);
      break;
    case 'submitted':
      onSubmitted(message);
      break;
    case 'result':
      app.result = message;
      if (app.phase === 'done') renderDone();
      break;
    case 'error':
      onError(message);
      break;
    case 'closing':
      onClosing(message);
      break;
    case 'pong':
      if (typeof message.remaining_ms === 'number' && app.phase === 'exam' && !app.paused) {
        app.countdown.set(message.remaining_ms, app.countdown.frozen);
      }
      break;
    default:
      break;
  }
}

function confirmed() {
  return session.get(KEYS.confirmed) === app.creds.ticket;
}

function onState(state) {
  app.loggedIn = true;
  app.everLoggedIn = true;
  app.conn.healthy();
  session.set(KEYS.login, { ticket: app.creds.ticket, idNumber: app.creds.idNumber });
  ui.loginBusy(false);
  ui.loginMessage(null);
  if (state.resume_token) saveResume({ token: state.resume_token });
  app.session = state.session;
  app.candidate = state.candidate;
  app.acked = new Map(Object.entries(state.answers));
  app.ackedSeq = new Map();
  app.ackedFlags = new Set(state.flags);
  const inExam = IN_EXAM.has(state.candidate.state) && state.session.state === 'started';
  app.outbox.reconcile(
    state.acked_seq,
    (message) => wasApplied(message, state),
    (message) => inExam && message.type !== 'submit',
  );
  app.sent.clear();
  app.holdUntil = 0;
  if (state.paper && (!app.paper || app.paper.id !== state.paper.paper_id)) {
    app.paper = flattenPaper(state.paper);
    view.buildSheet(app.paper);
    const index = app.paper.indexOf.get(resumeInfo().itemId);
    app.current = index === undefined ? 0 : index;
  }
  if (state.result) app.result = state.result;
  app.paused = state.paused;
  app.pauseScope = state.pause_scope;
  if (!state.paused) app.pauseReason = '';
  app.countdown.set(state.remaining_ms, !inExam || state.paused);
  if (state.remaining_ms > WARNING_MS) app.warned = false;

  const candidateState = state.candidate.state;
  if (FINISHED.has(candidateState)) {
    app.outbox.clear();
    if (!app.submitted && candidateState !== 'absent') {
      app.submitted = { reason: state.candidate.submit_reason, at: null };
    }
    app.phase = 'done';
  } else if (state.session.state === 'ended') {
    app.phase = 'done';
  } else if (!confirmed()) {
    app.phase = 'confirm';
  } else if (inExam && app.paper) {
    app.phase = 'exam';
  } else {
    app.phase = 'waiting';
  }
  const before = document.body.dataset.screen;
  flush();
  render();
  if (before !== app.phase) focusScreen();
}

function wasApplied(message, state) {
  if (message.type === 'answer') {
    return sameResponse(state.answers[message.item_id] || [], message.response);
  }
  if (message.type === 'flag') return state.flags.includes(message.item_id) === message.flagged;
  return FINISHED.has(state.candidate.state);
}

function onAck(seq) {
  app.sent.delete(seq);
  app.retryDelay = 0;
  const message = app.outbox.take(seq);
  if (!message) return;
  if (message.type === 'answer') {
    if ((app.ackedSeq.get(message.item_id) || 0) < seq) {
      app.acked.set(message.item_id, message.response);
      app.ackedSeq.set(message.item_id, seq);
    }
  } else if (message.type === 'flag') {
    if (message.flagged) app.ackedFlags.add(message.item_id);
    else app.ackedFlags.delete(message.item_id);
  }
  refresh();
}

function onPaused(message) {
  app.paused = true;
  app.pauseScope = message.scope;
  app.pauseReason = message.reason || '';
  app.countdown.set(message.remaining_ms, true);
  if (app.candidate && message.scope === 'candidate') app.candidate.state = 'paused';
  dialogs.closeSubmit();
  render();
}

function onResumed(message) {
  app.paused = false;
  app.pauseReason = '';
  if (app.candidate && app.candidate.state === 'paused') app.candidate.state = 'answering';
  app.countdown.set(message.remaining_ms, app.phase !== 'exam');
  if (message.remaining_ms > WARNING_MS) app.warned = false;
  flush();
  render();
}

function onTime(message) {
  app.countdown.set(message.remaining_ms, app.countdown.frozen);
  if (message.remaining_ms > WARNING_MS) app.warned = false;
  if (message.extra_ms > 0) {
    ui.toast(t('exam.extra_time', { minutes: Math.round(message.extra_ms / 60000) }));
  } else {
    ui.toast(t('exam.time_changed'));
  }
  tick();
}

function onSubmitted(message) {
  app.submitted = { reason: message.reason, at: message.submitted_at };
  if (app.candidate) app.candidate.state = 'submitted';
  app.outbox.clear();
  app.sent.clear();
  app.phase = 'done';
  dialogs.closeSubmit();
  render();
  focusScreen();
}

function describe(code, message) {
  const key = `error.${code}`;
  return hasString(key) ? t(key) : t('error.other', { message });
}

function onError(error) {
  if (error.code === 'logged_in_elsewhere') {
    endConnection(describe(error.code, error.message));
    return;
  }
  if (!app.loggedIn && (error.ref_seq === null || error.ref_seq === undefined)) {
    loginRefused(error.code, error.message);
    return;
  }
  if (error.ref_seq === null || error.ref_seq === undefined) {
    console.warn(`server error ${error.code}: ${error.message}`);
    return;
  }
  const message = app.outbox.find(error.ref_seq);
  if (!message) return;
  app.sent.delete(error.ref_seq);
  const retry =
    RETRY_LATER.has(error.code) && !(message.type === 'submit' && error.code === 'paused');
  if (retry) {
    // Not now: send it again after a pause, under a fresh number (see Outbox.reconcile).
    app.outbox.renumber(error.ref_seq);
    app.retryDelay = Math.min(10000, Math.max(1000, app.retryDelay * 2));
    app.holdUntil = performance.now() + app.retryDelay;
    renderStatus();
    return;
  }
  app.outbox.take(error.ref_seq);
  if (message.type === 'submit') {
    if (dialogs.submitOpen()) dialogs.submitFailed(t('submit.failed', { message: describe(error.code, error.message) }));
    else ui.toast(t('submit.failed', { message: describe(error.code, error.message) }));
  } else if (message.type === 'answer' && app.paper && !['time_up', 'already_submitted'].includes(error.code)) {
    const index = app.paper.indexOf.get(message.item_id);
    const n = index === undefined ? '?' : index + 1;
    ui.toast(t('exam.not_saved', { n, message: describe(error.code, error.message) }));
  }
  refresh();
}

function loginRefused(code, message) {
  const text = describe(code, message);
  if (LOGIN_RETRY.has(code) || (app.everLoggedIn && code === 'rate_limited')) {
    if (!app.everLoggedIn) {
      ui.loginBusy(false);
      ui.loginMessage(t('login.retrying', { message: text }), 'warning');
    }
    app.conn.drop();
    return;
  }
  // Refused for good (wrong numbers, logged in elsewhere, absent...): back to the form.
  app.conn.stop();
  session.remove(KEYS.login);
  app.phase = 'login';
  render();
  ui.loginBusy(false);
  ui.loginMessage(text);
  byId('ticket').focus();
}

function onClosing(message) {
  if (message.reconnect) return; // the close follows; Connection reconnects
  const key = `error.${message.reason}`;
  endConnection(hasString(key) ? t(key) : t('closing.final', { reason: message.reason }));
}

// The server ended this login for good (e.g. the candidate logged in on another PC after
// a proctor unlocked them). Unsent answers stay in localStorage; nothing is resent here.
function endConnection(text) {
  app.conn.stop();
  session.remove(KEYS.login);
  if (app.phase === 'done') {
    renderStatus();
    return;
  }
  app.phase = 'login';
  render();
  ui.loginBusy(false);
  ui.loginMessage(text);
}

// --- what the candidate does --------------------------------------------------------

function choose(index) {
  if (!canAnswer()) return;
  const item = currentItem();
  const options = optionsOf(item, t);
  if (index < 0 || index >= options.length) return;
  const current = responseOf(item.item_id);
  const next = nextResponse(item, current, options[index].id);
  if (sameResponse(current, next)) return;
  queue({ type: 'answer', item_id: item.item_id, response: next });
}

function toggleFlag() {
  if (!canAnswer()) return;
  const item = currentItem();
  queue({ type: 'flag', item_id: item.item_id, flagged: !flaggedOf(item.item_id) });
}

function go(index) {
  if (!app.paper || app.phase !== 'exam') return;
  const next = Math.max(0, Math.min(app.paper.items.length - 1, index));
  if (next === app.current) return;
  app.current = next;
  saveResume({ itemId: currentItem().item_id });
  view.scrollToTop();
  renderExam();
}

function resize(delta) {
  const size = Math.max(0, Math.min(TEXT_SIZES - 1, app.textSize + delta));
  if (size === app.textSize) return;
  app.textSize = size;
  local.set(KEYS.textSize, size);
  view.setTextSize(size);
}

function openSubmit() {
  if (!canAnswer()) return;
  const counts = tally(app.paper.items, responseOf, flaggedOf);
  const online = app.conn.isOpen && app.loggedIn;
  dialogs.openSubmit(counts, { pending: app.outbox.size, online });
}

function confirmSubmit() {
  if (submitRequested()) return;
  dialogs.submitBusy();
  queue({ type: 'submit' });
}

function cancelSubmit() {
  if (submitRequested()) return;
  dialogs.closeSubmit();
  byId('btn-submit').focus();
}

function logout() {
  if (app.conn) app.conn.stop();
  app.conn = null;
  if (app.outbox && app.outbox.size === 0) app.outbox.forget();
  if (app.creds && app.phase === 'done') local.remove(KEYS.resume(app.creds.ticket));
  session.remove(KEYS.login);
  session.remove(KEYS.confirmed);
  app.creds = null;
  app.session = null;
  app.candidate = null;
  app.paper = null;
  app.phase = 'login';
  byId('ticket').value = '';
  byId('id-number').value = '';
  render();
  ui.loginBusy(false);
  ui.loginMessage(null);
  byId('ticket').focus();
}

function submitLogin(event) {
  event.preventDefault();
  const ticket = byId('ticket').value.trim();
  const idNumber = byId('id-number').value.trim().toUpperCase();
  if (!ticket) {
    ui.loginMessage(t('login.need_ticket'));
    byId('ticket').focus();
    return;
  }
  if (!ID_NUMBER.test(idNumber)) {
    ui.loginMessage(t('login.bad_id'));
    byId('id-number').focus();
    return;
  }
  ui.loginMessage(null);
  session.remove(KEYS.confirmed);
  startLogin(ticket, idNumber);
}

function confirmIdentity() {
  session.set(KEYS.confirmed, app.creds.ticket);
  const inExam = app.candidate && IN_EXAM.has(app.candidate.state) && app.paper;
  app.phase = inExam ? 'exam' : 'waiting';
  render();
  focusScreen();
}

function focusScreen() {
  const targets = {
    login: 'ticket',
    confirm: 'confirm-yes',
    waiting: 'screen-waiting',
    exam: 'item-card',
    done: 'done-exit',
  };
  const node = document.getElementById(targets[app.phase]);
  if (node) node.focus();
}

async function switchLanguage() {
  await setLanguage(currentLanguage() === 'en' ? 'zh-CN' : 'en');
  ui.renderSeat(app.seat, null);
  if (!app.creds || app.phase === 'login') ui.loginBusy(Boolean(app.conn && !app.everLoggedIn));
  if (app.paper) view.buildSheet(app.paper);
  render();
}

function onKey(event) {
  if (app.phase !== 'exam' || app.paused) return;
  if (dialogs.submitOpen()) {
    if (event.key === 'Escape') {
      event.preventDefault();
      cancelSubmit();
    }
    return;
  }
  if (isTyping(event.target)) return;
  const action = keyAction(event);
  if (!action) return;
  event.preventDefault();
  switch (action.type) {
    case 'choose':
      choose(action.index);
      break;
    case 'move':
      go(app.current + action.delta);
      break;
    case 'jump':
      go(action.to === 'first' ? 0 : app.paper.items.length - 1);
      break;
    case 'focus-option':
      view.focusOption(action.delta);
      break;
    case 'flag':
      toggleFlag();
      break;
    case 'size':
      resize(action.delta);
      break;
    default:
      break;
  }
}

// --- start ----------------------------------------------------------------------------

function wire() {
  view = new ExamView({
    choose,
    move: (delta) => go(app.current + delta),
    jump: go,
    flag: toggleFlag,
    size: resize,
    submit: openSubmit,
  });
  byId('login-form').addEventListener('submit', submitLogin);
  byId('confirm-yes').addEventListener('click', confirmIdentity);
  byId('confirm-no').addEventListener('click', logout);
  byId('done-exit').addEventListener('click', logout);
  byId('submit-cancel').addEventListener('click', cancelSubmit);
  byId('submit-confirm').addEventListener('click', confirmSubmit);
  for (const button of document.querySelectorAll('.lang-toggle')) {
    button.addEventListener('click', switchLanguage);
  }
  document.addEventListener('keydown', onKey);
  setInterval(tick, 250);
  setInterval(resendStale, 2000);
}

async function boot() {
  await setLanguage(preferredLanguage());
  const { seat, invalid } = readSeat();
  app.seat = seat;
  const size = local.get(KEYS.textSize, 1);
  app.textSize = Number.isInteger(size) ? Math.max(0, Math.min(TEXT_SIZES - 1, size)) : 1;
  wire();
  ui.renderSeat(seat, invalid);
  const saved = session.get(KEYS.login);
  render();
  if (saved && typeof saved.ticket === 'string' && typeof saved.idNumber === 'string') {
    startLogin(saved.ticket, saved.idNumber);
    // A reload mid-exam: say what is happening while the server is reached again.
    const kept = app.outbox.size;
    ui.loginMessage(kept > 0 ? t('login.resuming_kept', { n: kept }) : t('login.resuming'), 'info');
  } else {
    focusScreen();
  }
  document.body.dataset.ready = 'true';
}

boot().catch((error) => {
  console.error(error);
  document.body.dataset.ready = 'error';
});
