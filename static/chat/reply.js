// The assistant's reply to one run: its text, tool calls, status, error and usage.
//
// Cost per token is bounded: a delta only appends to a string and marks its block dirty; the
// Markdown of dirty blocks is rendered at most once per animation frame, and only this reply's
// blocks are touched, never the rest of the thread.

import { contentText, el, renderMarkdownInto, usageDetails, usageText } from "./render.js";
import { ToolStepView } from "./tools.js";

export const ACTIVE_STATUSES = new Set(["queued", "in_progress", "requires_action", "cancelling"]);

const RUN_STATUS_BY_EVENT = {
  "thread.run.created": "queued",
  "thread.run.queued": "queued",
  "thread.run.in_progress": "in_progress",
  "thread.run.requires_action": "requires_action",
  "thread.run.cancelling": "cancelling",
  "thread.run.completed": "completed",
  "thread.run.incomplete": "incomplete",
  "thread.run.failed": "failed",
  "thread.run.cancelled": "cancelled",
  "thread.run.expired": "expired",
};

const NOTICES = {
  cancelling: "Stopping…",
  cancelled: "Stopped. The reply above is incomplete.",
  incomplete: "The reply is incomplete.",
  expired: "The run expired before the reply was finished.",
};

// One assistant message: its text (`parts` are its content parts by index), and what its
// metadata says: a reasoning summary (shown collapsed, before the text) or a refusal.
class TextBlock {
  constructor(key) {
    this.key = key;
    this.parts = [];
    this.md = el("div", { class: "md", dataset: { part: "text" } });
    this.el = el("div", { class: "msg-part" }, this.md);
    this.dirty = false;
    this.reasoning = null;
  }

  // Reasoning and refusals arrive only in message metadata (docs/upstreams.md): the summary on
  // `created` or `completed`, the refusal flag on `completed`.
  applyMetadata(metadata) {
    if (typeof metadata?.reasoning_summary === "string" && metadata.reasoning_summary) {
      this.showReasoning(metadata.reasoning_summary);
    }
    if (metadata?.refusal === true && this.el.dataset.refusal !== "true") {
      this.el.dataset.refusal = "true";
      this.el.prepend(el("p", { class: "refusal-label", text: "The assistant declined this request." }));
    }
  }

  showReasoning(text) {
    if (!this.reasoning) {
      this.reasoningText = el("div", { class: "reasoning-text" });
      this.reasoning = el(
        "details",
        { class: "reasoning", dataset: { part: "reasoning" } },
        el("summary", { text: "Reasoning" }),
        this.reasoningText,
      );
      this.el.prepend(this.reasoning);
    }
    this.reasoningText.textContent = text; // plain text: it is the model's, like the reply
  }

  get text() {
    return this.parts.filter((part) => part).join("\n\n");
  }

  setText(text) {
    this.parts = [text];
    this.dirty = true;
  }

  append(index, value) {
    this.parts[index] = (this.parts[index] ?? "") + value;
    this.dirty = true;
  }
}

export class ReplyView {
  constructor(runId, { onChange, onEnd }) {
    this.runId = runId;
    this.onChange = onChange; // after each render: lets the thread keep the view scrolled
    this.onEnd = onEnd; // once, when a live run reaches a terminal status
    this.status = "queued";
    this.blocks = [];
    this.byKey = new Map();
    this.fromHistory = false;
    this.live = false; // true once any frame of this run arrived over the socket
    this.frameRequest = null;
    this.buildDom();
  }

  buildDom() {
    this.body = el("div", { class: "msg-body" });
    this.indicator = el("div", { class: "msg-indicator", "aria-hidden": "true" });
    this.notice = el("div", { class: "msg-notice", hidden: true });
    this.errorBox = el("div", { class: "msg-error", role: "alert", hidden: true });
    this.usage = el("div", { class: "usage", hidden: true });
    this.el = el(
      "article",
      { class: "msg msg-assistant", dataset: { role: "assistant", runId: String(this.runId) }, "aria-label": "Assistant reply" },
      el("div", { class: "avatar", "aria-hidden": "true" }),
      el("div", { class: "msg-main" }, this.body, this.indicator, this.notice, this.errorBox, this.usage),
    );
    this.updateStatusDom();
  }

  get active() {
    return ACTIVE_STATUSES.has(this.status);
  }

  get hasText() {
    return this.blocks.some((block) => block instanceof TextBlock && block.text.length > 0);
  }

  get text() {
    return this.blocks.filter((b) => b instanceof TextBlock).map((b) => b.text).join("\n\n");
  }

  // ---- live events ----------------------------------------------------------------------

  // Seq 1 starts the run's full log: it supersedes whatever the history (a checkpoint) showed.
  // The replay is built off-screen and swapped in once it has caught up with the checkpoint,
  // so a reload mid-reply never shows the text shrinking and growing again.
  beginLive() {
    if (!this.fromHistory) return;
    this.fromHistory = false;
    const shown = this.body;
    this.held = { body: shown, length: this.text.length };
    this.body = el("div", { class: "msg-body" });
    this.blocks = [];
    this.byKey.clear();
    this.setError(null);
  }

