// Tool calls inside a reply: function calls, code_interpreter and file_search, each as a
// collapsible block. Step events carry either whole tool_calls (step created/completed) or
// pieces of them (step.delta: argument and code fragments), which are merged here.

import { el, highlightCode, prettyJson, usageText } from "./render.js";

// Fold one tool_calls delta into the accumulated call (same `index`).
export function mergeToolCall(target, delta) {
  target.id ??= delta.id;
  target.type ??= delta.type;
  if (delta.function) mergeFunction(target, delta.function);
  if (delta.code_interpreter) mergeCode(target, delta.code_interpreter);
  if (delta.file_search) target.file_search = { ...target.file_search, ...delta.file_search };
  return target;
}

function mergeFunction(target, fn) {
  const into = (target.function ??= { name: "", arguments: "", output: null });
  if (fn.name && !into.name) into.name = fn.name;
  if (fn.arguments) into.arguments += fn.arguments;
  if (fn.output != null) into.output = fn.output;
}

function mergeCode(target, code) {
  const into = (target.code_interpreter ??= { input: "", outputs: [] });
  if (code.input) into.input += code.input;
  for (const output of code.outputs ?? []) {
    const index = output.index ?? into.outputs.length;
    into.outputs[index] = { ...into.outputs[index], ...output };
  }
}

// One step of type tool_calls: a list of calls, re-rendered in place (rAF-throttled by the
// reply) without rebuilding <details>, so a block the user opened stays open.
export class ToolStepView {
  constructor(stepId) {
    this.stepId = stepId;
    this.calls = [];
    this.status = "in_progress";
    this.callViews = [];
    this.el = el("div", { class: "tool-step", dataset: { stepId } });
  }

  applySnapshot(step) {
    const calls = step.step_details?.tool_calls;
    // An empty list (a step just created) must not wipe calls that deltas already built.
    if (Array.isArray(calls) && (calls.length || !this.calls.length)) {
      this.calls = calls.map((call) => structuredClone(call));
    }
    if (step.status) this.status = step.status;
    if (step.usage) this.usage = step.usage;
  }

  applyDelta(delta) {
    for (const piece of delta.step_details?.tool_calls ?? []) {
      const index = piece.index ?? this.calls.length;
      this.calls[index] = mergeToolCall(this.calls[index] ?? {}, piece);
    }
  }

  render() {
    this.el.dataset.status = this.status;
    const usage = usageText(this.usage);
    if (usage) this.el.title = `This step: ${usage}`;
    this.calls.forEach((call, index) => {
      if (!call) return;
      if (!this.callViews[index]) {
        this.callViews[index] = new ToolCallView();
        this.el.append(this.callViews[index].el);
      }
      this.callViews[index].update(call, this.status);
    });
  }
}

const STATUS_WORDS = {
  in_progress: "running…",
  completed: "done",
  failed: "failed",
  cancelled: "cancelled",
  expired: "expired",
};

class ToolCallView {
  constructor() {
    this.label = el("span", { class: "tool-name" });
    this.state = el("span", { class: "tool-state" });
    this.body = el("div", { class: "tool-body" });
    this.el = el(
      "details",
      { class: "tool-call" },
      el("summary", {}, el("span", { class: "tool-icon", "aria-hidden": "true" }), this.label, this.state),
      this.body,
    );
    this.sections = new Map();
  }

  update(call, stepStatus) {
    this.el.dataset.toolType = call.type ?? "unknown";
    // A function that failed answers the model with {"error": ...}; its step still completes.
    const status = stepStatus === "completed" && isErrorOutput(call.function?.output) ? "failed" : stepStatus;
    this.el.dataset.status = status ?? "";
    this.state.textContent = STATUS_WORDS[status] ?? status ?? "";
    if (call.type === "function") this.updateFunction(call.function ?? {});
    else if (call.type === "code_interpreter") this.updateCode(call.code_interpreter ?? {});
    else if (call.type === "file_search") this.updateFileSearch(call.file_search ?? {});
    else this.label.textContent = `Tool: ${call.type ?? "unknown"}`;
  }

  updateFunction(fn) {
    this.label.textContent = fn.name || "function";
    this.section("arguments", "Arguments", prettyJson(fn.arguments), "json");
    this.section("output", "Output", fn.output == null ? null : prettyJson(fn.output), null);
  }

  updateCode(code) {
    this.label.textContent = "Code interpreter";
    this.section("input", "Code", code.input ?? "", "python");
    const logs = (code.outputs ?? [])
      .filter(Boolean)
      .map((out) => (out.type === "image" ? `[image ${out.image?.file_id ?? ""}]` : out.logs ?? ""))
      .join("");
    this.section("output", "Output", logs || null, null);
  }

  updateFileSearch(search) {
    this.label.textContent = "File search";
    const results = search.results ?? [];
    const summary = results.length
      ? results.map((r) => `${r.file_name ?? r.file_id ?? "file"} (score ${r.score ?? "?"})`).join("\n")
      : "Searched the attached files.";
    this.section("results", "Results", summary, null);
  }

  // A titled <pre> that is created once and then only has its text replaced.
  section(key, title, text, language) {
    let entry = this.sections.get(key);
    if (text === null) {
      if (entry) entry.wrapper.hidden = true;
      return;
    }
    if (!entry) {
      // Focusable: a long unbroken value scrolls sideways, and only a focused box scrolls by key.
      const code = el("code", { class: language ? `language-${language}` : "" });
      const wrapper = el("div", { class: `tool-section tool-${key}` }, el("div", { class: "tool-section-title", text: title }), el("pre", { tabindex: 0 }, code));
      this.body.append(wrapper);
      entry = { wrapper, code, text: null };
      this.sections.set(key, entry);
    }
    entry.wrapper.hidden = false;
    if (entry.text === text) return;
    entry.text = text;
    entry.code.textContent = text;
    if (language) {
      delete entry.code.dataset.highlighted; // highlight.js skips elements it already did
      highlightCode(entry.code);
    }
  }
}

// The output `call_tool` gives the model when a function failed (chat/tools/registry.py).
function isErrorOutput(output) {
  if (typeof output !== "string" || !output.startsWith("{")) return false;
  try {
    const parsed = JSON.parse(output);
    return parsed !== null && typeof parsed === "object" && "error" in parsed;
  } catch {
    return false;
  }
}
