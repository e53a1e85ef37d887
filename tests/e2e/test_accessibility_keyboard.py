"""The chat by keyboard in real Chromium: Stop hands focus to the composer when the reply
ends; the phone's drawer takes focus, keeps Tab inside and gives focus back to ☰ on Esc; and
Regenerate is disabled until the run ends, then works at once."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.chat_page import REPLY, send, sign_up

pytestmark = pytest.mark.browser

FOCUSED_ID = "() => document.activeElement?.id ?? ''"
IN_SIDEBAR = "() => document.getElementById('sidebar').contains(document.activeElement)"


def test_stop_by_keyboard_leaves_focus_in_the_composer(page: Page, page_errors: list[str]) -> None:
    sign_up(page)
    send(page, "/sim rate=8 tokens=400 Tell me about rivers")
    stop = page.locator("#stop-button")
    expect(stop).to_be_visible()
    stop.focus()
    page.keyboard.press("Enter")

    expect(page.locator(REPLY)).to_have_attribute("data-status", "cancelled")
    expect(stop).to_be_hidden()
    # Not the page body, where the next Tab would start over from the top.
    expect(page.locator("#composer-input")).to_be_focused()
    assert page_errors == []


def test_the_phone_drawer_holds_focus_until_esc(page: Page, page_errors: list[str]) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    sign_up(page)
    toggle = page.locator("#sidebar-toggle")
    toggle.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#sidebar")).to_be_visible()
    assert page.evaluate(IN_SIDEBAR), page.evaluate(FOCUSED_ID)

    visited = set()
    for _ in range(12):  # more stops than the drawer has: Tab must wrap, not leave
        page.keyboard.press("Tab")
        assert page.evaluate(IN_SIDEBAR), f"Tab left the drawer for {page.evaluate(FOCUSED_ID)!r}"
        visited.add(page.evaluate("() => document.activeElement.outerHTML.slice(0, 60)"))
    page.keyboard.press("Shift+Tab")
    assert page.evaluate(IN_SIDEBAR)
    assert len(visited) >= 3  # it moved between the drawer's controls

    page.keyboard.press("Escape")
    expect(page.locator("#sidebar")).to_be_hidden()
    expect(toggle).to_be_focused()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    # The chat is reachable again.
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.getElementById('main').contains(document.activeElement)")
    assert page_errors == []


# Every moment a control that starts a run could be clicked while a run is still active:
# between a reply's last words and its run's end the server would refuse it (409).
WATCH_STARTERS = """() => {
  window.__clickableWhileBusy = [];
  const check = () => {
    if (document.getElementById('stop-button').hidden) return;
    for (const b of document.querySelectorAll('.branch-regenerate, .branch-retry, .branch-edit'))
      if (!b.disabled) window.__clickableWhileBusy.push(b.className);
  };
  new MutationObserver(check).observe(document.body,
    {subtree: true, childList: true, attributes: true, characterData: true});
}"""


def test_regenerate_waits_for_the_run_to_end_and_then_regenerates(
    page: Page, page_errors: list[str]
) -> None:
    sign_up(page)
    page.evaluate(WATCH_STARTERS)
    send(page, "Hello")
    expect(page.locator(f"{REPLY}[data-status=completed]")).to_have_count(1)
    expect(page.locator("#stop-button")).to_be_hidden()
    send(page, "/sim rate=8 tokens=40 Tell me about rivers")
    replies = page.locator(REPLY)
    expect(replies.nth(1)).to_have_attribute("data-streaming", "true")
    waiting = replies.nth(0).locator(".branch-regenerate")
    expect(waiting).to_be_disabled()
    expect(waiting).to_have_css("opacity", "0.45")  # and it looks it, not clickable in vain

    # Clicked as soon as it can be: the new version comes, no "still being written" refusal.
    expect(replies.nth(1)).to_have_attribute("data-status", "completed", timeout=30_000)
    replies.nth(1).locator(".branch-regenerate").click()
    expect(replies.nth(1).locator(".branch-position")).to_have_text("2/2", timeout=30_000)
    # The new version streams 40 tokens at 8 a second: about 5 s to complete.
    expect(page.locator(f"{REPLY}[data-status=completed]")).to_have_count(2, timeout=30_000)
    expect(page.locator("#stop-button")).to_be_hidden()
    expect(page.locator("#composer-error")).to_be_hidden()
    assert page.evaluate("window.__clickableWhileBusy") == []
    assert page_errors == []
