"""Small things in real Chromium: focus in the composer on load and after a send, the skip
link, the keyboard shortcuts and their list, a draft kept per thread, a "still being
written" warning that goes when the reply stops, a reply stopped before any text, a failed
weather lookup shown as failed, and an error's code behind "Details"."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.chat_page import GREETING_REPLY, REPLY, send, sign_up

pytestmark = pytest.mark.browser


def test_the_composer_has_focus_on_load_and_after_a_send(page: Page) -> None:
    sign_up(page)
    expect(page.locator("#composer-input")).to_be_focused()
    page.fill("#composer-input", "Hello")
    page.click("#send-button")
    expect(page.locator(f"{REPLY}[data-status=completed]")).to_have_count(1)
    expect(page.locator("#composer-input")).to_be_focused()
    page.reload()
    expect(page.locator("#composer-input")).to_be_focused()


# The text of the first element in the page's Tab order (no positive tabindex is used).
FIRST_TAB_STOP = """() => {
  const stops = document.querySelectorAll(
    'a[href], button:not([disabled]), input:not([type=hidden]), select, textarea, [tabindex="0"]');
  const shown = [...stops].filter(
    (node) => node.getClientRects().length && !node.closest('[hidden]'));
  return shown[0]?.textContent.trim();
}"""


def test_the_skip_link_is_the_first_tab_stop_and_leads_to_the_composer(page: Page) -> None:
    sign_up(page)
    first = page.evaluate(FIRST_TAB_STOP)
    assert first == "Skip to the message box"
    skip = page.get_by_role("link", name="Skip to the message box")
    skip.focus()
    box = skip.bounding_box()
    assert box is not None and box["y"] >= 0, "a focused skip link is on screen"
    page.keyboard.press("Enter")
    expect(page.locator("#composer-input")).to_be_focused()


def test_the_still_writing_warning_goes_when_the_reply_stops(page: Page) -> None:
    sign_up(page)
    send(page, "/sim rate=8 tokens=400 Tell me about rivers")
    expect(page.locator(REPLY)).to_have_attribute("data-streaming", "true")
    page.fill("#composer-input", "And lakes?")
    page.locator("#composer-input").press("Enter")
    error = page.locator("#composer-error")
    expect(error).to_contain_text("A reply is still being written")
    page.click("#stop-button")
    expect(page.locator(REPLY)).to_have_attribute("data-status", "cancelled", timeout=15_000)
    expect(error).to_be_hidden()


def test_a_reply_stopped_before_any_text_does_not_speak_of_text_above(page: Page) -> None:
    sign_up(page)
    send(page, "/sim first-token-delay=10 Hello")
    expect(page.locator("#stop-button")).to_be_visible()
    page.click("#stop-button")
    reply = page.locator(REPLY)
    expect(reply).to_have_attribute("data-status", "cancelled", timeout=15_000)
    expect(reply.locator(".msg-notice")).to_have_text("Stopped before any text was written.")


def test_a_weather_lookup_that_failed_is_shown_as_failed(page: Page) -> None:
    sign_up(page)
    send(page, "What is the weather in Atlantis?")  # the fake weather API knows Paris only
    expect(page.locator(f"{REPLY}[data-status=completed]")).to_have_count(1, timeout=30_000)
    call = page.locator(".tool-call[data-tool-type=function]")
    expect(call.locator(".tool-state")).to_have_text("failed")
    expect(call).to_have_attribute("data-status", "failed")


def test_an_error_says_a_sentence_and_keeps_its_code_behind_details(page: Page) -> None:
    sign_up(page)
    send(page, "/sim fail=2 Tell me about rivers")
    reply = page.locator(REPLY)
    expect(reply).to_have_attribute("data-status", "failed", timeout=30_000)
    expect(reply.locator(".msg-error-text")).to_be_visible()
    code = reply.locator(".msg-error-details code")
    expect(code).to_be_hidden()
    reply.locator(".msg-error-details summary").click()
    expect(code).to_be_visible()
    expect(code).to_contain_text("Error code:")


def test_shortcuts_new_chat_copy_last_reply_and_their_list(page: Page) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    sign_up(page)
    send(page, "Hello")
    expect(page.locator(f"{REPLY}[data-status=completed]")).to_have_count(1)
    page.keyboard.press("Control+Shift+C")
    expect(page.locator("#announcer")).to_have_text("Copied to the clipboard.")
    assert page.evaluate("navigator.clipboard.readText()") == GREETING_REPLY

    page.keyboard.press("Control+/")
    dialog = page.locator("#shortcuts-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("New chat")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()

    page.keyboard.press("Control+Shift+O")
    page.wait_for_url(re.compile(r"/$"))
    expect(page.locator(REPLY)).to_have_count(0)
    expect(page.locator("#composer-input")).to_be_focused()


def test_the_composer_keeps_a_draft_per_thread_across_reloads(page: Page) -> None:
    sign_up(page)
    send(page, "Hello")
    expect(page.locator(f"{REPLY}[data-status=completed]")).to_have_count(1)
    thread_url = page.url
    page.fill("#composer-input", "half a thought")
    page.reload()
    expect(page.locator("#composer-input")).to_have_value("half a thought")
    page.click("#new-chat")
    expect(page.locator("#composer-input")).to_have_value("")
    page.fill("#composer-input", "another idea")
    page.goto(thread_url)
    expect(page.locator("#composer-input")).to_have_value("half a thought")
    page.locator("#composer-input").press("Enter")  # sent: the draft is gone
    expect(page.locator(f"{REPLY}[data-status=completed]")).to_have_count(2, timeout=30_000)
    page.reload()
    expect(page.locator("#composer-input")).to_have_value("")
    page.goto("/")
    expect(page.locator("#composer-input")).to_have_value("another idea")
