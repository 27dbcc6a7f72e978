// Remaining time from the server's figure, never from the client's clock: the server's
// remaining_ms minus the monotonic time elapsed since it arrived (frozen while paused).

export const WARNING_MS = 5 * 60 * 1000;

export class Countdown {
  constructor(now = () => performance.now()) {
    this.now = now;
    this.baseMs = null;
    this.receivedAt = 0;
    this.frozen = true;
  }

  set(remainingMs, frozen) {
    this.baseMs = Math.max(0, remainingMs);
    this.receivedAt = this.now();
    this.frozen = frozen;
  }

  get known() {
    return this.baseMs !== null;
  }

  remaining() {
    if (this.baseMs === null) return null;
    if (this.frozen) return this.baseMs;
    return Math.max(0, this.baseMs - (this.now() - this.receivedAt));
  }
}

export function formatClock(ms) {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  const two = (n) => String(n).padStart(2, '0');
  return `${two(hours)}:${two(minutes)}:${two(seconds)}`;
}
