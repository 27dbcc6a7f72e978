// Messages sent to the server and not yet acknowledged, kept in localStorage.
//
// Every answer, flag and submit gets the next sequence number and stays here until the
// server acknowledges that number (it has committed it). After a reconnect or a reload
// everything still here is sent again; the server ignores a number it already has.

const KINDS = new Set(['answer', 'flag', 'submit']);

function valid(message) {
  return (
    message !== null &&
    typeof message === 'object' &&
    KINDS.has(message.type) &&
    Number.isInteger(message.seq) &&
    message.seq > 0
  );
}

export class Outbox {
  constructor(key, store) {
    this.key = key;
    this.store = store;
    const saved = store.get(key, null);
    this.lastSeq = saved && Number.isInteger(saved.lastSeq) ? saved.lastSeq : 0;
    this.items = saved && Array.isArray(saved.pending) ? saved.pending.filter(valid) : [];
    this.session = saved && Number.isInteger(saved.session) ? saved.session : null;
    for (const message of this.items) this.lastSeq = Math.max(this.lastSeq, message.seq);
  }

  // The box is kept per ticket, and one ticket sits several sessions (the rehearsal, then
  // the formal one): once the server says which session this login is in, anything left
  // from another session is dropped, never sent into this one. A box saved before
  // sessions were recorded is taken as this session's.
  bind(sessionId) {
    if (this.session !== null && this.session !== sessionId) this.items = [];
    this.session = sessionId;
    this.save();
  }

  get size() {
    return this.items.length;
  }

  save() {
    this.store.set(this.key, {
      lastSeq: this.lastSeq,
      pending: this.items,
      ...(this.session === null ? {} : { session: this.session }),
    });
  }

  add(message) {
    this.lastSeq += 1;
    const stamped = { ...message, seq: this.lastSeq };
    this.items.push(stamped);
    this.save();
    return stamped;
  }

  // Remove and return the message with this seq (acknowledged or refused for good).
  take(seq) {
    const index = this.items.findIndex((message) => message.seq === seq);
    if (index < 0) return null;
    const [message] = this.items.splice(index, 1);
    this.save();
    return message;
  }

  find(seq) {
    return this.items.find((message) => message.seq === seq) || null;
  }

  // After a (re)connect. The server's mark `ackedSeq` passed every message up to it, but
  // a refused message (database down, paused) does not move the mark, so one sent before
  // a later accepted one may be behind it and not applied. `applied(message)` says from
  // the server's state whether it was; the others are sent again under fresh numbers
  // (the server skips any number up to its mark). `keep(message)` false drops them.
  reconcile(ackedSeq, applied, keep) {
    this.lastSeq = Math.max(this.lastSeq, ackedSeq);
    const passed = this.items.filter((message) => message.seq <= ackedSeq);
    this.items = this.items.filter((message) => message.seq > ackedSeq);
    for (const message of passed) {
      if (!applied(message) && keep(message)) this.renumberMessage(message);
    }
    this.save();
  }

  // A message the server refused for now: send it again later under a fresh number.
  // Returns the renumbered message (null if a newer one for the same item replaced it).
  renumber(seq) {
    const message = this.take(seq);
    const renumbered = message ? this.renumberMessage(message) : null;
    this.save();
    return renumbered;
  }

  renumberMessage(message) {
    const newer = this.items.some(
      (other) =>
        other.type === message.type &&
        (message.type === 'submit' || other.item_id === message.item_id),
    );
    if (newer) return null;
    this.lastSeq += 1;
    const renumbered = { ...message, seq: this.lastSeq };
    this.items.push(renumbered);
    return renumbered;
  }

  // A newer answer (or flag) for an item makes an unsent older one pointless: drop it.
  // If the older one is already on its way, its late ack simply finds nothing here.
  supersede(message) {
    if (message.type !== 'answer' && message.type !== 'flag') return;
    this.items = this.items.filter(
      (old) => !(old.type === message.type && old.item_id === message.item_id),
    );
  }

  has(type) {
    return this.items.some((message) => message.type === type);
  }

  clear() {
    this.items = [];
    this.save();
  }

  forget() {
    this.items = [];
    this.store.remove(this.key);
  }
}
