// The shared page (templates/chat/shared.html): its replies come as their Markdown source, as
// text; here they become Markdown, through the same sanitising renderer as the chat page's.
// Until this has run (or with scripts off) the source shows as it is, which reads well enough.

import { loadRenderer, renderMarkdownInto } from "./render.js";

await loadRenderer(); // render once, not as plain text first
for (const text of document.querySelectorAll(".shared-msg[data-role=assistant] .shared-text")) {
  renderMarkdownInto(text, text.textContent);
  text.classList.replace("shared-text", "md"); // .shared-text keeps the source's line breaks
}
