"""Branches in real Chromium: regenerate a reply, switch between its versions, reload (the
chosen version stays), another tab follows a switch; edit a message and send it again."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.chat_page import GREETING_REPLY, REPLY, reply_text, send, sign_up

pytestmark = pytest.mark.browser

USER = "[data-role=user]"


def position(page: Page, where: str) -> str:
    return page.locator(f"{where} .branch-position").inner_text()


def test_regenerate_switch_reload_and_another_tab(page: Page, page_errors: list[str]) -> None:
    sign_up(page)
    send(page, "Hello")
    expect(page.locator(f"{REPLY}[data-status=completed]")).to_have_count(1)
    first_run = page.locator(REPLY).get_attribute("data-run-id")
    # The reply's text is complete a moment before its run has ended: Stop goes away then.
    expect(page.locator("#stop-button")).to_be_hidden()

    page.locator(f"{REPLY} .branch-regenerate").click()
    expect(page.locator(f"{REPLY} .branch-position")).to_have_text("2/2")
    expect(page.locator(f"{REPLY}[data-status=completed]")).to_have_count(1)
    second_run = page.locator(REPLY).get_attribute("data-run-id")
    assert second_run != first_run
    assert reply_text(page) == GREETING_REPLY
    expect(page.locator(USER)).to_have_count(1)

    other = page.context.new_page()  # a second tab on the same thread
    other.goto(page.url)
    expect(other.locator(f"{REPLY} .branch-position")).to_have_text("2/2")

    page.get_by_role("button", name="Previous reply").click()
    expect(page.locator(f"{REPLY} .branch-position")).to_have_text("1/2")
    expect(page.locator(REPLY)).to_have_attribute("data-run-id", first_run or "")
    # The other tab follows the switch.
    expect(other.locator(f"{REPLY} .branch-position")).to_have_text("1/2")
    expect(other.locator(REPLY)).to_have_attribute("data-run-id", first_run or "")

    page.reload()
    expect(page.locator(f"{REPLY} .branch-position")).to_have_text("1/2")
    expect(page.locator(REPLY)).to_have_attribute("data-run-id", first_run or "")
    assert reply_text(page) == GREETING_REPLY
    other.close()
    assert page_errors == []


def test_edit_and_resend_makes_a_new_version(page: Page, page_errors: list[str]) -> None:
    sign_up(page)
    send(page, "Hello")
    expect(page.locator(f"{REPLY}[data-status=completed]")).to_have_count(1)

    page.locator(f"{USER} .branch-edit").click()
    editor = page.get_by_label("Edit your message")
    expect(editor).to_be_focused()
    editor.fill("/sim tokens=12 Tell me about rivers")
    editor.press("Enter")

    expect(page.locator(f"{USER} .msg-text")).to_have_text("/sim tokens=12 Tell me about rivers")
    expect(page.locator(f"{USER} .branch-position")).to_have_text("2/2")
    expect(page.locator(f"{REPLY}[data-status=completed]")).to_have_count(1)
    assert reply_text(page) != GREETING_REPLY
    expect(page.locator(USER)).to_have_count(1)

    page.get_by_role("button", name="Previous version").click()
    expect(page.locator(f"{USER} .msg-text")).to_have_text("Hello")
    expect(page.locator(f"{USER} .branch-position")).to_have_text("1/2")
    expect(page.locator(f"{REPLY}[data-status=completed]")).to_have_count(1)
    assert reply_text(page) == GREETING_REPLY
    page.reload()
    expect(page.locator(f"{USER} .msg-text")).to_have_text("Hello")
    assert page_errors == []


def test_continue_after_stop_goes_on_from_the_partial_reply(
    page: Page, page_errors: list[str]
) -> None:
    sign_up(page)
    # Only a Chat Completions upstream can go on from a partial reply.
    page.locator("#assistant-picker").select_option(label="Chat simulator · sim-chat")
    send(page, "/sim rate=8 tokens=60 Tell me about rivers")
    reply = page.locator(REPLY)
    expect(reply).to_have_attribute("data-streaming", "true")
    page.click("#stop-button")
    expect(reply).to_have_attribute("data-status", "cancelled", timeout=15_000)
    expect(reply.locator(".branch-retry")).to_be_visible()
    partial = reply_text(page)
    assert partial

    reply.locator(".branch-continue").click()
    expect(page.locator(f"{REPLY}[data-status=completed]")).to_have_count(1, timeout=30_000)
    expect(page.locator(f"{REPLY} .branch-position")).to_have_text("2/2")
    whole = reply_text(page)
    assert whole.startswith(partial) and len(whole) > len(partial)
    # The stopped version is still there.
    page.get_by_role("button", name="Previous reply").click()
    expect(page.locator(f"{REPLY}[data-status=cancelled]")).to_have_count(1)
    assert reply_text(page) == partial
    assert page_errors == []
