// A simple calculator for the exam page: keys in, display out. No string is ever
// evaluated: digits and operators drive a small state machine; nothing is stored or sent.

const OPERATORS = {
  '+': (a, b) => a + b,
  '-': (a, b) => a - b,
  '*': (a, b) => a * b,
  '/': (a, b) => (b === 0 ? NaN : a / b),
};
const MAX_DIGITS = 14;

export function format(value) {
  if (!Number.isFinite(value)) return 'Error';
  const rounded = Number.parseFloat(value.toPrecision(12));
  return String(rounded);
}

export class Calculator {
  constructor() {
    this.clear();
  }

  clear() {
    this.entry = '0'; // what is being typed
    this.acc = null; // the left operand
    this.op = null; // the pending operator
    this.fresh = true; // the next digit starts a new entry
    this.error = false;
  }

  get display() {
    return this.error ? 'Error' : this.entry;
  }

  /** One key: a digit, '.', an operator (+ - * /), '=', 'C' (clear) or '<' (erase). */
  press(key) {
    if (this.error && key !== 'C') return this.display;
    if (/^[0-9]$/.test(key)) this.digit(key);
    else if (key === '.') this.point();
    else if (Object.hasOwn(OPERATORS, key)) this.operator(key);
    else if (key === '=') this.equals();
    else if (key === 'C') this.clear();
    else if (key === '<') this.erase();
    return this.display;
  }

  digit(d) {
    if (this.fresh) {
      this.entry = d;
      this.fresh = false;
    } else if (this.entry.replace(/[-.]/g, '').length < MAX_DIGITS) {
      this.entry = this.entry === '0' ? d : this.entry + d;
    }
  }

  point() {
    if (this.fresh) {
      this.entry = '0.';
      this.fresh = false;
    } else if (!this.entry.includes('.')) {
      this.entry += '.';
    }
  }

  erase() {
    if (this.fresh) return;
    this.entry = this.entry.length > 1 ? this.entry.slice(0, -1) : '0';
    if (this.entry === '-') this.entry = '0';
  }

  apply() {
    const right = Number.parseFloat(this.entry);
    const value = this.op && this.acc !== null ? OPERATORS[this.op](this.acc, right) : right;
    if (!Number.isFinite(value)) {
      this.error = true;
      return null;
    }
    return value;
  }

  operator(op) {
    if (!this.fresh || this.acc === null) {
      const value = this.apply();
      if (value === null) return;
      this.acc = value;
      this.entry = format(value);
    }
    this.op = op;
    this.fresh = true;
  }

  equals() {
    if (this.op === null) return;
    const value = this.apply();
    if (value === null) return;
    this.entry = format(value);
    this.acc = null;
    this.op = null;
    this.fresh = true;
  }
}

/** The calculator key a keyboard key means, or null. */
export function keyOf(event) {
  const { key } = event;
  if (/^[0-9]$/.test(key) || key === '.' || Object.hasOwn(OPERATORS, key)) return key;
  if (key === 'x' || key === 'X') return '*';
  if (key === '=' || key === 'Enter') return '=';
  if (key === 'Backspace') return '<';
  if (key === 'Delete' || key === 'c' || key === 'C') return 'C';
  return null;
}
