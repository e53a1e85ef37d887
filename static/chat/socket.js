// One WebSocket per open thread (docs/protocol.md). It reconnects by itself and resumes the
// active run after the last seq it delivered, so the app sees each run's events exactly once
// and in order, whatever the network did.

const TERMINAL_EVENTS = new Set([
  "thread.run.completed",
  "thread.run.incomplete",
  "thread.run.failed",
  "thread.run.cancelled",
  "thread.run.expired",
]);

// Close codes after which reconnecting cannot help (protocol.md: 4401 logged out, 4403 not
// this site's page, 4404 not yours, 4429 too many sockets open).
const FINAL_CLOSE_CODES = new Map([
  [4401, "You are logged out. Log in again to continue."],
  [4403, "You are not allowed to open this chat."],
  [4404, "This chat does not exist (it may have been deleted)."],
  [4429, "Too many chats are open in your tabs. Close some, then reload this page."],
]);

// A 4401 may come from a socket whose session key was replaced while the browser stays signed
// in (a password change here gives the session a new key): the page asks, at most this
// often, before it takes the close as a log-out.
const SIGNED_IN_RECHECK_MS = 60000;
const SIGNED_IN_URL = "/api/assistants/";

const BACKOFF_BASE_MS = 500;
const BACKOFF_CAP_MS = 15000;
const STABLE_AFTER_MS = 3000; // a connection that lived this long resets the backoff
const PING_EVERY_MS = 20000;
const SILENCE_LIMIT_MS = 50000; // no frame (not even a pong) for this long: the link is dead

export function isTerminalEvent(name) {
  return TERMINAL_EVENTS.has(name);
}

// Exponential backoff with jitter: half fixed, half random, so that many tabs dropped by the
// same server restart do not all come back in the same instant.
export function backoffDelay(attempt) {
  const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** attempt);
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

// Last delivered seq per run, and which run is still going (the one to resume). Run ids are
// compared as strings: the API and the socket need not agree on number vs string.
export class SeqTracker {
  constructor() {
    this.lastSeq = new Map();
    this.activeRun = null;
  }

  last(runId) {
    return this.lastSeq.get(String(runId)) ?? 0;
  }

  // Tell the tracker about a run known from the HTTP API before any frame of it arrived.
  // A run whose frames already arrived is left alone: it may even have ended by now.
  expect(runId) {
    const key = String(runId);
    if (this.lastSeq.has(key)) return;
    this.lastSeq.set(key, 0);
    this.activeRun = runId;
  }

  // "accept", "duplicate" (seq already seen) or "gap" (an earlier seq is missing).
  classify(frame) {
    const last = this.last(frame.run_id);
    if (frame.seq <= last) return "duplicate";
    return frame.seq === last + 1 ? "accept" : "gap";
  }

  record(frame) {
    this.lastSeq.set(String(frame.run_id), frame.seq);
    if (isTerminalEvent(frame.event)) {
      if (String(this.activeRun) === String(frame.run_id)) this.activeRun = null;
    } else {
      this.activeRun = frame.run_id;
    }
  }

  resumePoint() {
    if (this.activeRun === null) return null;
    return { runId: this.activeRun, afterSeq: this.last(this.activeRun) };
  }
}

// Whether the browser's cookie still signs it in: the socket's session may be an old one.
function stillSignedIn() {
  return fetch(SIGNED_IN_URL, { credentials: "same-origin" }).then(
    (response) => response.ok,
    () => false,
  );
}

export class ThreadSocket {
  // onFrame(frame): each run event once, in seq order, plus run-less error frames.
  // onState(state, detail): "connecting" | "open" | "reconnecting" | "closed".
  constructor(threadId, { onFrame, onState }) {
    this.threadId = threadId;
    this.onFrame = onFrame;
    this.onState = onState;
    this.seqs = new SeqTracker();
    this.ws = null;
    this.attempt = 0;
    this.retryTimer = null;
    this.pingTimer = null;
    this.stopped = false;
    this.resyncing = new Set();
    this.wakeUp = () => this.reconnectNow();
  }

  start() {
    window.addEventListener("online", this.wakeUp);
    document.addEventListener("visibilitychange", this.wakeUp);
    this.connect();
  }

  // Permanent: used when the user leaves the thread.
  stop() {
    this.stopped = true;
    window.removeEventListener("online", this.wakeUp);
    document.removeEventListener("visibilitychange", this.wakeUp);
    clearTimeout(this.retryTimer);
    this.stopHeartbeat();
    if (this.ws) this.ws.close(1000, "leaving thread");
    this.ws = null;
  }

