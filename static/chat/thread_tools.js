// The open thread's Export (Markdown, JSON, all chats as a zip) and Share (a read-only link,
// copied to the clipboard; Stop sharing revokes every link to the thread).

import { api } from "./api.js";
import { copyText } from "./copy.js";

const $ = (id) => document.getElementById(id);

export class ThreadTools {
  constructor({ onError }) {
    this.bar = $("thread-tools");
    this.onError = onError;
    this.threadId = null;
    $("share-button").addEventListener("click", () => this.share());
    $("unshare-button").addEventListener("click", () => this.unshare());
  }

  show(threadId) {
    this.threadId = threadId;
    this.bar.hidden = threadId === null;
    if (threadId === null) return;
    $("export-md").href = `/api/threads/${threadId}/export/?format=md`;
    $("export-json").href = `/api/threads/${threadId}/export/?format=json`;
    $("share-link").hidden = true;
  }

  async share() {
    try {
      const { url } = await api.shareThread(this.threadId);
      const link = $("share-link");
      link.href = url;
      link.textContent = url;
      link.hidden = false;
      await copyText(url, $("share-button"));
    } catch (error) {
      this.onError(error.message);
    }
  }

  async unshare() {
    try {
      await api.unshareThread(this.threadId);
      $("share-link").hidden = true;
      $("announcer").textContent = "Links to this chat no longer work.";
    } catch (error) {
      this.onError(error.message);
    }
  }
}
