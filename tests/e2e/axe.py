"""axe-core (vendored for the tests only by scripts/vendor-axe.sh) run on the page as it is.
Evaluated through the browser's debugging protocol, so the app's Content-Security-Policy
stays on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import Page

AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def violations(page: Page) -> list[dict[str, Any]]:
    """axe's violations (WCAG 2.x A and AA rules): each rule id with the elements it names."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    found: list[dict[str, Any]] = page.evaluate(
        """(tags) => axe.run(document, {runOnly: tags})
          .then((r) => r.violations.map((v) => ({
            id: v.id, help: v.help, targets: v.nodes.map((n) => n.target.join(" ")),
            why: v.nodes.map((n) => n.failureSummary),
          })))""",
        WCAG_AA,
    )
    return found


def on(found: list[dict[str, Any]], selector: str) -> list[str]:
    """The rules broken by the element `selector` names (as axe writes its target)."""
    return [v["id"] for v in found if selector in v["targets"]]


def readable(found: list[dict[str, Any]]) -> str:
    """The violations one element a line, with axe's reason, for an assertion message."""
    lines = []
    for v in found:
        lines.append(f"{v['id']}: {v['help']}")
        for target, why in zip(v["targets"], v["why"], strict=True):
            reason = " ".join((why or "").split())
            lines.append(f"  {target}\n    {reason}")
    return "\n".join(lines)


def assert_no_violations(page: Page) -> None:
    found = violations(page)
    assert found == [], f"axe on {page.url}:\n{readable(found)}"


def without_axe_noise(page_errors: list[str]) -> list[str]:
    """The page's errors but those axe causes itself: some of its checks set inline styles,
    which the app's Content-Security-Policy (style-src 'self') rightly blocks."""
    return [e for e in page_errors if not e.startswith("Applying inline style violates")]
