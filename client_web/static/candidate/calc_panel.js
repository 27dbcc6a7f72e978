// The calculator panel of the exam page: opened by its button, driven by clicks or the
// keyboard while it has focus (those keys never reach the exam's shortcuts).

import { Calculator, keyOf } from './calculator.js';
import { byId } from './dom.js';

const calculator = new Calculator();

function show(open) {
  byId('calc-panel').hidden = !open;
  byId('btn-calc').setAttribute('aria-expanded', String(open));
  if (open) byId('calc-panel').focus();
}

function press(key) {
  byId('calc-display').textContent = calculator.press(key);
}

export function wireCalculator() {
  const panel = byId('calc-panel');
  byId('btn-calc').addEventListener('click', () => show(panel.hidden));
  panel.addEventListener('click', (event) => {
    const button = event.target.closest('button[data-calc-key]');
    if (button) press(button.dataset.calcKey);
  });
  panel.addEventListener('keydown', (event) => {
    event.stopPropagation();
    if (event.key === 'Escape') {
      show(false);
      byId('btn-calc').focus();
      return;
    }
    if (event.key === 'Enter' && event.target.matches('button[data-calc-key]')) return;
    const key = keyOf(event);
    if (key === null) return;
    event.preventDefault();
    press(key);
  });
}

/** Offer the calculator only where the session allows it; closed when not offered. */
export function offerCalculator(allowed) {
  byId('calc').hidden = !allowed;
  if (!allowed && !byId('calc-panel').hidden) show(false);
}
