// Markdown to safe HTML, code highlighting, and the small DOM builders the views share.
// Replies are untrusted: whatever the model writes goes through DOMPurify before it touches
// the DOM, so `<script>` or `<img onerror=...>` in a reply never runs, and an image from another
// site is never fetched.

import { marked } from "../vendor/marked/marked.esm.min.js";
import DOMPurify from "../vendor/dompurify/purify.es.min.js";
import hljs from "../vendor/highlight.js/es/highlight.min.js";
import { addCodeHeaders } from "./copy.js";

marked.use({ gfm: true, breaks: false });
hljs.configure({ ignoreUnescapedHTML: true });

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

// Render into an element. While a reply streams, only code blocks that name their language are
// highlighted: guessing the language runs every grammar, too slow to repeat on each frame.
export function renderMarkdownInto(element, text, { final = true } = {}) {
  element.innerHTML = renderMarkdown(text);
  for (const code of element.querySelectorAll("pre code")) {
    const named = /\blanguage-\S+/.test(code.className);
    if (final || named) highlightCode(code);
  }
  addCodeHeaders(element); // after highlighting: it names the language it detected
}

export function highlightCode(code) {
  try {
    hljs.highlightElement(code);
  } catch {
    // An unknown language name: leave the block plain rather than lose the text.
  }
}

// el("div", {class: "x", dataset: {role: "user"}}, child, "text") -> element.
// Strings become text nodes, never HTML.
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "dataset") Object.assign(node.dataset, value);
    else if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  node.append(...children.filter((child) => child !== null && child !== undefined));
  return node;
}

// The text of an Assistants message `content` (a list of parts) or a plain string.
export function contentText(content) {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content.map(partText).filter(Boolean).join("\n\n");
}

function partText(part) {
  if (!part) return "";
  if (part.type === "text") return part.text?.value ?? "";
  if (part.type === "image_file") return `*[image file ${part.image_file?.file_id ?? ""}]*`;
  if (part.type === "image_url") return `*[image ${part.image_url?.url ?? ""}]*`;
  return "";
}

// "≈ 1,138 prompt · 11 completion · 1,149 total tokens"; null when there is nothing to show.
export function usageText(usage) {
  if (!usage || usage.total_tokens == null) return null;
  const n = (value) => Number(value ?? 0).toLocaleString("en-US");
  const approx = usage.estimated ? "≈ " : "";
  return (
    `${approx}${n(usage.prompt_tokens)} prompt · ${n(usage.completion_tokens)} completion · ` +
    `${n(usage.total_tokens)} total tokens`
  );
}

export function usageDetails(usage, model) {
  const lines = [];
  if (model) lines.push(`Model: ${model}`);
  if (usage?.cached_tokens) lines.push(`Cached prompt tokens: ${usage.cached_tokens}`);
  if (usage?.reasoning_tokens) lines.push(`Reasoning tokens: ${usage.reasoning_tokens}`);
  if (usage?.estimated) lines.push("Estimated: the upstream reported no usage.");
  return lines.join("\n");
}

// Function arguments arrive as JSON text; show them indented when they parse.
export function prettyJson(text) {
  if (!text) return "";
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text; // still streaming, or not JSON at all
  }
}
