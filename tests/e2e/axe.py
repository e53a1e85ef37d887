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
            id: v.id, targets: v.nodes.map((n) => n.target.join(" ")),
          })))""",
        WCAG_AA,
    )
    return found


def on(found: list[dict[str, Any]], selector: str) -> list[str]:
    """The rules broken by the element `selector` names (as axe writes its target)."""
    return [v["id"] for v in found if selector in v["targets"]]
