// The open thread's message list: user messages and one ReplyView per run. It merges three
// sources that overlap: the history from GET /api/threads/<id>/, messages this tab is sending
// (shown before the server confirms them), and live frames from the socket.

import { contentText, el } from "./render.js";
import { ReplyView } from "./reply.js";
import { canContinue, decorateReply, decorateUser, showBusy } from "./branching.js";

const PIN_DISTANCE_PX = 80; // within this of the bottom, new text keeps the view scrolled down

export class ThreadView {
  constructor(container, emptyState, { onRunEnd, onActivity, branchActions }) {
    this.container = container;
    this.branchActions = branchActions; // select, regenerate, resend (branching.js)
    this.emptyState = emptyState;
    this.onRunEnd = onRunEnd;
    // The set of active runs may have changed: the controls that start a run follow it.
    this.onActivity = () => {
      showBusy(this.container, this.activeRunId() !== null);
      onActivity();
    };
    this.pinned = true;
    container.addEventListener("scroll", () => {
      const gap = container.scrollHeight - container.scrollTop - container.clientHeight;
      this.pinned = gap < PIN_DISTANCE_PX;
    });
    this.reset();
  }

  reset() {
    this.replies = new Map(); // run id -> ReplyView
    this.users = new Map(); // server message id -> element
    this.pending = []; // user messages sent from this tab, not yet confirmed by the server
    this.container.replaceChildren(this.emptyState);
    this.emptyState.hidden = false;
    this.pinned = true;
  }

  activeRunId() {
    for (const reply of this.replies.values()) if (reply.active) return reply.runId;
    return null;
  }

  // The server cannot give this run's frames (`resync`): the database's state is the truth
  // now, even for a reply this tab was streaming (which history otherwise leaves alone).
  stopTrustingLive(runId) {
    const reply = this.replies.get(String(runId));
    if (reply) reply.live = false;
  }

  // ---- history ----------------------------------------------------------------------------

  // Build or reconcile the list from the API. Runs that are streaming live in this tab keep
  // their live state; everything else takes the database's word.
  loadHistory({ messages = [], runs = [], assistant = null }, { initial = false } = {}) {
    this.continuable = canContinue(assistant);
    const runsById = new Map(runs.map((run) => [String(run.id), run]));
    const order = [];
    const placed = new Set();
    const placeReply = (runId) => {
      const key = String(runId);
      if (placed.has(key) || !runsById.has(key)) return;
      placed.add(key);
      order.push(this.replyFromHistory(runsById.get(key), messages).el);
    };
    const runOfUser = this.userRunPairing(messages, runs);
    for (const message of messages) {
      if (message.role === "user") {
        order.push(this.userFromHistory(message, runOfUser.get(message)));
        placeReply(runOfUser.get(message) ?? "");
        this.decorate(message, runOfUser.get(message));
      } else if (message.run_id != null) {
        placeReply(message.run_id);
      }
    }
    for (const run of runs) placeReply(run.id); // runs with no message yet (queued, failed early)
    // Re-placing nodes detaches them, which drops focus (from an edit box, a version arrow).
    const focused = this.container.contains(document.activeElement) ? document.activeElement : null;
    this.container.replaceChildren(this.emptyState, ...order, ...this.pending.map((p) => p.el));
    if (focused?.isConnected) focused.focus({ preventScroll: true });
    showBusy(this.container, this.activeRunId() !== null);
    this.afterChange(initial);
  }

  // A new branch starts at this message (edited: from the message itself; regenerated: from
  // its reply): what follows it is another branch's, taken off until the server's answer.
  leaveBranchAt(messageId, { keepMessage }) {
    const node = this.users.get(String(messageId));
    let next = keepMessage ? node?.nextElementSibling : node;
    while (next) {
      const after = next.nextElementSibling;
      next.remove();
      next = after;
    }
  }

  // The branch controls of a user message and of the reply shown after it.
  decorate(message, runId) {
    if (!message.replies || !this.branchActions) return;
    decorateUser(this.users.get(String(message.id)), message, this.branchActions);
    const reply = runId == null ? null : this.replies.get(String(runId));
    if (reply) decorateReply(reply, message, this.branchActions, { continuable: this.continuable });
  }

