"""Contrast that axe does not measure, in light and dark: the keyboard focus ring of buttons
and links against what surrounds them (WCAG 1.4.11: 3:1), and the composer's placeholder
against its box (1.4.3: 4.5:1)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e.chat_page import REPLY, send, sign_up
from tests.e2e.colours import background_behind, contrast

pytestmark = pytest.mark.browser

# Buttons and links of each kind the chat page has, once it shows a finished reply.
FOCUSABLE = [
    "#new-chat",  # a primary button, filled with the accent
    "#search-open",  # an icon button
    ".thread-link",
    'a[href="/keys/"]',
    '.sidebar-foot button[type="submit"]',  # Log out
    f"{REPLY} .branch-regenerate",
    f"{REPLY} .code-block button",
]


def ring_colour(control: Locator) -> str:
    """The outermost ring of the focus style (box-shadows are drawn first to last, the
    widest around the others): the colour seen against the page."""
    shadow = str(control.evaluate("(node) => getComputedStyle(node).boxShadow"))
    rings = re.findall(r"(rgba?\([^)]*\))[^,]*?(\d+)px(?:,|$)", shadow)
    assert rings, f"no focus ring: {shadow!r}"
    return max(rings, key=lambda ring: int(ring[1]))[0]


def test_focus_rings_stand_out(page: Page, scheme: str, page_errors: list[str]) -> None:
    sign_up(page)
    send(page, "/sim tokens=120 Show me some code")
    expect(page.locator(f"{REPLY}[data-status=completed]")).to_have_count(1, timeout=30_000)
    expect(page.locator(".thread-link")).to_have_count(1)
    page.keyboard.press("Tab")  # focus from here on counts as the keyboard's: rings show
    low = {}
    for selector in FOCUSABLE:
        control = page.locator(selector).first
        control.focus()
        ring, around = ring_colour(control), background_behind(control.locator(".."))
        if contrast(ring, around) < 3:
            low[selector] = f"{ring} on {around}: {contrast(ring, around):.2f}"
    assert low == {}
    assert page_errors == []


def test_the_placeholder_is_readable(page: Page, scheme: str, page_errors: list[str]) -> None:
    sign_up(page)
    box = page.locator("#composer-input")
    placeholder = str(box.evaluate("(node) => getComputedStyle(node, '::placeholder').color"))
    ratio = contrast(placeholder, background_behind(box))
    assert ratio >= 4.5, f"{placeholder}: {ratio:.2f}"
    assert page_errors == []
