// Drawing the page from the state: the screen of the current phase, the status line and
// the clock (called whenever something changed, and by a timer for the clock).

import { offerCalculator } from './calc_panel.js';
import { WARNING_MS, formatClock } from './countdown.js';
import * as dialogs from './dialogs.js';
import { showScreen } from './dom.js';
import { clearPhoto, showPhoto } from './photo.js';
import { t } from './i18n.js';
import { sameResponse, tally } from './paper.js';
import * as practice from './practice.js';
import { WARNINGS_MS, dueWarning, submitWaitMs } from './rules.js';
import * as ui from './screens.js';
import { resumeInfo } from './sending.js';
import { app, canAnswer, currentItem, flaggedOf, responseOf } from './state.js';

export function render() {
  showScreen(app.phase);
  ui.renderTopbar(app.phase, app.session, app.candidate);
  if (app.phase === 'confirm') {
    ui.renderIdentity(app.candidate, app.session);
    showPhoto(app.creds.ticket, resumeInfo().token);
  } else {
    clearPhoto();
  }
  if (app.phase === 'waiting') ui.renderWaiting(app.session);
  if (app.phase === 'exam') renderExam();
  if (app.phase === 'done') renderDone();
  dialogs.showPause(app.paused && app.phase === 'exam', app.pauseScope, app.pauseReason);
  if (app.phase !== 'exam') dialogs.closeSubmit();
  renderStatus();
  tick();
}

export function renderExam() {
  if (!app.paper) return;
  const item = currentItem();
  const id = item.item_id;
  const total = app.paper.items.length;
  app.view.renderItem(item, total, responseOf(id), flaggedOf(id), !canAnswer());
  const stored = app.acked.get(id) || [];
  practice.renderCheck(item, stored.length > 0 && sameResponse(stored, responseOf(id)), canAnswer());
  const counts = tally(app.paper.items, responseOf, flaggedOf);
  app.view.updateSheet(app.paper, app.current, responseOf, flaggedOf, counts);
  app.view.setTextSize(app.textSize);
  offerCalculator(Boolean(app.session && app.session.calculator));
  gate(true);
}

// The hand-in's opening time, by the server's clock (the server refuses earlier anyway).
function gate(rendered) {
  const wait = submitWaitMs(app.session, Date.now() + app.serverOffset);
  const button = document.getElementById('btn-submit');
  if (!rendered && wait === 0 && button.dataset.gated === 'true') {
    renderExam(); // just opened: enable it as the item's rules say
    return;
  }
  ui.gateSubmit(wait, app.session ? app.session.submit_opens_at : null);
}

export function renderDone() {
  let kind = 'submitted';
  if (app.candidate && app.candidate.state === 'absent') kind = 'absent';
  else if (!app.submitted && app.session && app.session.state === 'ended') kind = 'ended';
  ui.renderMode('done-mode', app.session);
  practice.renderReview();
  // The session is over: the PC goes back to the login screen by itself (its seat kept)
  // for the next sitting's candidate in this room.
  const over = Boolean(app.session && app.session.state === 'ended');
  document.getElementById('done-next').hidden = !over;
  if (over && app.returnToLogin) app.returnToLogin();
  ui.renderDone({
    kind,
    reason: app.submitted ? app.submitted.reason : null,
    at: app.submitted ? app.submitted.at : null,
    showScores: Boolean(app.session && app.session.show_scores),
    result: app.result,
  });
}

export function renderStatus() {
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

export function tick() {
  if (app.phase !== 'exam' || !app.countdown.known) return;
  if (app.session && app.session.untimed) {
    ui.renderClock(t('practice.untimed'), app.paused ? 'paused' : 'normal');
    return; // no deadline: no warnings, no time-up
  }
  const remaining = app.countdown.remaining();
  const running = !app.countdown.frozen;
  let level = 'normal';
  if (remaining <= WARNING_MS) level = 'warning';
  if (app.paused) level = 'paused';
  ui.renderClock(formatClock(remaining), level);
  const due = running ? dueWarning(remaining, app.warned) : null;
  if (due !== null) {
    // One warning at a time: a later threshold never shows an earlier one afterwards.
    for (const threshold of WARNINGS_MS) if (threshold >= due) app.warned.add(threshold);
    ui.showTimeWarning(Math.round(due / 60000));
  }
  if (app.paper) gate(false);
  const timeUp = running && remaining === 0;
  if (timeUp !== app.timeUp) {
    app.timeUp = timeUp;
    if (timeUp) ui.toast(t('exam.time_up'), 60000);
    renderExam();
  }
}

export function refresh() {
  if (app.phase === 'exam') renderExam();
  renderStatus();
}

export function focusScreen() {
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
