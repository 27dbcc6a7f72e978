// One WebSocket to the server that keeps itself up: reconnects with exponential backoff
// and jitter, pings to notice a dead link, and reconnects at once when the browser
// reports the network is back.

const FIRST_RETRY_MS = 500;
const MAX_RETRY_MS = 10000;
const PING_EVERY_MS = 15000;
const SILENCE_LIMIT_MS = 40000;

export class Connection {
  // handlers: onOpen(), onMessage(message), onStatus(status) with status one of
  // 'connecting', 'open', 'offline', 'stopped'.
  constructor(url, protocol, handlers) {
    this.url = url;
    this.protocol = protocol;
    this.handlers = handlers;
    this.ws = null;
    this.status = 'stopped';
    this.stopped = true;
    this.attempt = 0;
    this.retryTimer = null;
    this.lastHeard = 0;
    this.generation = 0;
    this.heartbeat = null;
    this.onOnline = () => this.reconnectNow();
    this.onOffline = () => this.drop();
  }

  start() {
    if (!this.stopped) return;
    this.stopped = false;
    this.attempt = 0;
    window.addEventListener('online', this.onOnline);
    window.addEventListener('offline', this.onOffline);
    this.heartbeat = setInterval(() => this.beat(), PING_EVERY_MS);
    this.open();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.heartbeat);
    window.removeEventListener('online', this.onOnline);
    window.removeEventListener('offline', this.onOffline);
    const ws = this.ws;
    this.ws = null;
    if (ws) ws.close(1000);
    this.setStatus('stopped');
  }

  get isOpen() {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  send(message) {
    if (!this.isOpen) return false;
    this.ws.send(JSON.stringify(message));
    return true;
  }

  // The server accepted us (a state arrived): the next failure starts backing off afresh.
  healthy() {
    this.attempt = 0;
  }

  reconnectNow() {
    if (this.stopped || this.isOpen) return;
    clearTimeout(this.retryTimer);
    this.attempt = 0;
    if (this.ws) this.detach();
    this.open();
  }

  // Give up on the current socket (the link is gone) and try again with backoff.
  drop() {
    if (this.stopped) return;
    if (this.ws) this.detach();
    this.setStatus('offline');
    this.scheduleRetry();
  }

  open() {
    if (this.stopped) return;
    clearTimeout(this.retryTimer);
    this.setStatus('connecting');
    let ws;
    try {
      ws = new WebSocket(this.url, [this.protocol]);
    } catch (error) {
      console.warn('websocket', error);
      this.setStatus('offline');
      this.scheduleRetry();
      return;
    }
    this.ws = ws;
    this.generation += 1;
    ws.onopen = () => {
      if (this.ws !== ws) return;
      if (ws.protocol !== this.protocol) console.warn(`server chose subprotocol "${ws.protocol}"`);
      this.lastHeard = performance.now();
      this.setStatus('open');
      this.handlers.onOpen();
    };
    ws.onmessage = (event) => {
      if (this.ws !== ws) return;
      this.lastHeard = performance.now();
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        console.warn('ignored a frame that is not JSON');
        return;
      }
      if (message && typeof message.type === 'string') this.handlers.onMessage(message);
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.stopped) return;
      this.setStatus('offline');
      this.scheduleRetry();
    };
    ws.onerror = () => {
      // A close event follows; reconnecting is handled there.
    };
  }

  detach() {
    const ws = this.ws;
    this.ws = null;
    ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
    try {
      ws.close();
    } catch {
      // already closed
    }
  }

  scheduleRetry() {
    clearTimeout(this.retryTimer);
    const base = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** this.attempt);
    this.attempt += 1;
    const delay = Math.round(base * (0.8 + Math.random() * 0.4));
    this.retryTimer = setTimeout(() => this.open(), delay);
  }

  beat() {
    if (!this.isOpen) return;
    if (performance.now() - this.lastHeard > SILENCE_LIMIT_MS) {
      this.drop();
      return;
    }
    this.send({ type: 'ping' });
  }

  setStatus(status) {
    if (this.status === status) return;
    this.status = status;
    this.handlers.onStatus(status);
  }
}
