// Which assistant answers: a picker for a new chat, the thread's assistant for an open one.
// The assistant is fixed when a thread is created (POST /api/threads/ with assistant_id), so
// an open thread only shows it.

import { api } from "./api.js";

const PROTOCOL_NAMES = {
  assistants: "Assistants API",
  chat_completions: "Chat Completions",
  responses: "Responses API",
};

export function assistantLabel(assistant) {
  return assistant.model ? `${assistant.name} · ${assistant.model}` : assistant.name;
}

function assistantTitle(assistant) {
  const protocol = PROTOCOL_NAMES[assistant.protocol] ?? assistant.protocol;
  const details = [assistant.model, protocol].filter(Boolean).join(", ");
  return details ? `Assistant: ${assistant.name} (${details})` : `Assistant: ${assistant.name}`;
}

export class AssistantPicker {
  constructor({ bar, select, current }) {
    this.bar = bar;
    this.select = select;
    this.current = current;
    this.assistants = [];
    this.chosen = null; // the user's pick, kept across new chats in this tab
    this.mode = "none"; // "new" (picker) or "thread" (label)
    this.threadAssistant = null;
    this.threadAssistantId = null;
    select.addEventListener("change", () => (this.chosen = Number(select.value)));
  }

  // Fetch the list; on failure the picker stays hidden and new chats get the server's default.
  load() {
    return api
      .listAssistants()
      .then(({ assistants }) => this.setAssistants(assistants ?? []))
      .catch(() => this.setAssistants([]));
  }

  setAssistants(assistants) {
    this.assistants = assistants;
    const options = assistants.map((assistant) => {
      const option = document.createElement("option");
      option.value = String(assistant.id);
      option.textContent = assistantLabel(assistant);
      option.title = assistantTitle(assistant);
      return option;
    });
    this.select.replaceChildren(...options);
    const fallback = assistants.find((a) => a.is_default) ?? assistants[0];
    const pick = assistants.find((a) => a.id === this.chosen) ?? fallback;
    if (pick) this.select.value = String(pick.id);
    if (this.chosen !== null && pick?.id !== this.chosen) this.chosen = null; // it is gone
    this.threadAssistant ??= this.find(this.threadAssistantId);
    this.render();
  }

  find(id) {
    return this.assistants.find((assistant) => assistant.id === id) ?? null;
  }

  // The id to create the next thread with; null lets the server use its default.
  selectedId() {
    if (this.mode !== "new" || !this.assistants.length) return null;
    return Number(this.select.value);
  }

  showNewChat() {
    this.mode = "new";
    this.render();
  }

  // `assistant` is the API's assistant object; a thread from before the picker existed, or
  // an answer without one, falls back to the list by id.
  showThread(assistant, assistantId = null) {
    this.mode = "thread";
    this.threadAssistantId = assistant?.id ?? assistantId;
    this.threadAssistant = assistant ?? this.find(assistantId);
    this.render();
  }

  setDisabled(disabled) {
    this.select.disabled = disabled;
  }

  render() {
    const picking = this.mode === "new" && this.assistants.length > 0;
    const shown = this.mode === "thread" ? this.threadAssistant : null;
    this.select.hidden = !picking;
    this.bar.querySelector("label")?.toggleAttribute("hidden", !picking);
    this.current.hidden = !shown;
    this.current.textContent = shown ? assistantLabel(shown) : "";
    this.current.title = shown ? assistantTitle(shown) : "";
    if (shown) this.current.dataset.assistantId = String(shown.id);
    else delete this.current.dataset.assistantId;
    this.bar.hidden = !picking && !shown;
  }
}
