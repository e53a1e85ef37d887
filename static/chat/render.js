// Markdown into the page, code highlighting, and the small DOM builders the views share.
// The Markdown renderer (markdown.js: marked and DOMPurify) and highlight.js are most of the
// page's JavaScript, and the composer needs neither: they are imported on first use, so the
// page is ready to type into sooner. Until they arrive a reply shows as plain text (never as
// HTML), and a code block unhighlighted; highlight.js is not fetched at all with no code.

import { addCodeHeaders } from "./copy.js";
import { lazyModule, whenIdle } from "./lazy.js";

const markdown = lazyModule(() => import("./markdown.js"));
const highlighter = lazyModule(() =>
  Promise.all([import("../vendor/highlight.js/es/highlight.min.js"), highlightStyles()]).then(
    ([{ default: hljs }]) => {
      hljs.configure({ ignoreUnescapedHTML: true });
      return hljs;
    },
  ),
);
const STYLES = { light: "github.min.css", dark: "github-dark.min.css" };
const NAMED = /\blanguage-\S+/;

// A reply is likely soon: fetch the renderer once the page has started, not before.
whenIdle(() => markdown.load().catch(() => {}));

// For a page that shows Markdown from the start (the shared page): wait for the renderer once.
export const loadRenderer = () => markdown.load();

// Elements rendered before the renderer arrived, with the latest text each was given: a
// streaming reply asks again on every frame, and only its last text is worth rendering.
const waiting = new Map();

// Render into an element. While a reply streams, only code blocks that name their language are
// highlighted: guessing the language runs every grammar, too slow to repeat on each frame.
export function renderMarkdownInto(element, text, { final = true } = {}) {
  const renderer = markdown.get();
  if (!renderer) return renderWhenLoaded(element, text, final);
  waiting.delete(element);
  element.innerHTML = renderer.renderMarkdown(text);
  const blocks = [...element.querySelectorAll("pre code")];
  highlightBlocks(element, blocks.filter((code) => final || NAMED.test(code.className)));
}

function renderWhenLoaded(element, text, final) {
  element.textContent = text ?? "";
  const first = !waiting.has(element);
  waiting.set(element, { text, final });
  if (!first) return;
  markdown.load().then(() => {
    const latest = waiting.get(element);
    if (latest) renderMarkdownInto(element, latest.text, { final: latest.final });
  }, () => waiting.delete(element)); // the plain text stays: readable, and never HTML
}

// The headers come after highlighting: they name the language it detected.
function highlightBlocks(element, blocks) {
  const hljs = highlighter.get();
  if (hljs || blocks.length === 0) {
    for (const code of blocks) highlightWith(hljs, code);
    return addCodeHeaders(element);
  }
  highlighter.load().then(
    (loaded) => {
      const current = blocks.filter((code) => element.contains(code)); // not re-rendered since
      for (const code of current) highlightWith(loaded, code);
      if (current.length) addCodeHeaders(element);
    },
    () => addCodeHeaders(element),
  );
}

// The colours come with highlight.js, not with the page: a page with no code needs neither.
// Resolves once the scheme's sheet on show has loaded, so code is not shown uncoloured first.
function highlightStyles() {
  const sheets = Object.entries(STYLES).map(([scheme, file]) => {
    const href = new URL(`../vendor/highlight.js/styles/${file}`, import.meta.url).href;
    return el("link", { rel: "stylesheet", href, media: `(prefers-color-scheme: ${scheme})` });
  });
  document.head.append(...sheets);
  const shown = sheets.find((sheet) => matchMedia(sheet.media).matches);
  if (!shown) return null;
  return new Promise((resolve) => {
    shown.addEventListener("load", resolve);
    shown.addEventListener("error", resolve); // uncoloured code is better than none
  });
}

export function highlightCode(code) {
  const hljs = highlighter.get();
  if (hljs) return highlightWith(hljs, code);
  highlighter.load().then((loaded) => highlightWith(loaded, code), () => {});
}

function highlightWith(hljs, code) {
  if (code.dataset.highlighted) return; // two calls while highlight.js was on its way
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
