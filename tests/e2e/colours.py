"""Colours as the browser computes them, and WCAG's contrast ratio between two of them: for
what axe does not measure (focus rings, placeholders)."""

from __future__ import annotations

import re

from playwright.sync_api import Locator

# The colour of the first non-transparent background at or above the element.
BACKGROUND_BEHIND = """(node) => {
  for (let n = node; n; n = n.parentElement) {
    const colour = getComputedStyle(n).backgroundColor;
    if (!/^rgba\\(.*, 0\\)$|^transparent$/.test(colour)) return colour;
  }
  return getComputedStyle(document.documentElement).backgroundColor;
}"""


def rgb(colour: str) -> tuple[int, int, int]:
    """'rgb(37, 99, 217)' (or an opaque rgba) as numbers; a translucent colour is refused,
    since its contrast depends on what shows through."""
    parts = re.findall(r"[\d.]+", colour)
    assert len(parts) == 3 or float(parts[3]) == 1, f"translucent: {colour}"
    return int(parts[0]), int(parts[1]), int(parts[2])


def _luminance(colour: tuple[int, int, int]) -> float:
    channels = [c / 255 for c in colour]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    light, dark = sorted((_luminance(rgb(a)), _luminance(rgb(b))), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def background_behind(locator: Locator) -> str:
    return str(locator.evaluate(BACKGROUND_BEHIND))
