// Practice (练习): log in with a practice code, check an item (its key; the item is then
// locked), and review every item with its key after handing in. The server shows keys
// only in a practice session; nothing here is offered in a formal exam or a rehearsal.

import { byId, el, setHidden, setText } from './dom.js';
import { t } from './i18n.js';
import { LETTERS, flattenPaper, optionsOf } from './paper.js';
import { app } from './state.js';

export function isPractice() {
  return Boolean(app.session && app.session.mode === 'practice');
}

export function locked(itemId) {
  return app.checks.has(itemId);
}

// The option letters of `ids` as this candidate's paper shows them (A, B… or 对/错).
function letters(item, ids) {
  const options = optionsOf(item, t);
  const names = ids.map((id) => {
    const index = options.findIndex((option) => option.id === id);
    if (item.type === 'true_false' && index >= 0) return options[index].text;
    return index >= 0 ? LETTERS[index] || '·' : id;
  });
  return names.join(t('common.list_separator'));
}

function verdict(outcome) {
  const key = { correct: 'right', partial: 'partial', unanswered: 'unanswered' }[outcome];
  return t(`practice.${key || 'wrong'}`);
}

function describe(item, check) {
  const answer = check.response.length ? letters(item, check.response) : '—';
  return [
    verdict(check.outcome),
    t('practice.yours', { answer }),
    t('practice.key', { key: letters(item, check.key) }),
  ].join('  ');
}

// Under the item: the check button while the item can still be checked, its verdict after
// (and its options locked; flagging it stays open).
export function renderCheck(item, answered, canAnswer) {
  const offered = isPractice() && app.session.feedback === 'item';
  setHidden('practice-check', !offered);
  if (!offered) return;
  const check = app.checks.get(item.item_id);
  if (check) {
    for (const option of byId('item-options').querySelectorAll('button.option')) option.disabled = true;
  }
  const button = byId('btn-check');
  button.hidden = Boolean(check);
  button.disabled = !answered || !canAnswer;
  const result = byId('check-result');
  result.hidden = !check;
  if (check) {
    result.textContent = describe(item, check);
    result.dataset.outcome = check.outcome;
  }
}

export function askCheck(item) {
  if (!app.conn || !app.conn.isOpen || locked(item.item_id)) return;
  app.conn.send({ type: 'check', item_id: item.item_id });
}

// After a (re)connect: fetch again the verdicts of items checked before (a reload).
export function recallChecks(itemIds) {
  for (const itemId of itemIds) {
    if (!app.checks.has(itemId) && app.conn) app.conn.send({ type: 'check', item_id: itemId });
  }
}

export function onChecked(message) {
  app.checks.set(message.item_id, message);
}

export function askReview() {
  if (app.conn && app.conn.isOpen) app.conn.send({ type: 'review' });
}

export function onReviewed(message) {
  if (message.paper && (!app.paper || app.paper.id !== message.paper.paper_id)) {
    app.paper = flattenPaper(message.paper);
  }
  app.review = message.items;
}

// The done screen: a practice offers the review; once it came, every item with its key.
export function renderReview() {
  const handedIn = app.candidate && ['submitted', 'graded'].includes(app.candidate.state);
  setHidden('practice-review', !(isPractice() && handedIn));
  if (!isPractice()) return;
  setHidden('done-no-score', true); // nothing is signed or published of a practice
  if (!app.review) return;
  byId('btn-review').hidden = true;
  const items = app.paper ? app.paper.items : [];
  const byItem = new Map(items.map((item) => [item.item_id, item]));
  const right = app.review.filter((check) => check.correct).length;
  setText('review-summary', t('practice.review_summary', { total: app.review.length, right }));
  setHidden('review-summary', false);
  const rows = app.review.map((check, index) => {
    const item = byItem.get(check.item_id) || { type: '', options: [], stem: check.item_id };
    const row = el('li', { cls: 'review-item', attrs: { 'data-outcome': check.outcome } });
    row.append(el('p', { cls: 'review-stem', text: `${index + 1}. ${item.stem}` }));
    row.append(el('p', { cls: 'review-verdict', text: describe(item, check) }));
    return row;
  });
  byId('review-list').replaceChildren(...rows);
}
