// The console's WebSocket to /ws/proctor: hello, commands with sequence numbers that
// resolve on `ack` or reject on `error`, and reconnection with back-off.

const POLICY_VIOLATION = 1008;

export class ProctorConnection {
  constructor({ path, protocol, sessionId, onMessage, onLink }) {
    this.path = path;
    this.protocol = protocol;
    this.sessionId = sessionId;
    this.onMessage = onMessage;
    this.onLink = onLink;
    this.seq = 0;
    this.pending = new Map();
    this.delay = 500;
    this.stopped = false;
    this.ws = null;
  }

  url() {
    const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    return `${scheme}//${window.location.host}${this.path}`;
  }

  open() {
    this.onLink("connecting");
    const ws = new WebSocket(this.url(), [this.protocol]);
    this.ws = ws;
    ws.addEventListener("open", () => {
      this.delay = 500;
      ws.send(JSON.stringify({ type: "hello", protocol: this.protocol, session_id: this.sessionId }));
      this.onLink("open");
    });
    ws.addEventListener("message", (event) => this.receive(event.data));
    ws.addEventListener("close", (event) => this.closed(event));
  }

  receive(text) {
    let message;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    if (message.type === "ack" || (message.type === "error" && message.ref_seq)) {
      const seq = message.type === "ack" ? message.seq : message.ref_seq;
      const waiter = this.pending.get(seq);
      if (waiter) {
        this.pending.delete(seq);
        if (message.type === "ack") waiter.resolve(message);
        else waiter.reject(message);
        return;
      }
    }
    this.onMessage(message);
  }

  closed(event) {
    for (const waiter of this.pending.values()) {
      waiter.reject({ code: "disconnected", message: "连接已断开，请确认操作结果后重试。" });
    }
    this.pending.clear();
    if (this.stopped) return;
    if (event.code === POLICY_VIOLATION) {
      this.onLink("refused", event.reason);
      return;
    }
    this.onLink("closed");
    window.setTimeout(() => this.open(), this.delay);
    this.delay = Math.min(this.delay * 2, 5000);
  }

  /** Send a command; resolves with the `ack`, rejects with the `error`. */
  send(command) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) {
      return Promise.reject({ code: "disconnected", message: "未连接服务器。Not connected." });
    }
    this.seq += 1;
    const seq = this.seq;
    const promise = new Promise((resolve, reject) => this.pending.set(seq, { resolve, reject }));
    this.ws.send(JSON.stringify({ ...command, seq }));
    return promise;
  }
}
