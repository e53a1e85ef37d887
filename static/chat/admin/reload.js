// The live board and a live run's inspector reload themselves every few seconds, unless the
// operator unticks the box (WCAG 2.2.1: a timed refresh must be possible to turn off). The
// choice is kept for the tab, so the reload it asked for does not undo it.
"use strict";

(function () {
  const box = document.getElementById("auto-reload");
  if (!box) return;
  const KEY = "chat-admin-auto-reload";
  box.checked = sessionStorage.getItem(KEY) !== "off";
  let timer = null;
  const schedule = () => {
    clearTimeout(timer);
    if (box.checked) timer = setTimeout(() => location.reload(), Number(box.dataset.seconds) * 1000);
  };
  box.addEventListener("change", () => {
    sessionStorage.setItem(KEY, box.checked ? "on" : "off");
    schedule();
  });
  schedule();
})();
