// The search dialog (Ctrl/Cmd+K, or the sidebar's Search button): the user's messages and
// titles matching what is typed, each with its snippet, the matched words marked. Choosing a
// result opens its thread at the message (`onOpen`).

import { api } from "./api.js";
import { el } from "./render.js";

const $ = (id) => document.getElementById(id);
const WAIT_MS = 200; // after the last keystroke: one request per pause, not per key

const ROLE_WORDS = { user: "You", assistant: "Reply", title: "Title" };

export class SearchDialog {
  constructor({ onOpen }) {
    this.dialog = $("search-dialog");
    this.input = $("search-input");
    this.list = $("search-results");
    this.status = $("search-status");
    this.onOpen = onOpen;
    this.ticket = 0;
    this.timer = null;
    $("search-open").addEventListener("click", () => this.open());
    $("search-close").addEventListener("click", () => this.dialog.close());
    this.input.addEventListener("input", () => this.schedule());
  }

  open() {
    if (!this.dialog.open) this.dialog.showModal();
    this.input.focus();
    this.input.select();
  }

  schedule() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.run(), WAIT_MS);
  }

  async run() {
    const query = this.input.value.trim();
    const ticket = ++this.ticket;
    if (!query) return this.show([], "");
    try {
      const { results } = await api.search(query);
      if (ticket === this.ticket) this.show(results, results.length ? "" : "Nothing found.");
    } catch (error) {
      if (ticket === this.ticket) this.show([], error.message);
    }
  }

  show(results, message) {
    this.list.replaceChildren(...results.map((result) => this.item(result)));
    const count = results.length === 1 ? "1 result" : `${results.length} results`;
    this.status.textContent = message || count; // a polite live region
  }

  item(result) {
    const snippet = el("span", { class: "search-snippet" }, ...result.snippet.map(snippetPart));
    const button = el(
      "button",
      { type: "button", class: "search-result" },
      el("span", { class: "search-thread", text: result.thread_title || "Untitled chat" }),
      el("span", { class: "search-role", text: ROLE_WORDS[result.role] ?? result.role }),
      snippet,
    );
    button.addEventListener("click", () => {
      this.dialog.close();
      this.onOpen(result);
    });
    return el("li", {}, button);
  }
}

// Text only: the snippet is the user's and the model's words, never markup.
function snippetPart(part) {
  return part.match ? el("mark", { text: part.text }) : document.createTextNode(part.text);
}
