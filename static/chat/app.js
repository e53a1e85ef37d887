// The chat page: sidebar of threads, the open thread, the composer, and the socket that keeps
// the open thread live. Routing is /, /t/<id>/ with history.pushState (no page reloads).

import { api } from "./api.js";
import { AssistantPicker } from "./assistants.js";
import { BudgetMeter } from "./budget.js";
import { ThreadSocket } from "./socket.js";
import { ThreadView } from "./thread.js";
import { Sidebar } from "./sidebar.js";
import { SearchDialog } from "./search.js";
import { ThreadTools } from "./thread_tools.js";
import { STILL_WRITING, branchActions } from "./branch_actions.js";
import { loadDraft, saveDraft } from "./drafts.js";
import { SHORTCUTS, shortcutName } from "./shortcuts.js";

const $ = (id) => document.getElementById(id);

const END_ANNOUNCEMENTS = {
  completed: "The reply is complete.",
  cancelled: "The reply was stopped.",
  incomplete: "The reply is incomplete.",
  expired: "The run expired.",
  failed: "The reply failed.",
};


function threadIdFromPath(pathname) {
  const match = pathname.match(/^\/t\/(\d+)\/?$/);
  return match ? Number(match[1]) : null;
}

class ChatApp {
  constructor() {
    this.threadId = JSON.parse($("initial-thread-id").textContent);
    this.socket = null;
    this.sending = false;
    this.loadToken = 0; // bumps on navigation so late answers for another thread are dropped
    this.refreshIssued = 0;
    this.refreshApplied = 0;
    this.input = $("composer-input");
    this.sendButton = $("send-button");
    this.stopButton = $("stop-button");
    this.composerError = $("composer-error");
    this.connStatus = $("conn-status");
    this.view = new ThreadView($("messages"), $("empty-state"), {
      onRunEnd: (reply) => this.runEnded(reply),
      onActivity: () => this.updateControls(),
      branchActions: branchActions(this),
    });
    this.assistants = new AssistantPicker({
      bar: $("assistant-bar"),
      select: $("assistant-picker"),
      current: $("thread-assistant"),
    });
    this.budget = new BudgetMeter($("budget-meter"));
    this.sidebar = new Sidebar({
      app: $("app"),
      onOpen: (id) => this.navigate(id),
      onDeleted: (id) => id === this.threadId && this.navigate(null),
      onRenamed: (thread) => thread.id === this.threadId && this.setTitle(thread.title),
    });
  }

  start() {
    this.search = new SearchDialog({ onOpen: (result) => this.openResult(result) });
    this.tools = new ThreadTools({ onError: (message) => this.showComposerError(message) });
    $("composer").addEventListener("submit", (event) => {
      event.preventDefault();
      this.send();
    });
    this.input.addEventListener("input", () => this.composerChanged());
    this.input.addEventListener("keydown", (event) => this.composerKey(event));
    this.stopButton.addEventListener("click", () => this.stop());
    $("new-chat").addEventListener("click", () => this.navigate(null));
    document.addEventListener("keydown", (event) => this.globalKey(event));
    window.addEventListener("popstate", () => this.openThread(threadIdFromPath(location.pathname)));
    this.sidebar.load(this.threadId);
    this.assistants.load();
    this.budget.refresh();
    this.openThread(this.threadId);
    this.input.focus(); // ready to type, with no Tab through the sidebar first
  }

  // ---- navigation -------------------------------------------------------------------------

  navigate(threadId) {
    const url = threadId === null ? "/" : `/t/${threadId}/`;
    if (location.pathname !== url) history.pushState({ threadId }, "", url);
    this.sidebar.close();
    this.openThread(threadId);
    this.input.focus();
  }

  async openThread(threadId) {
    const token = ++this.loadToken;
    this.closeSocket();
    this.threadId = threadId;
    this.tools?.show(threadId);
    this.restoreDraft();
    this.view.reset();
    this.sidebar.setCurrent(threadId);
    this.showComposerError(null);
    this.setTitle(null);
    this.updateControls();
    if (threadId === null) return this.assistants.showNewChat();
    this.assistants.showThread(null);
    try {
      const payload = await api.getThread(threadId);
      if (token !== this.loadToken) return;
      this.setTitle(payload.thread?.title);
      this.assistants.showThread(payload.assistant, payload.thread?.assistant_id);
      this.view.loadHistory(payload, { initial: true });
      this.showTarget();
      this.openSocket(threadId);
    } catch (error) {
      if (token === this.loadToken) this.threadLoadFailed(error);
    }
  }

