// The candidate's page: login -> identity -> waiting room -> exam -> submit -> done.
//
// The server is the authority (protocol cbt.v1): state.js keeps its last full `state`
// and overlays the answers not yet acknowledged (outbox.js, kept in localStorage);
// messages.js applies what the server says, render.js draws the current phase. This
// module wires what the candidate does (clicks, keys) and starts the page.

import { wireCalculator } from './calc_panel.js';
import { Connection } from './connection.js';
import * as dialogs from './dialogs.js';
import { byId } from './dom.js';
import { ExamView, TEXT_SIZES } from './exam_view.js';
import { currentLanguage, preferredLanguage, setLanguage, t } from './i18n.js';
import { isTyping, keyAction } from './keyboard.js';
import { receive } from './messages.js';
import * as practice from './practice.js';
import { Outbox } from './outbox.js';
import { nextResponse, optionsOf, sameResponse, tally } from './paper.js';
import { focusScreen, refresh, render, renderExam, renderStatus, tick } from './render.js';
import * as ui from './screens.js';
import { PROTOCOL, flush, resendStale, saveResume, sayHello, wsUrl } from './sending.js';
import {
  IN_EXAM,
  app,
  canAnswer,
  currentItem,
  flaggedOf,
  resetExam,
  responseOf,
  submitRequested,
} from './state.js';
import { KEYS, local, readSeat, session } from './storage.js';
import * as lockdown from './lockdown.js';

const ID_NUMBER = /^\d{17}[\dX]$/;

// A practice by code logs in as `practice:CODE` on this PC (its outbox and resume token).
function startLogin(ticket, idNumber, practiceCode = null) {
  if (app.conn) app.conn.stop();
  app.creds = practiceCode ? { ticket, idNumber, practiceCode } : { ticket, idNumber };
  app.outbox = new Outbox(KEYS.outbox(ticket), local);
  resetExam();
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

function queue(message) {
  app.outbox.supersede(message);
  app.outbox.add(message);
  flush();
  refresh();
}

function choose(index) {
  if (!canAnswer()) return;
  const item = currentItem();
  if (practice.locked(item.item_id)) return;
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
  app.view.scrollToTop();
  renderExam();
}

function resize(delta) {
  const size = Math.max(0, Math.min(TEXT_SIZES - 1, app.textSize + delta));
  if (size === app.textSize) return;
  app.textSize = size;
  local.set(KEYS.textSize, size);
  app.view.setTextSize(size);
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

// After the session ended, the done screen stays this long (the score can be read), then
// the page is the login screen again; `data-return-ms` on <body> overrides it.
const RETURN_AFTER_MS = 60000;

function returnToLogin() {
  if (app.returnTimer) return;
  const wait = Number(document.body.dataset.returnMs) || RETURN_AFTER_MS;
  app.returnTimer = setTimeout(() => {
    app.returnTimer = null;
    if (app.phase === 'done') logout();
  }, wait);
}

function logout() {
  if (app.returnTimer) clearTimeout(app.returnTimer);
  app.returnTimer = null;
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
  byId('practice-code').value = '';
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
  lockdown.enterFullscreen();
  startLogin(ticket, idNumber);
}

function submitPractice(event) {
  event.preventDefault();
  const code = byId('practice-code').value.replace(/[\s-]/g, '').toUpperCase();
  if (!code) {
    ui.loginMessage(t('practice.need_code'));
    byId('practice-code').focus();
    return;
  }
  ui.loginMessage(null);
  lockdown.enterFullscreen();
  startLogin(`practice:${code}`, '', code);
}

function confirmIdentity() {
  session.set(KEYS.confirmed, app.creds.ticket);
  const inExam = app.candidate && IN_EXAM.has(app.candidate.state) && app.paper;
  app.phase = inExam ? 'exam' : 'waiting';
  render();
  focusScreen();
}

async function switchLanguage() {
  await setLanguage(currentLanguage() === 'en' ? 'zh-CN' : 'en');
  ui.renderSeat(app.seat, null);
  if (!app.creds || app.phase === 'login') ui.loginBusy(Boolean(app.conn && !app.everLoggedIn));
  if (app.paper) app.view.buildSheet(app.paper);
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
      app.view.focusOption(action.delta);
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

function wire() {
  app.view = new ExamView({
    choose,
    move: (delta) => go(app.current + delta),
    jump: go,
    flag: toggleFlag,
    size: resize,
    submit: openSubmit,
  });
  byId('login-form').addEventListener('submit', submitLogin);
  byId('practice-form').addEventListener('submit', submitPractice);
  byId('btn-check').addEventListener('click', () => practice.askCheck(currentItem()));
  byId('btn-review').addEventListener('click', practice.askReview);
  byId('confirm-yes').addEventListener('click', confirmIdentity);
  byId('confirm-no').addEventListener('click', logout);
  byId('done-exit').addEventListener('click', logout);
  app.returnToLogin = returnToLogin;
  byId('submit-cancel').addEventListener('click', cancelSubmit);
  byId('submit-confirm').addEventListener('click', confirmSubmit);
  for (const button of document.querySelectorAll('.lang-toggle')) {
    button.addEventListener('click', switchLanguage);
  }
  byId('time-warning-ok').addEventListener('click', () => {
    ui.hideTimeWarning();
    byId('item-card').focus();
  });
  wireCalculator();
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
  lockdown.watch();
  // A mapped lab PC: the server's seat wins over one typed into the address (?seat=).
  const mapped = await lockdown.serverSeat();
  if (mapped !== null) {
    app.seat = mapped;
    ui.renderSeat(mapped, null);
  }
  const saved = session.get(KEYS.login);
  render();
  if (saved && typeof saved.ticket === 'string' && typeof saved.idNumber === 'string') {
    startLogin(saved.ticket, saved.idNumber, saved.practiceCode || null);
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