  // Which run each user message started. The API's `replies.run_id` says which is shown (a
  // regenerated reply answers an older message); then its run_id; if the server leaves both
  // empty, runs are paired with user messages in order (one run per send).
  userRunPairing(messages, runs) {
    const users = messages.filter((m) => m.role === "user");
    if (users.some((m) => m.replies)) return new Map(users.map((m) => [m, m.replies?.run_id]));
    const sortedRuns = [...runs].sort((a, b) => Number(a.id) - Number(b.id));
    const explicit = users.some((m) => m.run_id != null);
    return new Map(users.map((m, i) => [m, explicit ? m.run_id : sortedRuns[i]?.id]));
  }

  replyFromHistory(run, messages) {
    const reply = this.reply(run.id);
    if (reply.live && reply.active) return reply; // the socket is ahead of the database
    const own = messages.filter((m) => m.role === "assistant" && String(m.run_id) === String(run.id));
    reply.loadHistory(run, own);
    return reply;
  }

  // A stored user message may be one this tab is still showing as pending: reuse that bubble.
  userFromHistory(message, runId) {
    const key = String(message.id);
    const text = contentText(message.content);
    let node = this.users.get(key) ?? this.claimPending(runId, text);
    if (!node) node = userMessageElement(text, "completed");
    node.dataset.messageId = key;
    node.dataset.status = message.status ?? "completed";
    delete node.dataset.pending;
    this.users.set(key, node);
    return node;
  }

  // ---- sending ----------------------------------------------------------------------------

  addPending(text) {
    const node = userMessageElement(text, "pending");
    node.dataset.pending = "true";
    const entry = { el: node, text, runId: null };
    this.pending.push(entry);
    this.container.append(node);
    this.pinned = true;
    this.afterChange(false);
    return entry;
  }

  // The POST answered: the message is stored and its run exists.
  confirmPending(entry, runId) {
    entry.runId = runId;
    entry.el.dataset.status = "completed";
    const reply = this.reply(runId);
    if (!reply.el.isConnected) entry.el.after(reply.el);
    this.afterChange(false);
    this.onActivity();
    return reply;
  }

  failPending(entry) {
    this.pending = this.pending.filter((p) => p !== entry);
    entry.el.remove();
    this.afterChange(false);
  }

  // ---- live frames ------------------------------------------------------------------------

  handleFrame(frame) {
    if (frame.run_id == null) return; // run-less errors are the app's business, not the list's
    const reply = this.reply(frame.run_id);
    if (frame.seq === 1) reply.beginLive();
    const data = frame.data ?? {};
    if (frame.event === "thread.message.created" && data.role === "user") {
      this.showUserFromFrame(frame.run_id, data);
    } else {
      reply.apply(frame);
    }
    if (!reply.el.isConnected) this.container.append(reply.el);
    this.onActivity();
  }

  // Seq 1 of every run: the user message that started it, possibly sent from another tab.
  showUserFromFrame(runId, data) {
    const id = String(data.metadata?.message_id ?? data.id);
    const reply = this.reply(runId);
    let node = this.users.get(id) ?? this.claimPending(runId, contentText(data.content));
    if (!node) node = userMessageElement(contentText(data.content), "completed");
    node.dataset.messageId = id;
    node.dataset.status = "completed";
    delete node.dataset.pending;
    this.users.set(id, node);
    if (!node.isConnected) this.container.append(node);
    node.after(reply.el); // the reply always follows the message that asked for it
    this.afterChange(false);
  }

  // This tab's own message: matched by run id once the POST answered, by text before that.
  claimPending(runId, text) {
    const entry =
      this.pending.find((p) => String(p.runId) === String(runId)) ??
      this.pending.find((p) => p.runId === null && p.text === text);
    if (!entry) return null;
    this.pending = this.pending.filter((p) => p !== entry);
    return entry.el;
  }

  // ---- replies ----------------------------------------------------------------------------

  reply(runId) {
    const key = String(runId);
    let reply = this.replies.get(key);
    if (!reply) {
      reply = new ReplyView(runId, {
        onChange: () => this.afterChange(false),
        onEnd: (view) => {
          this.onActivity();
          this.onRunEnd(view);
        },
      });
      this.replies.set(key, reply);
    }
    return reply;
  }

  afterChange(force) {
    this.emptyState.hidden = this.container.children.length > 1;
    if (force || this.pinned) this.container.scrollTop = this.container.scrollHeight;
  }
}

function userMessageElement(text, status) {
  return el(
    "article",
    { class: "msg msg-user", dataset: { role: "user", status }, "aria-label": "Your message" },
    el("div", { class: "msg-main" }, el("div", { class: "msg-text", text })),
  );
}
