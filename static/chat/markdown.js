// Markdown to safe HTML. Replies are untrusted: whatever the model writes goes through DOMPurify
// before it touches the DOM, so `<script>` or `<img onerror=...>` in a reply never runs, and an
// image from another site is never fetched. render.js imports this module on first use (it and
// its two libraries are over 80 KB that a new chat does not need to be typed into).

import { marked } from "../vendor/marked/marked.esm.min.js";
import DOMPurify from "../vendor/dompurify/purify.es.min.js";

marked.use({ gfm: true, breaks: false });

const PURIFY_OPTIONS = {
  USE_PROFILES: { html: true },
  // Forms and styles could restyle or impersonate the app's own controls.
  FORBID_TAGS: ["style", "form", "input", "button", "textarea", "select", "option"],
  FORBID_ATTR: ["style"],
};

// Links in replies open in a new tab and cannot reach back into this page.
DOMPurify.addHook("afterSanitizeAttributes", (node) => {
  if (node.tagName === "A" && node.hasAttribute("href")) {
    node.setAttribute("target", "_blank");
    node.setAttribute("rel", "noopener noreferrer nofollow");
  }
});

// An image from another site would be fetched the moment a reply shows it, and its URL can
// carry what the conversation said: a way out for a prompt-injected reply. Such an image
// becomes a link the user may choose to open; the Content-Security-Policy (img-src 'self'
// data:) blocks the fetch anyway. This runs in DOMPurify's inert document, where nothing loads.
DOMPurify.addHook("afterSanitizeAttributes", (node) => {
  if (node.tagName !== "IMG") return;
  node.removeAttribute("srcset"); // candidates from anywhere; src alone is judged
  const src = node.getAttribute("src") ?? "";
  if (isRemote(src)) node.replaceWith(remoteImageLink(node, src));
});

function isRemote(src) {
  try {
    const url = new URL(src, location.href);
    return url.protocol !== "data:" && url.origin !== location.origin;
  } catch {
    return true; // not a URL we can judge: do not load it
  }
}

function remoteImageLink(image, src) {
  const link = image.ownerDocument.createElement("a");
  const alt = image.getAttribute("alt");
  const where = `image on ${hostOf(src)}`;
  link.className = "remote-image";
  link.setAttribute("href", src);
  link.setAttribute("title", src);
  link.setAttribute("target", "_blank");
  link.setAttribute("rel", "noopener noreferrer nofollow");
  link.textContent = alt ? `${alt} (${where})` : where[0].toUpperCase() + where.slice(1);
  return link;
}

function hostOf(src) {
  try {
    return new URL(src, location.href).host || "another site";
  } catch {
    return "another site";
  }
}

// Markdown source -> sanitised HTML string.
export function renderMarkdown(text) {
  const html = marked.parse(text ?? "", { async: false });
  return DOMPurify.sanitize(html, PURIFY_OPTIONS);
}
