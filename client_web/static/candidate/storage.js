// Browser storage that never throws (storage may be full or disabled), and the seat.
//
// localStorage (survives a crash): seat, language, text size, and per ticket the
// unacknowledged messages, the resume token and the item on screen.
// sessionStorage (survives a reload of this tab only): the login, so that a reload
// logs in again by itself while an ID-card number is never left on the PC for good.

function wrap(getStore) {
  return {
    get(key, fallback = null) {
      try {
        const raw = getStore().getItem(key);
        return raw === null ? fallback : JSON.parse(raw);
      } catch {
        return fallback;
      }
    },
    set(key, value) {
      try {
        getStore().setItem(key, JSON.stringify(value));
        return true;
      } catch {
        return false;
      }
    },
    remove(key) {
      try {
        getStore().removeItem(key);
      } catch {
        // nothing to do: storage unavailable
      }
    },
  };
}

export const local = wrap(() => window.localStorage);
export const session = wrap(() => window.sessionStorage);

export const KEYS = {
  seat: 'cbt.seat',
  lang: 'cbt.lang',
  textSize: 'cbt.textSize',
  login: 'cbt.login',
  confirmed: 'cbt.confirmed',
  outbox: (ticket) => `cbt.outbox.${ticket}`,
  resume: (ticket) => `cbt.resume.${ticket}`,
};

export const MAX_SEAT = 100000;

// The seat number of this PC. The lab administrator opens the page once as
// http://SERVER/?seat=N (or sets that as the browser's start page); the number is kept
// in localStorage and removed from the address bar. `?seat=` (empty) forgets it.
export function readSeat(location = window.location) {
  const params = new URLSearchParams(location.search);
  const stored = local.get(KEYS.seat);
  const known = Number.isInteger(stored) && stored >= 1 && stored <= MAX_SEAT ? stored : null;
  if (!params.has('seat')) return { seat: known, invalid: null };
  const raw = params.get('seat').trim();
  params.delete('seat');
  const rest = params.toString();
  window.history.replaceState(null, '', location.pathname + (rest ? `?${rest}` : '') + location.hash);
  if (raw === '') {
    local.remove(KEYS.seat);
    return { seat: null, invalid: null };
  }
  const number = /^\d{1,6}$/.test(raw) ? Number(raw) : NaN;
  if (Number.isInteger(number) && number >= 1 && number <= MAX_SEAT) {
    local.set(KEYS.seat, number);
    return { seat: number, invalid: null };
  }
  return { seat: known, invalid: raw };
}
