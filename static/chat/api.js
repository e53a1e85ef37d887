// JSON API client. Every call is same-origin with the session cookie; state-changing calls
// carry Django's CSRF token. Failures become ApiError with the server's {"error": {...}}.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

// Django rotates the CSRF token at login, so read it at call time rather than once at start.
function csrfToken() {
  const input = document.querySelector("input[name=csrfmiddlewaretoken]");
  if (input && input.value) return input.value;
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

const FALLBACK_MESSAGES = {
  400: "The server could not accept that request.",
  401: "You are logged out. Log in again to continue.",
  403: "You are not allowed to do that.",
  404: "That chat does not exist (it may have been deleted).",
  409: "A reply is still being written. Wait for it to finish or stop it first.",
  429: "You are sending messages too quickly. Wait a moment and try again.",
};

async function errorFrom(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    // A proxy error page or an empty body: fall back to a message for the status.
  }
  const error = body && body.error ? body.error : {};
  const message =
    error.message || FALLBACK_MESSAGES[response.status] || `Request failed (HTTP ${response.status}).`;
  return new ApiError(response.status, error.code || `http_${response.status}`, message);
}

async function request(method, path, body) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") headers["X-CSRFToken"] = csrfToken();
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, "network", "The server cannot be reached. Check your connection.");
  }
  if (!response.ok) throw await errorFrom(response);
  return response.status === 204 ? null : response.json();
}

export const api = {
  listThreads: (cursor = null) =>
    request("GET", cursor ? `/api/threads/?cursor=${encodeURIComponent(cursor)}` : "/api/threads/"),
  getThread: (id) => request("GET", `/api/threads/${id}/`),
  // assistantId null: the server's default assistant.
  createThread: (content, assistantId = null) => {
    const body = assistantId === null ? { content } : { content, assistant_id: assistantId };
    return request("POST", "/api/threads/", body);
  },
  search: (query) => request("GET", `/api/search/?q=${encodeURIComponent(query)}`),
  shareThread: (id) => request("POST", `/api/threads/${id}/share/`),
  unshareThread: (id) => request("DELETE", `/api/threads/${id}/share/`),
  listAssistants: () => request("GET", "/api/assistants/"),
  getBudget: () => request("GET", "/api/budget/"),
  sendMessage: (id, content) => request("POST", `/api/threads/${id}/messages/`, { content }),
  cancelRun: (id, runId) => request("POST", `/api/threads/${id}/runs/${runId}/cancel/`),
  renameThread: (id, title) => request("PATCH", `/api/threads/${id}/`, { title }),
  deleteThread: (id) => request("DELETE", `/api/threads/${id}/`),
  regenerate: (id, messageId) => request("POST", `/api/threads/${id}/messages/${messageId}/regenerate/`),
  continueReply: (id, messageId) => request("POST", `/api/threads/${id}/messages/${messageId}/continue/`),
  resendMessage: (id, messageId, content) =>
    request("POST", `/api/threads/${id}/messages/${messageId}/resend/`, { content }),
  selectBranch: (id, messageId) => request("POST", `/api/threads/${id}/branch/`, { message_id: messageId }),
};
