"""WCAG 2.2 AA, as axe-core checks it, on the chat while a reply streams and once replies
with a code block and tool calls (opened) have finished, in light and dark."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.axe import assert_no_violations
from tests.e2e.chat_page import REPLY, send, sign_up

pytestmark = pytest.mark.browser

# The tabIndex of each box in the replies that scrolls sideways.
SCROLLS_SIDEWAYS = """() => [...document.querySelectorAll('#messages *')]
  .filter((node) => node.scrollWidth > node.clientWidth + 1
    && ['auto', 'scroll'].includes(getComputedStyle(node).overflowX))
  .map((node) => node.tabIndex)"""


def test_a_streaming_reply_has_no_wcag_violations(
    page: Page, scheme: str, page_errors: list[str]
) -> None:
    sign_up(page)
    send(page, "/sim rate=8 tokens=400 Tell me about rivers")
    expect(page.locator(REPLY)).to_have_attribute("data-streaming", "true")
    page.wait_for_function(  # a few words in, Stop showing
        "() => document.querySelector('[data-role=assistant] .md').textContent.length > 20"
    )
    expect(page.locator("#stop-button")).to_be_visible()
    assert_no_violations(page)
    assert page_errors == []


def test_finished_replies_with_code_and_tool_calls_have_no_wcag_violations(
    page: Page, scheme: str, page_errors: list[str]
) -> None:
    sign_up(page)
    send(page, "/sim code tokens=120 Show me some code")
    expect(page.locator(f"{REPLY}[data-status=completed]")).to_have_count(1, timeout=30_000)
    send(page, "What's the weather in Paris?")
    expect(page.locator(f"{REPLY}[data-status=completed]")).to_have_count(2, timeout=30_000)
    expect(page.locator(f"{REPLY} .code-block")).not_to_have_count(0)
    calls = page.locator(f"{REPLY} .tool-call")
    expect(calls).to_have_count(2)
    for summary in calls.locator("summary").all():
        summary.click()  # open, so their inputs and outputs are checked too
    assert_no_violations(page)

    # Narrow enough that the code scrolls sideways (by more than the few pixels axe lets
    # pass): a keyboard can only scroll a box that takes focus.
    page.set_viewport_size({"width": 300, "height": 640})
    scrolling = page.evaluate(SCROLLS_SIDEWAYS)
    assert scrolling and all(tab_index == 0 for tab_index in scrolling), scrolling
    assert_no_violations(page)
    assert page_errors == []
