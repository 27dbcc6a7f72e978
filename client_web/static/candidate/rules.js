// The rules of the sitting as the page shows them (pure): the waiting screen's facts,
// when the hand-in opens, and the time warnings at 15 and 5 minutes left.

export const WARNINGS_MS = [15 * 60 * 1000, 5 * 60 * 1000];

const number = (value) => String(Math.round(value * 100) / 100);

/** [key, params] pairs for the waiting screen: the paper's figures, then the rules. */
export function waitingFacts(session) {
  const facts = [];
  if (typeof session.items === 'number') facts.push(['waiting.items', { n: session.items }]);
  if (typeof session.total_score === 'number') {
    facts.push(['waiting.total', { score: number(session.total_score) }]);
  }
  if (typeof session.pass_mark === 'number') {
    facts.push(['waiting.pass_mark', { score: number(session.pass_mark) }]);
  }
  facts.push(['waiting.duration', { minutes: Math.round(session.duration_ms / 60000) }]);
  return facts;
}

export function waitingRules(session) {
  const rules = [];
  if (typeof session.late_minutes === 'number') {
    rules.push(['rules.late', { minutes: session.late_minutes }]);
  }
  if (session.min_submit_minutes) rules.push(['rules.submit', { minutes: session.min_submit_minutes }]);
  rules.push(['rules.warnings', {}]);
  if (session.calculator) rules.push(['rules.calculator', {}]);
  return rules;
}

/** Milliseconds until the hand-in opens (0 when it is open), by the server's clock. */
export function submitWaitMs(session, serverNowMs) {
  if (!session || !session.submit_opens_at) return 0;
  return Math.max(0, Date.parse(session.submit_opens_at) - serverNowMs);
}

/** The warning due now (its threshold in ms), or null; `shown` holds those given. */
export function dueWarning(remainingMs, shown) {
  if (remainingMs <= 0) return null;
  let due = null;
  for (const threshold of WARNINGS_MS) {
    if (remainingMs <= threshold && !shown.has(threshold)) due = threshold;
  }
  return due;
}

/** Forget warnings whose threshold lies below the time left (extra time was granted). */
export function forgetWarnings(remainingMs, shown) {
  for (const threshold of [...shown]) {
    if (remainingMs > threshold) shown.delete(threshold);
  }
}
