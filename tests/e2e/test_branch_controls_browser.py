"""When the branch controls are offered: Continue only where the thread's assistant can go on
from a partial reply, and nothing that starts a run while another run of the thread is active
(the server would answer 409)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.chat_page import REPLY, reply_text, send, sign_up

pytestmark = pytest.mark.browser

USER = "[data-role=user]"
SLOW = "/sim rate=8 tokens=60 Tell me about rivers"


def stop_part_way(page: Page) -> None:
    reply = page.locator(REPLY)
    expect(reply).to_have_attribute("data-streaming", "true")
    expect(reply.locator(".msg-body")).not_to_be_empty()
    page.click("#stop-button")
    expect(reply).to_have_attribute("data-status", "cancelled", timeout=15_000)
    expect(reply.locator(".branch-retry")).to_be_visible()


def test_no_continue_where_the_protocol_cannot_continue(page: Page, page_errors: list[str]) -> None:
    sign_up(page)  # the default assistant speaks the Assistants API
    send(page, SLOW)
    stop_part_way(page)
    assert reply_text(page)  # there is partial text, so only the protocol rules Continue out
    expect(page.locator(f"{REPLY} .branch-continue")).to_have_count(0)
    page.reload()
    expect(page.locator(f"{REPLY} .branch-retry")).to_be_visible()
    expect(page.locator(f"{REPLY} .branch-continue")).to_have_count(0)
    assert page_errors == []


def test_continue_is_offered_for_chat_completions(page: Page, page_errors: list[str]) -> None:
    sign_up(page)
    page.locator("#assistant-picker").select_option(label="Chat simulator · sim-chat")
    send(page, SLOW)
    stop_part_way(page)
    expect(page.locator(f"{REPLY} .branch-continue")).to_be_visible()
    assert page_errors == []


def test_run_starting_controls_wait_for_the_active_run(page: Page, page_errors: list[str]) -> None:
    sign_up(page)
    send(page, "Hello")
    expect(page.locator(f"{REPLY}[data-status=completed]")).to_have_count(1)
    first_reply, first_user = page.locator(REPLY).first, page.locator(USER).first
    expect(first_reply.locator(".branch-regenerate")).to_be_enabled()
    expect(first_user.locator(".branch-edit")).to_be_enabled()

    send(page, SLOW)
    expect(page.locator(REPLY).nth(1)).to_have_attribute("data-streaming", "true")
    # While the second reply is written, the first exchange cannot start a run.
    expect(first_reply.locator(".branch-regenerate")).to_be_disabled()
    expect(first_user.locator(".branch-edit")).to_be_disabled()
    # Copy starts nothing and stays available.
    expect(first_reply.locator(".copy-button").first).to_be_enabled()

    expect(page.locator(f"{REPLY}[data-status=completed]")).to_have_count(2, timeout=30_000)
    expect(first_reply.locator(".branch-regenerate")).to_be_enabled()
    expect(first_user.locator(".branch-edit")).to_be_enabled()
    expect(page.locator(REPLY).nth(1).locator(".branch-regenerate")).to_be_enabled()
    assert page_errors == []
