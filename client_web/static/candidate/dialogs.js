// The two things that cover the page: the submit confirmation and the pause overlay.
// While either shows, the rest of the page is inert (no clicks, no focus).

import { byId, setText } from './dom.js';
import { t } from './i18n.js';

function syncInert() {
  const covered = !byId('submit-dialog').hidden || !byId('pause-overlay').hidden;
  byId('app').inert = covered;
}

export function submitOpen() {
  return !byId('submit-dialog').hidden;
}

const LISTED = 30;

// Item numbers for the dialog; a long list is cut so the dialog fits a 768-pixel screen.
function numbers(list) {
  const shown = list.slice(0, LISTED).join(t('common.list_separator'));
  return list.length > LISTED ? `${shown} …` : shown;
}

export function openSubmit(counts, { pending, online }) {
  setText('submit-answered', t('submit.answered', { n: counts.answered, total: counts.total }));
  setText('submit-unanswered', t('submit.unanswered', { n: counts.unanswered.length }));
  setText('submit-flagged', t('submit.flagged', { n: counts.flagged.length }));
  const unansweredList = byId('submit-unanswered-list');
  unansweredList.hidden = counts.unanswered.length === 0;
  unansweredList.textContent = t('submit.unanswered_list', { numbers: numbers(counts.unanswered) });
  const flaggedList = byId('submit-flagged-list');
  flaggedList.hidden = counts.flagged.length === 0;
  flaggedList.textContent = t('submit.flagged_list', { numbers: numbers(counts.flagged) });
  let note = '';
  if (!online) note = t('submit.offline');
  else if (pending > 0) note = t('submit.pending', { n: pending });
  const noteNode = byId('submit-note');
  noteNode.hidden = !note;
  noteNode.textContent = note;
  const confirm = byId('submit-confirm');
  confirm.disabled = false;
  confirm.textContent = t('submit.confirm');
  byId('submit-cancel').disabled = false;
  byId('submit-dialog').hidden = false;
  syncInert();
  byId('submit-cancel').focus();
}

export function submitBusy() {
  const confirm = byId('submit-confirm');
  confirm.disabled = true;
  confirm.textContent = t('submit.busy');
  byId('submit-cancel').disabled = true;
}

export function submitFailed(text) {
  const noteNode = byId('submit-note');
  noteNode.hidden = false;
  noteNode.textContent = text;
  const confirm = byId('submit-confirm');
  confirm.disabled = false;
  confirm.textContent = t('submit.confirm');
  byId('submit-cancel').disabled = false;
}

export function closeSubmit() {
  byId('submit-dialog').hidden = true;
  syncInert();
}

export function showPause(visible, scope, reason) {
  const overlay = byId('pause-overlay');
  if (visible) {
    setText('pause-scope', t(scope === 'room' ? 'pause.room' : 'pause.candidate'));
    const reasonNode = byId('pause-reason');
    reasonNode.hidden = !reason;
    reasonNode.textContent = reason ? t('pause.reason', { reason }) : '';
  }
  if (overlay.hidden === !visible) return;
  overlay.hidden = !visible;
  syncInert();
}
