// Message controls on the open thread: Copy, and the branch controls: "‹ 2/3 ›" between versions of a message (edits) and of
// a reply (regenerations), "Edit" on a user message and "Regenerate" on a reply. The thread
// view calls `decorateUser` and `decorateReply` with what the API says of each user message
// (docs/api.md: `edits` and `replies`); the app does the requests (`actions`).

import { copyButton } from "./copy.js";
import { el } from "./render.js";

// `versions` is a list of ids to switch to (null: nothing to show), `index` the one shown.
function switcher(label, versions, index, onSwitch) {
  if (versions.length < 2 || index === null || index === undefined) return null;
  const go = (to) => () => onSwitch(versions[to]);
  const previous = el("button", {
    type: "button", class: "icon-button branch-prev", "aria-label": `Previous ${label}`,
    disabled: index === 0, text: "‹",
  });
  const next = el("button", {
    type: "button", class: "icon-button branch-next", "aria-label": `Next ${label}`,
    disabled: index === versions.length - 1, text: "›",
  });
  previous.addEventListener("click", go(index - 1));
  next.addEventListener("click", go(index + 1));
  const position = el("span", {
    class: "branch-position", text: `${index + 1}/${versions.length}`,
    "aria-label": `${label} ${index + 1} of ${versions.length}`,
  });
  return el("span", { class: "branch-switch", role: "group", "aria-label": `${label}s` }, previous, position, next);
}

function actionButton(text, className, onClick) {
  const button = el("button", { type: "button", class: `link-button ${className}`, text });
  button.addEventListener("click", onClick);
  return button;
}

// A switch rebuilds the bar: the keyboard's focus moves to the same control in the new one.
function replaceBar(container, bar) {
  const old = container.querySelector(":scope > .branch-bar");
  const focused = old?.contains(document.activeElement) ? document.activeElement.className : null;
  old?.remove();
  container.append(bar);
  if (!focused) return;
  const same = bar.querySelector(`[class="${focused}"]`);
  (same && !same.disabled ? same : bar.querySelector("button:not([disabled])"))?.focus();
}

export function decorateUser(node, message, actions) {
  const edits = message.edits ?? { ids: [message.id], index: 0 };
  const bar = el(
    "div",
    { class: "branch-bar" },
    switcher("version", edits.ids, edits.index, (id) => actions.select(id)),
    copyButton("Copy your message", () => node.querySelector(".msg-text")?.textContent ?? ""),
    actionButton("Edit", "branch-edit", () => startEdit(node, message, actions)),
  );
  replaceBar(node.querySelector(".msg-main"), bar);
}

// A reply that stopped part-way offers Continue (when it has text) and Retry.
const UNFINISHED = new Set(["cancelled", "incomplete", "failed", "expired"]);

// Only a Chat Completions upstream can go on from a partial reply (the thread detail says
// which protocol the thread's assistant speaks); elsewhere Continue would only answer an error.
export function canContinue(assistant) {
  return assistant?.protocol === "chat_completions";
}

export function decorateReply(reply, userMessage, actions, { continuable = false } = {}) {
  const replies = userMessage.replies;
  const versions = replies.versions.map((v) => v.message_id ?? userMessage.id);
  const shown = replies.versions[replies.index ?? -1];
  const again = () => actions.regenerate(userMessage.id);
  const unfinished = UNFINISHED.has(reply.status);
  const bar = el(
    "div",
    { class: "branch-bar" },
    switcher("reply", versions, replies.index, (id) => actions.select(id)),
    copyButton("Copy the reply as Markdown", () => reply.text),
    continuable && unfinished && shown?.message_id != null && reply.hasText
      ? actionButton("Continue", "branch-continue", () => actions.continueReply(userMessage.id, shown.message_id))
      : null,
    unfinished ? actionButton("Retry", "branch-retry", again) : actionButton("Regenerate", "branch-regenerate", again),
  );
  replaceBar(reply.el.querySelector(".msg-main"), bar);
}

// The controls that start a run: the server refuses them (409) while another run of the
// thread is active, so they are disabled until it ends.
const STARTS_A_RUN = ".branch-regenerate, .branch-retry, .branch-continue, .branch-edit, .branch-edit-send";

export function showBusy(container, busy) {
  for (const button of container.querySelectorAll(STARTS_A_RUN)) {
    button.disabled = busy;
    button.title = busy ? "Wait for the reply being written to finish" : "";
  }
}

// The message's bubble becomes a text box; sending makes a new version of it.
function startEdit(node, message, actions) {
  const main = node.querySelector(".msg-main");
  if (main.querySelector(".branch-editor")) return;
  const box = el("textarea", { class: "branch-editor-input", rows: "3", "aria-label": "Edit your message" });
  box.value = node.querySelector(".msg-text")?.textContent ?? "";
  const send = actionButton("Send", "button primary branch-edit-send", () => {
    const text = box.value.trim();
    if (text) actions.resend(message.id, text);
  });
  const cancel = actionButton("Cancel", "branch-edit-cancel", () => {
    editor.remove();
    node.querySelector(".branch-edit")?.focus();
  });
  const editor = el("div", { class: "branch-editor" }, box, el("div", { class: "branch-editor-actions" }, cancel, send));
  box.addEventListener("keydown", (event) => {
    if (event.key === "Escape") cancel.click();
    else if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      send.click();
    }
  });
  main.append(editor);
  box.focus();
}