  swapInLive(final) {
    if (!this.held) return;
    if (!final && this.active && this.text.length < this.held.length) return;
    this.held.body.replaceWith(this.body);
    this.held = null;
  }

  apply(frame) {
    const { event, data } = frame;
    this.live = true;
    if (event === "notice") return this.setLiveNotice(data);
    if (this.liveNotice) this.setLiveNotice(null); // the run moved on: the notice is over
    if (event === "error") return this.setError(data);
    if (event in RUN_STATUS_BY_EVENT) return this.applyRun(event, data ?? {});
    if (event.startsWith("thread.run.step.")) return this.applyStep(event, data ?? {});
    if (event.startsWith("thread.message.")) return this.applyMessage(event, data ?? {});
  }

  applyRun(event, run) {
    const wasActive = this.active;
    this.setStatus(run.status ?? RUN_STATUS_BY_EVENT[event]);
    if (run.model) this.model = run.model;
    if (run.usage) this.setUsage(run.usage);
    if (run.last_error) this.setError(run.last_error);
    if (run.incomplete_details?.reason) this.incompleteReason = run.incomplete_details.reason;
    this.explainFailure();
    if (wasActive && !this.active) this.finish();
  }

  applyMessage(event, message) {
    if (message.role && message.role !== "assistant") return;
    const block = this.textBlock(message.id ?? "message");
    if (event === "thread.message.delta") {
      for (const part of message.delta?.content ?? []) {
        if (part.type === "text" && part.text?.value) block.append(part.index ?? 0, part.text.value);
      }
    } else {
      block.applyMetadata(message.metadata);
      // created/completed/incomplete carry the whole message: trust it over our sum of deltas.
      if (Array.isArray(message.content) && message.content.length) {
        block.setText(contentText(message.content));
      }
    }
    this.scheduleRender();
  }

  applyStep(event, step) {
    if (event === "thread.run.step.delta") {
      if (step.delta?.step_details?.type !== "tool_calls") return;
      this.toolStep(step.id).applyDelta(step.delta);
    } else {
      if (step.type !== "tool_calls" && step.step_details?.type !== "tool_calls") return;
      this.toolStep(step.id).applySnapshot(step);
      if (step.last_error) this.setError(step.last_error);
    }
    this.scheduleRender();
  }

  // ---- history (GET /api/threads/<id>/) ---------------------------------------------------

  // `messages` are this run's assistant messages from the database, `run.steps` its steps
  // (stored when the run ended). Blocks already shown (live) are updated in order, text blocks
  // with messages and tool blocks with tool steps, so nothing is shown twice.
  loadHistory(run, messages) {
    // A stored state older than what this tab saw live (the run ended here, the database
    // answer was already on its way) must not bring the run back to life.
    if (this.live && !this.active && ACTIVE_STATUSES.has(run.status)) return;
    this.fromHistory = this.fromHistory || this.blocks.length === 0;
    this.loadParts(storedParts(run, messages));
    this.setStatus(run.status ?? this.status);
    this.model = run.model ?? this.model;
    this.setUsage(run.usage ?? null);
    this.setError(run.last_error ?? null);
    this.explainFailure();
    this.renderNow(true);
  }

  loadParts({ parts, ordered }) {
    const texts = this.blocks.filter((block) => block instanceof TextBlock);
    const tools = this.blocks.filter((block) => block instanceof ToolStepView);
    let textIndex = 0;
    let toolIndex = 0;
    const placed = parts.map(({ message, step }) => {
      if (message) {
        const block = texts[textIndex++] ?? this.textBlock(`db-${message.id}`);
        block.setText(contentText(message.content));
        block.applyMetadata(message.metadata);
        return block;
      }
      const block = tools[toolIndex++] ?? this.toolStep(`db-${step.id}`);
      block.applySnapshot(step);
      return block;
    });
    // Blocks with no stored counterpart (a message the server never persisted) are dropped.
    for (const stale of texts.slice(textIndex)) this.removeBlock(stale);
    if (!ordered) return; // no steps stored (yet): tool blocks seen live stay as they are
    for (const stale of tools.slice(toolIndex)) this.removeBlock(stale);
    this.blocks = placed;
    this.body.append(...placed.map((block) => block.el)); // moves them into the stored order
  }

  // ---- blocks -----------------------------------------------------------------------------

  textBlock(key) {
    return this.block(`m:${key}`, () => new TextBlock(key));
  }

  toolStep(stepId) {
    return this.block(`s:${stepId}`, () => new ToolStepView(stepId));
  }

  block(key, create) {
    let block = this.byKey.get(key);
    if (!block) {
      block = create();
      this.byKey.set(key, block);
      this.blocks.push(block);
      this.body.append(block.el);
    }
    return block;
  }

