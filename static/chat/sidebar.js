// The list of the user's threads (newest first, grouped by date, a page at a time: more load
// as the list is scrolled to its end) with rename and delete, and on narrow screens the
// drawer that holds it.

import { api } from "./api.js";
import { icon } from "./icons.js";
import { el } from "./render.js";
import { groupThreads } from "./thread_groups.js";

const $ = (id) => document.getElementById(id);

export class Sidebar {
  constructor({ app, onOpen, onDeleted, onRenamed }) {
    this.app = app;
    this.list = $("thread-list");
    this.empty = $("thread-list-empty");
    this.toggle = $("sidebar-toggle");
    this.onOpen = onOpen;
    this.onDeleted = onDeleted;
    this.onRenamed = onRenamed;
    this.threads = [];
    this.current = null;
    this.loadTicket = 0;
    this.nextCursor = null; // where the next page starts; null when all are loaded
    this.more = $("thread-list-more");
    this.more.addEventListener("click", () => this.loadMore());
    // Scrolled near the end: the next page, without a click.
    new IntersectionObserver((entries) => {
      if (entries.some((entry) => entry.isIntersecting)) this.loadMore();
    }, { root: this.list.parentElement, rootMargin: "200px" }).observe(this.more);
    this.toggle.addEventListener("click", () => (this.isOpen() ? this.close() : this.open()));
    $("sidebar-close").addEventListener("click", () => this.close());
    $("scrim").addEventListener("click", () => this.close());
    this.aside = $("sidebar");
    this.aside.addEventListener("keydown", (event) => this.keepTabInside(event));
    // Widened past the phone layout, the drawer is a column again: nothing may stay inert.
    matchMedia("(max-width: 700px)").addEventListener("change", (event) => event.matches || this.close());
  }

  async load(current) {
    const ticket = ++this.loadTicket;
    try {
      const { threads, next_cursor: nextCursor } = await api.listThreads();
      if (ticket !== this.loadTicket) return; // a newer load is on its way
      // Older pages already shown stay: the first page is fresh, the rest follows it.
      const fresh = new Set(threads.map((t) => t.id));
      const older = this.threads.slice(threads.length).filter((t) => !fresh.has(t.id));
      if (!older.length) this.nextCursor = nextCursor;
      this.threads = [...threads, ...older];
      this.render();
    } catch (error) {
      if (ticket !== this.loadTicket) return;
      this.empty.hidden = false;
      this.empty.textContent = `Could not load your chats: ${error.message}`;
    }
    if (current !== undefined) this.setCurrent(current);
  }

  async loadMore() {
    if (!this.nextCursor || this.loadingMore) return;
    this.loadingMore = true;
    try {
      const { threads, next_cursor: nextCursor } = await api.listThreads(this.nextCursor);
      const known = new Set(this.threads.map((t) => t.id));
      this.threads = [...this.threads, ...threads.filter((t) => !known.has(t.id))];
      this.nextCursor = nextCursor;
      this.render();
    } catch (error) {
      this.empty.hidden = false;
      this.empty.textContent = `Could not load more chats: ${error.message}`;
    } finally {
      this.loadingMore = false;
    }
  }

  add(thread) {
    this.threads = [thread, ...this.threads.filter((t) => t.id !== thread.id)];
    this.render();
  }

  remove(threadId) {
    this.threads = this.threads.filter((t) => t.id !== threadId);
    this.render();
  }

  setCurrent(threadId) {
    this.current = threadId;
    for (const item of this.list.children) {
      const isCurrent = Number(item.dataset.threadId) === threadId;
      item.classList.toggle("current", isCurrent);
      const link = item.querySelector(".thread-link");
      if (isCurrent) link?.setAttribute("aria-current", "page");
      else link?.removeAttribute("aria-current");
    }
  }

  render() {
    const rows = groupThreads(this.threads).flatMap(([label, threads]) => [
      // A plain item (not role=presentation): a list may only hold items, and a heading in one
      // still lets screen readers jump between the groups.
      el("li", { class: "thread-group" }, el("h2", { class: "thread-group-label", text: label })),
      ...threads.map((thread) => this.item(thread)),
    ]);
    this.list.replaceChildren(...rows);
    this.more.hidden = !this.nextCursor;
    this.empty.hidden = this.threads.length > 0;
    this.empty.textContent = "No chats yet.";
    this.setCurrent(this.current);
  }

