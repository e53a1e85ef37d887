// What the user was typing, kept per thread ("new" for a new chat) across reloads, in this
// browser's localStorage: a draft is the user's, never sent to the server until they send it.

const PREFIX = "chat-draft:";

function key(threadId) {
  return PREFIX + (threadId ?? "new");
}

export function saveDraft(threadId, text) {
  try {
    if (text.trim()) localStorage.setItem(key(threadId), text);
    else localStorage.removeItem(key(threadId));
  } catch {
    // Storage full or off (a private window): the draft is simply not kept.
  }
}

export function loadDraft(threadId) {
  try {
    return localStorage.getItem(key(threadId)) ?? "";
  } catch {
    return "";
  }
}