  // A search result: its thread, on the branch holding the message, scrolled to it.
  async openResult({ thread_id: threadId, message_id: messageId, run_id: runId, role }) {
    if (messageId !== null) {
      try {
        await api.selectBranch(threadId, messageId);
      } catch (error) {
        return this.showComposerError(error.message);
      }
    }
    this.target = messageId === null ? null : role === "user" ? `[data-message-id="${messageId}"]` : `[data-run-id="${runId}"]`;
    this.navigate(threadId);
  }

  // After a thread loaded: the message a search result pointed at, in view and marked.
  showTarget() {
    const node = this.target ? $("messages").querySelector(this.target) : null;
    this.target = null;
    if (!node) return;
    node.scrollIntoView({ block: "center" });
    node.classList.add("search-target");
  }

  threadLoadFailed(error) {
    if (error.status === 401) return this.toLogin();
    if (error.status === 404) {
      // Deleted (perhaps in another tab): what the user types next starts a new chat.
      this.sidebar.remove(this.threadId);
      this.threadId = null;
      this.sidebar.setCurrent(null);
      history.replaceState({ threadId: null }, "", "/");
      this.assistants.showNewChat();
    }
    this.showComposerError(error.message);
  }

  // Pull the stored state: after a run ends, and whenever the socket (re)connects, because
  // a run may have ended while we were away and then nothing would be replayed.
  async refreshThread() {
    const token = this.loadToken;
    const threadId = this.threadId;
    const ticket = ++this.refreshIssued;
    if (threadId === null) return;
    try {
      const payload = await api.getThread(threadId);
      // Answers can overtake each other; an older snapshot must not undo a newer one.
      if (token !== this.loadToken || ticket < this.refreshApplied) return;
      this.refreshApplied = ticket;
      this.setTitle(payload.thread?.title);
      this.view.loadHistory(payload);
      this.updateControls();
    } catch (error) {
      if (error.status === 401) this.toLogin();
    }
  }

  // The thread's title from its first exchange arrived (after the reply).
  titled(title) {
    if (title) this.setTitle(title);
    this.sidebar.load(this.threadId);
  }

  setTitle(title) {
    const text = title || "New chat";
    $("thread-title").textContent = text;
    document.title = `${text} · Chat`;
  }

  toLogin() {
    location.assign(`/accounts/login/?next=${encodeURIComponent(location.pathname)}`);
  }

  // ---- socket -----------------------------------------------------------------------------

  openSocket(threadId) {
    const socket = new ThreadSocket(threadId, {
      onFrame: (frame) => this.onFrame(frame),
      onState: (state, detail) => this.onSocketState(socket, state, detail),
    });
    const active = this.view.activeRunId();
    if (active !== null) socket.expectRun(active);
    this.socket = socket;
    socket.start();
  }

  closeSocket() {
    this.socket?.stop();
    this.socket = null;
    this.showConnection("idle");
  }

  onFrame(frame) {
    if (frame.event === "thread.branch") return this.refreshThread(); // switched in some tab
    // A run whose frames this server cannot give (settled after its process died, lost from
    // a stream): its state is the database's.
    if (frame.event === "resync") {
      this.view.stopTrustingLive(frame.run_id);
      return this.refreshThread();
    }
    if (frame.event === "thread.title") return this.titled(frame.data?.title);
    if (frame.event === "error" && frame.run_id == null) {
      this.showComposerError(frame.data?.message ?? "The server reported an error.");
      return;
    }
    this.view.handleFrame(frame);
    this.updateControls();
  }

  onSocketState(socket, state, detail) {
    if (socket !== this.socket) return;
    this.showConnection(state, detail);
    if (state === "open") this.refreshThread();
    if (state === "closed" && detail?.code === 4401) this.toLogin();
  }

  showConnection(state, detail) {
    const labels = {
      reconnecting: "Reconnecting…",
      closed: detail?.message ?? "Disconnected.",
    };
    this.connStatus.dataset.state = state;
    this.connStatus.textContent = labels[state] ?? "";
  }

  runEnded(reply) {
    // Nothing is being written any more: a warning that said so is over.
    // (This tab's words, or the server's answer to a send: both start the same way.)
    if (this.composerError.textContent.startsWith("A reply is still being written")) {
      this.showComposerError(null);
    }
    const message = END_ANNOUNCEMENTS[reply.status] ?? "The reply ended.";
    this.announce(reply.error?.message ? `${message} ${reply.error.message}` : message);
    this.refreshThread();
    this.sidebar.load(this.threadId);
    this.budget.refresh();
  }

  announce(text) {
    const region = $("announcer");
    region.textContent = "";
    // A fresh text node in a later task is announced even when the text repeats.
    setTimeout(() => (region.textContent = text), 50);
  }

