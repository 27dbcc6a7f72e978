// Drawing the screens other than the exam itself: login, identity, waiting room, done,
// the top bar with clock and connection status, and the toast.

import { byId, setHidden, setText } from './dom.js';
import { currentLanguage, t } from './i18n.js';
import { waitingFacts, waitingRules } from './rules.js';

export function renderSeat(seat, invalid) {
  setText('login-seat', seat === null ? t('login.seat_unknown') : String(seat));
  byId('login-seat').classList.toggle('missing', seat === null);
  if (invalid !== null) loginMessage(t('login.seat_invalid', { value: invalid }), 'warning');
}

export function loginMessage(text, kind = 'error') {
  const node = byId('login-message');
  node.hidden = !text;
  node.textContent = text || '';
  node.dataset.kind = kind;
}

export function loginBusy(busy) {
  const button = byId('login-submit');
  button.disabled = busy;
  button.textContent = t(busy ? 'login.busy' : 'login.submit');
  byId('ticket').disabled = busy;
  byId('id-number').disabled = busy;
}

export function levelText(candidate) {
  const number = t(`level.${candidate.level}`);
  return t('confirm.level_value', { name: candidate.level_name, number });
}

export function renderIdentity(candidate, session) {
  setText('id-name', candidate.name);
  setText('id-ticket', candidate.ticket);
  setText('id-occupation', candidate.occupation_name);
  setText('id-level', levelText(candidate));
  setText('id-seat', String(candidate.seat));
  setText('id-session', t('confirm.session_value', { title: session.title, code: session.code }));
}

function fillList(id, entries) {
  const items = entries.map(([key, params]) => {
    const li = document.createElement('li');
    li.textContent = t(key, params);
    return li;
  });
  byId(id).replaceChildren(...items);
}

export function renderWaiting(session) {
  setText('wait-session', session.title);
  const minutes = Math.round(session.duration_ms / 60000);
  setText('wait-duration', t('waiting.duration', { minutes }));
  fillList('wait-facts', waitingFacts(session).filter(([key]) => key !== 'waiting.duration'));
  fillList('wait-rules', waitingRules(session));
}

/** The not-missable time warning: shown until the candidate acknowledges it. */
export function showTimeWarning(minutes) {
  setText('time-warning-text', t('exam.time_warning', { minutes }));
  setHidden('time-warning', false);
}

export function hideTimeWarning() {
  setHidden('time-warning', true);
}

/** The submit button while the hand-in is not open yet: disabled, saying from when. */
export function gateSubmit(waitMs, opensAt) {
  const button = byId('btn-submit');
  const text = waitMs > 0 ? t('exam.submit_at', { time: clockTime(opensAt) }) : t('exam.submit');
  if (button.textContent !== text) button.textContent = text;
  button.dataset.gated = waitMs > 0 ? 'true' : 'false';
  if (waitMs > 0) button.disabled = true;
}

function clockTime(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  return date.toLocaleTimeString(currentLanguage(), { hour12: false, hour: '2-digit', minute: '2-digit' });
}

export function renderTopbar(phase, session, candidate) {
  const visible = session !== null && ['confirm', 'waiting', 'exam'].includes(phase);
  setHidden('topbar', !visible);
  setHidden('top-clock', phase !== 'exam');
  if (!visible) return;
  setText('top-session', session.title);
  renderMode('top-mode', session);
  const who = { name: candidate.name, ticket: candidate.ticket, seat: candidate.seat };
  setText('top-candidate', t('topbar.candidate', who));
}

// 试考 / 练习 marked on every screen; a formal exam carries no mark.
export function renderMode(id, session) {
  const mode = session ? session.mode : 'formal';
  const marked = mode === 'rehearsal' || mode === 'practice';
  setHidden(id, !marked);
  if (!marked) return;
  setText(id, t(`mode.${mode}`));
  byId(id).dataset.mode = mode;
}

export function renderClock(text, level) {
  const node = byId('clock-value');
  if (node.textContent !== text) node.textContent = text;
  byId('top-clock').dataset.level = level;
}

export function renderStatus(text, kind) {
  const node = byId('status');
  node.textContent = text;
  node.dataset.state = kind;
}

function formatTime(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  return date.toLocaleString(currentLanguage(), { hour12: false });
}

// kind: 'submitted' | 'absent' | 'ended'
export function renderDone({ kind, reason, at, showScores, result }) {
  const headings = { submitted: 'done.heading', absent: 'done.heading_absent', ended: 'done.heading_ended' };
  setText('done-heading', t(headings[kind]));
  let reasonText = '';
  if (kind === 'submitted' && reason) reasonText = t(`done.reason.${reason}`);
  if (kind === 'absent') reasonText = t('done.absent');
  setText('done-reason', reasonText);
  const time = kind === 'submitted' && at ? formatTime(at) : '';
  setText('done-time', time ? t('done.time', { time }) : '');
  const scored = kind === 'submitted' && showScores;
  setHidden('done-result', !(scored && result));
  setHidden('done-grading', !(scored && !result));
  setHidden('done-no-score', kind !== 'submitted' || showScores);
  if (scored && result) {
    const number = (value) => String(Math.round(value * 100) / 100);
    setText('result-total', t('done.score_value', { total: number(result.total), max: number(result.max_total) }));
    setText('result-pass-mark', t('done.pass_mark', { mark: number(result.pass_mark) }));
    const verdict = byId('result-verdict');
    verdict.textContent = t(result.passed ? 'done.passed' : 'done.failed');
    verdict.dataset.passed = result.passed ? 'yes' : 'no';
  }
}

let toastTimer = null;

export function toast(text, ms = 8000) {
  const node = byId('toast');
  node.textContent = text;
  node.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => {
    node.hidden = true;
  }, ms);
}
