// What the server says (protocol cbt.v1, docs/protocol.md) and what it does to the page.

import * as dialogs from './dialogs.js';
import { byId } from './dom.js';
import { hasString, t } from './i18n.js';
import { flattenPaper, sameResponse } from './paper.js';
import * as practice from './practice.js';
import { forgetWarnings } from './rules.js';
import { focusScreen, refresh, render, renderDone, renderStatus, tick } from './render.js';
import * as ui from './screens.js';
import { flush, resumeInfo, saveResume } from './sending.js';
import { FINISHED, IN_EXAM, app } from './state.js';
import { KEYS, session } from './storage.js';

// Refusals of one message that mean "not now": keep it and send it again later.
const RETRY_LATER = new Set(['paused', 'unavailable', 'internal', 'rate_limited']);
const PRACTICE_REFUSALS = new Set(['not_checkable', 'not_practice', 'item_locked']);
// Refusals of a login that the page retries by itself (with backoff).
const LOGIN_RETRY = new Set(['not_started', 'later_sitting', 'unavailable', 'internal']);

export function receive(message) {
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
    case 'checked':
      practice.onChecked(message);
      refresh();
      break;
    case 'reviewed':
      practice.onReviewed(message);
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
  session.set(KEYS.login, { ...app.creds });
  ui.loginBusy(false);
  ui.loginMessage(null);
  if (state.resume_token) saveResume({ token: state.resume_token });
  app.session = state.session;
  app.serverOffset = Date.parse(state.server_time) - Date.now();
  app.candidate = state.candidate;
  app.acked = new Map(Object.entries(state.answers));
  app.ackedSeq = new Map();
  app.ackedFlags = new Set(state.flags);
  const inExam = IN_EXAM.has(state.candidate.state) && state.session.state === 'started';
  app.outbox.bind(state.session.id);
  app.outbox.reconcile(
    state.acked_seq,
    (message) => wasApplied(message, state),
    (message) => inExam && message.type !== 'submit',
  );
  app.sent.clear();
  app.holdUntil = 0;
  if (state.paper && (!app.paper || app.paper.id !== state.paper.paper_id)) {
    app.paper = flattenPaper(state.paper);
    app.view.buildSheet(app.paper);
    const index = app.paper.indexOf.get(resumeInfo().itemId);
    app.current = index === undefined ? 0 : index;
  }
  if (state.result) app.result = state.result;
  app.paused = state.paused;
  app.pauseScope = state.pause_scope;
  if (!state.paused) app.pauseReason = '';
  app.countdown.set(state.remaining_ms, !inExam || state.paused);
  forgetWarnings(state.remaining_ms, app.warned);

  const candidateState = state.candidate.state;
  if (FINISHED.has(candidateState)) {
    app.outbox.clear();
    if (!app.submitted && candidateState !== 'absent') {
      app.submitted = { reason: state.candidate.submit_reason, at: null };
    }
    app.phase = 'done';
  } else if (state.session.state === 'ended') {
    app.phase = 'done';
  } else if (!confirmed() && !app.creds.practiceCode) {
    // A practice candidate by code has no identity to confirm (the server made them up).
    app.phase = 'confirm';
  } else if (inExam && app.paper) {
    app.phase = 'exam';
  } else {
    app.phase = 'waiting';
  }
  practice.recallChecks(state.checked || []);
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
  forgetWarnings(message.remaining_ms, app.warned);
  flush();
  render();
}

function onTime(message) {
  app.countdown.set(message.remaining_ms, app.countdown.frozen);
  forgetWarnings(message.remaining_ms, app.warned);
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
  if (code === 'later_sitting') return message; // says when, in the site's time (zh first)
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
    // A refused `check` or `review` (practice) says why; nothing else is waiting on it.
    if (PRACTICE_REFUSALS.has(error.code)) ui.toast(describe(error.code, error.message));
    else console.warn(`server error ${error.code}: ${error.message}`);
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
  const text = code === 'already_submitted' ? t('login.handed_in') : describe(code, message);
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