  removeBlock(block) {
    this.blocks = this.blocks.filter((b) => b !== block);
    for (const [key, value] of this.byKey) if (value === block) this.byKey.delete(key);
    block.el.remove();
  }

  // ---- rendering --------------------------------------------------------------------------

  scheduleRender() {
    if (this.frameRequest !== null) return;
    this.frameRequest = requestAnimationFrame(() => {
      this.frameRequest = null;
      this.renderNow(false);
    });
  }

  renderNow(final) {
    if (this.frameRequest !== null) {
      cancelAnimationFrame(this.frameRequest);
      this.frameRequest = null;
    }
    for (const block of this.blocks) {
      if (block instanceof TextBlock) {
        if (block.dirty || final) renderMarkdownInto(block.md, block.text, { final });
        block.dirty = false;
      } else {
        block.render();
      }
    }
    this.swapInLive(final);
    this.updateStatusDom();
    this.onChange?.(this);
  }

  finish() {
    this.renderNow(true);
    this.onEnd?.(this);
  }

  setStatus(status) {
    if (!status || status === this.status) return;
    this.status = status;
    this.updateStatusDom();
  }

  updateStatusDom() {
    const streaming = this.active && this.hasText;
    this.el.dataset.status = this.status;
    this.el.dataset.streaming = String(streaming);
    this.el.setAttribute("aria-busy", String(this.active));
    this.indicator.hidden = !this.active || this.status === "cancelling";
    this.indicator.dataset.phase = streaming ? "writing" : this.phaseWithoutText();
    this.indicator.textContent = streaming ? "" : this.indicatorLabel();
    this.showNotice();
  }

  phaseWithoutText() {
    const toolRunning = this.blocks.some((b) => b instanceof ToolStepView && b.status === "in_progress");
    return toolRunning || this.status === "requires_action" ? "tool" : "thinking";
  }

  indicatorLabel() {
    return this.phaseWithoutText() === "tool" ? "Using a tool" : "Thinking";
  }

  // A passing word from the server while the run goes on ("waiting for the model…", "saving
  // is taking longer than usual"): shown until the run's next event.
  setLiveNotice(notice) {
    this.liveNotice = notice?.message ?? null;
    this.showNotice();
  }

  showNotice() {
    let text = this.liveNotice ?? NOTICES[this.status] ?? null;
    // "The reply above" only when there is one.
    if (this.status === "cancelled" && !this.hasText && !this.liveNotice) text = "Stopped before any text was written.";
    if (this.status === "incomplete" && this.incompleteReason) {
      text = `The reply is incomplete (${this.incompleteReason.replaceAll("_", " ")}).`;
    }
    this.notice.hidden = !text;
    this.notice.textContent = text ?? "";
    this.notice.dataset.kind = this.status;
  }

  // Counts are 0 in the database until a run ends, so an active run shows none.
  setUsage(usage) {
    const text = this.active ? null : usageText(usage);
    this.usage.hidden = !text;
    this.usage.textContent = text ?? "";
    this.usage.title = usageDetails(usage, this.model);
    this.usage.dataset.estimated = String(Boolean(usage?.estimated));
  }

  // A failed run always says so, even when the server gave no last_error.
  explainFailure() {
    if (this.status === "failed" && !this.error) this.setError({ message: "The reply failed." });
  }

  // `error` is {code, message} from an error frame, a failed run or a failed step.
  setError(error) {
    this.error = error;
    this.errorBox.hidden = !error;
    if (!error) return;
    // A sentence for everyone; the code, for whoever reports the problem, behind a toggle.
    const sentence = el("p", { class: "msg-error-text", text: error.message || "Something went wrong while writing this reply." });
    const details = error.code
      ? el("details", { class: "msg-error-details" }, el("summary", { text: "Details" }), el("code", { text: `Error code: ${error.code}` }))
      : null;
    this.errorBox.replaceChildren(sentence, ...(details ? [details] : []));
  }
}

// A stored run as the ordered parts of its reply: `{message}` and `{step}` (tool calls). With
// steps (a run that ended), their order is the reply's, and a message_creation step stands for
// the message it wrote; without (a run still going, or stored before steps were kept), only
// the messages, in order.
function storedParts(run, messages) {
  const steps = Array.isArray(run.steps) ? run.steps : [];
  const byId = new Map(messages.map((message) => [String(message.id), message]));
  const used = new Set();
  const parts = [];
  for (const step of steps) {
    const details = step.step_details ?? {};
    if (details.type === "tool_calls") {
      parts.push({ step });
      continue;
    }
    const message = byId.get(String(details.message_creation?.message_id));
    if (message && !used.has(message)) {
      used.add(message);
      parts.push({ message });
    }
  }
  for (const message of messages) if (!used.has(message)) parts.push({ message });
  return { parts, ordered: steps.length > 0 };
}
