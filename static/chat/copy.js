// Copy buttons: on every message (its Markdown source) and on every code block, whose header
// names its language. Each says "Copied" on itself and to screen readers (#announcer).

import { el } from "./render.js";

const SHOWN_MS = 1500;

export async function copyText(text, button) {
  let copied = true;
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    copied = legacyCopy(text); // no clipboard API (a page served over plain http elsewhere)
  }
  const said = copied ? "Copied to the clipboard." : "Could not copy: select the text and copy it.";
  announce(said);
  if (!button) return;
  const label = button.textContent;
  button.textContent = copied ? "Copied" : "Copy failed";
  setTimeout(() => (button.textContent = label), SHOWN_MS);
}

function legacyCopy(text) {
  const area = el("textarea", { class: "visually-hidden", "aria-hidden": "true" });
  area.value = text;
  document.body.append(area);
  area.select();
  const done = document.execCommand("copy");
  area.remove();
  return done;
}

function announce(text) {
  const region = document.getElementById("announcer");
  if (!region) return;
  region.textContent = "";
  setTimeout(() => (region.textContent = text), 50); // a later task: repeats are announced too
}

// `text` is read when clicked: a reply may have grown since the button was made.
export function copyButton(label, text) {
  const button = el("button", { type: "button", class: "link-button copy-button", text: "Copy", "aria-label": label });
  button.addEventListener("click", () => copyText(text(), button));
  return button;
}

// A header above each code block: its language and a copy button.
export function addCodeHeaders(element) {
  for (const pre of element.querySelectorAll("pre")) {
    const code = pre.querySelector("code");
    if (!code || pre.previousElementSibling?.classList.contains("code-head")) continue;
    const language = languageOf(code);
    const head = el(
      "div",
      { class: "code-head" },
      el("span", { class: "code-language", text: language }),
      copyButton(`Copy the ${language} code`, () => code.textContent),
    );
    // Long lines scroll sideways, which a keyboard can only do in a focusable box.
    pre.tabIndex = 0;
    const block = el("div", { class: "code-block" });
    pre.replaceWith(block);
    block.append(head, pre);
  }
}

function languageOf(code) {
  const named = [...code.classList].find((name) => name.startsWith("language-"));
  return named ? named.slice("language-".length) : "text";
}