  // ---- composer ---------------------------------------------------------------------------

  restoreDraft() {
    this.input.value = loadDraft(this.threadId);
    this.input.style.height = "auto";
    if (this.input.value) this.input.style.height = `${Math.min(this.input.scrollHeight, 240)}px`;
  }

  composerChanged() {
    saveDraft(this.threadId, this.input.value);
    this.input.style.height = "auto";
    this.input.style.height = `${Math.min(this.input.scrollHeight, 240)}px`;
    this.updateControls();
  }

  composerKey(event) {
    // isComposing: Enter that confirms an IME composition must not send half a word.
    if (event.key !== "Enter" || event.shiftKey || event.isComposing) return;
    event.preventDefault();
    if (!this.sendButton.disabled && !this.sendButton.hidden) this.send();
    else if (this.view.activeRunId() !== null && this.input.value.trim()) {
      this.showComposerError(STILL_WRITING);
    }
  }

  globalKey(event) {
    const shortcut = SHORTCUTS[shortcutName(event)];
    if (shortcut) {
      event.preventDefault();
      return shortcut(this);
    }
    if (event.key !== "Escape" || event.defaultPrevented) return;
    if (this.sidebar.isOpen()) return this.sidebar.close();
    if (this.view.activeRunId() !== null) {
      event.preventDefault();
      this.stop();
    }
  }

  updateControls() {
    const active = this.view.activeRunId() !== null;
    // Hiding the focused Stop would drop focus to the page; the composer is where it goes next.
    if (!active && document.activeElement === this.stopButton) this.input.focus();
    this.sendButton.hidden = active;
    this.stopButton.hidden = !active;
    this.sendButton.disabled = this.sending || !this.input.value.trim();
    this.assistants.setDisabled(this.sending);
    $("messages").setAttribute("aria-busy", String(active));
  }

  async send() {
    const text = this.input.value.trim();
    if (!text || this.sending || this.view.activeRunId() !== null) return;
    this.sending = true;
    this.showComposerError(null);
    this.input.value = "";
    this.composerChanged();
    const pending = this.view.addPending(text);
    try {
      const run = this.threadId === null ? await this.createThread(text) : await this.postMessage(text);
      const reply = this.view.confirmPending(pending, run.id);
      if (!reply.live) reply.setStatus(run.status ?? "queued");
      this.socket?.expectRun(run.id);
    } catch (error) {
      this.sendFailed(pending, text, error);
    } finally {
      this.sending = false;
      this.updateControls();
      this.input.focus(); // the Send button, if clicked, had it
    }
  }

  async createThread(text) {
    const token = this.loadToken;
    const { thread, run, assistant } = await api.createThread(text, this.assistants.selectedId());
    if (token === this.loadToken) {
      // Become this thread without reloading: the pending message stays on screen.
      this.threadId = thread.id;
      history.pushState({ threadId: thread.id }, "", `/t/${thread.id}/`);
      this.setTitle(thread.title);
      this.tools.show(thread.id);
      this.assistants.showThread(assistant, thread.assistant_id);
      this.sidebar.add(thread);
      this.sidebar.setCurrent(thread.id);
      this.openSocket(thread.id);
      this.socket.expectRun(run.id);
    }
    return run;
  }

  async postMessage(text) {
    const { run } = await api.sendMessage(this.threadId, text);
    return run;
  }

  sendFailed(pending, text, error) {
    this.view.failPending(pending);
    if (error.status === 401) return this.toLogin();
    if (error.code === "unknown_assistant") {
      // Removed since the list was loaded: offer the current list and say so.
      this.assistants.load();
      error = { message: "That assistant is no longer available. Pick another one and send again." };
    }
    // Give the text back so the user can retry without typing it again.
    if (!this.input.value) {
      this.input.value = text;
      this.composerChanged();
    }
    if (error.code === "budget_exhausted") this.budget.refresh();
    this.showComposerError(error.message);
  }

  async stop() {
    const runId = this.view.activeRunId();
    if (runId === null || this.threadId === null) return;
    const reply = this.view.reply(runId);
    if (reply.status === "cancelling") return;
    reply.setStatus("cancelling");
    try {
      await api.cancelRun(this.threadId, runId);
    } catch (error) {
      // 409: it ended on its own meanwhile; the stored state tells which way.
      if (error.status !== 409) this.showComposerError(error.message);
      this.refreshThread();
    }
    this.updateControls();
  }

  showComposerError(message) {
    this.composerError.hidden = !message;
    this.composerError.textContent = message ?? "";
  }
}

new ChatApp().start();