  item(thread) {
    const title = thread.title || "Untitled chat";
    const link = el("a", { class: "thread-link", href: `/t/${thread.id}/`, title, text: title });
    link.addEventListener("click", (event) => {
      // Let ctrl/cmd/middle clicks open a real new tab.
      if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
      event.preventDefault();
      this.onOpen(thread.id);
    });
    const rename = iconButton("pencil", `Rename “${title}”`, "rename", () => this.startRename(thread, item));
    const remove = iconButton("trash", `Delete “${title}”`, "delete", () => this.confirmDelete(thread));
    const item = el(
      "li",
      { class: "thread-item", dataset: { threadId: String(thread.id) } },
      link,
      el("div", { class: "thread-actions" }, rename, remove),
    );
    return item;
  }

  // Inline rename: Enter or leaving the field saves, Escape cancels.
  startRename(thread, item) {
    const input = el("input", {
      class: "rename-input",
      type: "text",
      value: thread.title || "",
      maxlength: 200,
      "aria-label": "New title",
    });
    let done = false;
    const finish = async (save) => {
      if (done) return;
      done = true;
      const title = input.value.trim();
      if (save && title && title !== thread.title) await this.rename(thread, title);
      else this.render();
      this.list.querySelector(`[data-thread-id="${thread.id}"] .thread-link`)?.focus();
    };
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") finish(true);
      if (event.key === "Escape") {
        event.preventDefault(); // so the page does not also treat it as "stop the reply"
        finish(false);
      }
    });
    input.addEventListener("blur", () => finish(true));
    item.replaceChildren(input);
    input.focus();
    input.select();
  }

  async rename(thread, title) {
    try {
      const answer = await api.renameThread(thread.id, title);
      const saved = answer?.thread ?? { ...thread, title };
      this.threads = this.threads.map((t) => (t.id === thread.id ? { ...t, title: saved.title } : t));
      this.onRenamed({ ...thread, title: saved.title });
    } catch (error) {
      window.alert(`Could not rename the chat: ${error.message}`);
    }
    this.render();
  }

  async confirmDelete(thread) {
    const title = thread.title || "Untitled chat";
    if (!window.confirm(`Delete “${title}”? This cannot be undone.`)) return;
    try {
      await api.deleteThread(thread.id);
    } catch (error) {
      if (error.status !== 404) {
        window.alert(`Could not delete the chat: ${error.message}`);
        return;
      }
    }
    this.remove(thread.id);
    this.onDeleted(thread.id);
  }

  // ---- drawer (narrow screens) --------------------------------------------------------------

  isOpen() {
    return this.app.dataset.sidebar === "open";
  }

  open() {
    this.app.dataset.sidebar = "open";
    this.toggle.setAttribute("aria-expanded", "true");
    $("scrim").hidden = false;
    this.setBehindInert(true);
    (this.list.querySelector("[aria-current]") ?? $("new-chat")).focus();
  }

  close() {
    if (!this.isOpen()) return;
    this.app.dataset.sidebar = "closed";
    this.toggle.setAttribute("aria-expanded", "false");
    $("scrim").hidden = true;
    this.setBehindInert(false);
    this.toggle.focus({ preventScroll: true });
  }

  // The chat under the open drawer is covered: neither Tab nor a screen reader may reach it.
  setBehindInert(inert) {
    $("main").inert = inert;
    document.querySelector(".skip-link").inert = inert;
  }

  // Tab past the drawer's last control comes back to its first (Shift+Tab the other way),
  // rather than leaving the page for the browser's own controls.
  keepTabInside(event) {
    if (event.key !== "Tab" || !this.isOpen()) return;
    const stops = [...this.aside.querySelectorAll("a[href], button, input, select, [tabindex]")]
      .filter((node) => node.tabIndex >= 0 && !node.disabled && node.checkVisibility());
    const edge = event.shiftKey ? stops[0] : stops.at(-1);
    if (document.activeElement !== edge) return;
    event.preventDefault();
    (event.shiftKey ? stops.at(-1) : stops[0]).focus();
  }
}

function iconButton(iconName, label, kind, onClick) {
  const button = el(
    "button",
    { type: "button", class: `icon-button thread-${kind}`, "aria-label": label, title: label },
    icon(iconName),
  );
  button.addEventListener("click", onClick);
  return button;
}
