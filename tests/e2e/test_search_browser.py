"""Search in real Chromium: Ctrl+K opens it, a word finds the message with the word marked,
and choosing the result opens its thread at that message."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.chat_page import REPLY, send, sign_up

pytestmark = pytest.mark.browser


def test_search_and_open_a_result(page: Page, page_errors: list[str]) -> None:
    sign_up(page)
    send(page, "Tell me about the Danube")
    expect(page.locator(f"{REPLY}[data-status=completed]")).to_have_count(1, timeout=30_000)
    thread_url = page.url
    page.click("#new-chat")
    send(page, "Hello")
    expect(page.locator(f"{REPLY}[data-status=completed]")).to_have_count(1)
    assert page.url != thread_url

    page.keyboard.press("Control+k")
    search = page.locator("#search-input")
    expect(search).to_be_focused()
    search.fill("danu")
    result = page.locator(".search-result").filter(has_text="You")
    expect(result.locator("mark")).to_have_text("Danube")
    result.click()
    page.wait_for_url(re.compile(re.escape(thread_url) + "$"))
    target = page.locator("[data-role=user].search-target .msg-text")
    expect(target).to_have_text("Tell me about the Danube")
    assert page_errors == []
