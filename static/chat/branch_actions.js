// What the branch controls (branching.js) ask of the app: switch to a version, or start a
// new branch (regenerate, continue, edit and resend) and show it.

import { api } from "./api.js";

export const STILL_WRITING = "A reply is still being written. Wait for it to finish or stop it first.";

export function branchActions(app) {
  return {
    select: (messageId) => selectBranch(app, messageId),
    regenerate: (messageId) =>
      startBranch(app, messageId, true, () => api.regenerate(app.threadId, messageId)),
    continueReply: (messageId, replyId) =>
      startBranch(app, messageId, true, () => api.continueReply(app.threadId, replyId)),
    resend: (messageId, text) =>
      startBranch(app, messageId, false, () => api.resendMessage(app.threadId, messageId, text)),
  };
}

async function selectBranch(app, messageId) {
  try {
    await api.selectBranch(app.threadId, messageId);
    await app.refreshThread();
  } catch (error) {
    app.showComposerError(error.message);
  }
}

// Regenerate or edit and resend: a new run on a new branch, which the page then shows.
async function startBranch(app, messageId, keepMessage, request) {
  if (app.view.activeRunId() !== null) {
    return app.showComposerError(STILL_WRITING);
  }
  app.showComposerError(null);
  // Before the request: the new run's first frames may overtake its answer.
  app.view.leaveBranchAt(messageId, { keepMessage });
  try {
    const { run } = await request();
    app.socket?.expectRun(run.id);
    await app.refreshThread();
    app.input.focus();
  } catch (error) {
    if (error.status === 401) return app.toLogin();
    app.showComposerError(error.message);
    app.refreshThread(); // whatever happened, show the thread as stored
  }
}