  expectRun(runId) {
    this.seqs.expect(runId);
  }

  send(payload) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(payload));
    return true;
  }

  url() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const base = `${scheme}://${location.host}/ws/threads/${this.threadId}/`;
    const resume = this.seqs.resumePoint();
    if (!resume) return base;
    return `${base}?run_id=${encodeURIComponent(resume.runId)}&after_seq=${resume.afterSeq}`;
  }

  connect() {
    this.onState(this.attempt === 0 ? "connecting" : "reconnecting");
    const ws = new WebSocket(this.url());
    this.ws = ws;
    this.openedAt = 0;
    ws.onopen = () => this.handleOpen(ws);
    ws.onmessage = (message) => this.handleMessage(ws, message);
    ws.onclose = (event) => this.handleClose(ws, event);
  }

  handleOpen(ws) {
    if (ws !== this.ws) return;
    this.openedAt = Date.now();
    this.resyncing.clear();
    this.startHeartbeat();
    this.onState("open");
  }

  handleMessage(ws, message) {
    if (ws !== this.ws) return; // a late frame from a socket we already replaced
    this.lastHeard = Date.now();
    let frame;
    try {
      frame = JSON.parse(message.data);
    } catch {
      return; // the server only sends JSON; ignore line noise rather than break the view
    }
    if (!frame || typeof frame !== "object" || frame.event === "pong") return;
    this.route(frame);
  }

  // Frames outside any run's log (seq null) pass straight through; run frames are filtered.
  route(frame) {
    if (frame.run_id == null || frame.seq == null) {
      this.onFrame(frame);
      return;
    }
    const verdict = this.seqs.classify(frame);
    if (verdict === "duplicate") return;
    if (verdict === "gap") {
      this.requestResync(frame.run_id);
      return;
    }
    this.resyncing.delete(String(frame.run_id));
    this.seqs.record(frame);
    this.onFrame(frame);
  }

  // Defensive: the server promises no gaps, but if one shows up, ask for the missing events
  // once and drop later frames until the replay fills the hole (they will be replayed too).
  requestResync(runId) {
    if (this.resyncing.has(String(runId))) return;
    this.resyncing.add(String(runId));
    this.send({ type: "resume", run_id: runId, after_seq: this.seqs.last(runId) });
  }

  handleClose(ws, event) {
    if (ws !== this.ws) return;
    this.stopHeartbeat();
    this.ws = null;
    if (this.stopped) return;
    if (event.code === 4401 && this.mayRecheck()) {
      stillSignedIn().then((yes) => (yes ? this.connect() : this.closeFor(event.code)));
      return;
    }
    if (FINAL_CLOSE_CODES.has(event.code)) {
      this.closeFor(event.code);
      return;
    }
    if (this.openedAt && Date.now() - this.openedAt >= STABLE_AFTER_MS) this.attempt = 0;
    this.scheduleReconnect();
  }

  closeFor(code) {
    this.stopped = true;
    this.onState("closed", { code, message: FINAL_CLOSE_CODES.get(code) });
  }

  mayRecheck() {
    const now = Date.now();
    const may = now - (this.recheckedAt ?? 0) >= SIGNED_IN_RECHECK_MS;
    if (may) this.recheckedAt = now;
    return may;
  }

  scheduleReconnect() {
    const delay = backoffDelay(this.attempt);
    this.attempt += 1;
    this.onState("reconnecting", { delay });
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  // A phone waking up or the network returning should not wait out a long backoff.
  reconnectNow() {
    if (this.stopped || this.ws || document.visibilityState === "hidden") return;
    clearTimeout(this.retryTimer);
    this.connect();
  }

  // Pings keep idle proxies from cutting the socket and reveal a dead link that never sent
  // a close (a laptop lid, a mobile network change): then we drop it and resume.
  startHeartbeat() {
    this.lastHeard = Date.now();
    this.pingTimer = setInterval(() => {
      if (Date.now() - this.lastHeard > SILENCE_LIMIT_MS) {
        this.abandon();
        return;
      }
      this.send({ type: "ping" });
    }, PING_EVERY_MS);
  }

  // A dead link may take minutes to report its close, so stop listening and move on now.
  abandon() {
    const ws = this.ws;
    if (!ws) return;
    ws.onclose = null;
    ws.close(4000, "silent");
    this.handleClose(ws, { code: 4000 });
  }

  stopHeartbeat() {
    clearInterval(this.pingTimer);
    this.pingTimer = null;
  }
}
