// The keyboard shortcuts (Ctrl, or Cmd on a Mac), listed in the help dialog
// (#shortcuts-dialog): each a function of the app.

import { copyText } from "./copy.js";

export const SHORTCUTS = {
  k: (app) => app.search.open(),
  "shift+o": (app) => app.navigate(null),
  "shift+c": (app) => copyLastReply(app),
  "/": () => document.getElementById("shortcuts-dialog").showModal(),
};

export function shortcutName(event) {
  if (!(event.ctrlKey || event.metaKey) || event.altKey) return "";
  return (event.shiftKey ? "shift+" : "") + event.key.toLowerCase();
}

function copyLastReply(app) {
  const replies = document.getElementById("messages").querySelectorAll("[data-role=assistant]");
  const last = replies[replies.length - 1];
  const reply = last ? app.view.replies.get(last.dataset.runId) : null;
  if (reply?.text) copyText(reply.text, null);
}
