"""Export and share in real Chromium: a thread downloaded as JSON and parsed, and its share
link opened by a logged-out browser, read only; after Stop sharing it shows nothing."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.chat_page import GREETING_REPLY, REPLY, send, sign_up

pytestmark = pytest.mark.browser


def test_export_a_thread_and_open_its_share_link_logged_out(
    page: Page, browser: Browser, app_server: str, page_errors: list[str]
) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    sign_up(page)
    send(page, "Hello")
    expect(page.locator(f"{REPLY}[data-status=completed]")).to_have_count(1)

    page.locator(".export-menu summary").click()
    with page.expect_download() as download:
        page.click("#export-json")
    data = json.loads(download.value.path().read_text())
    assert [m["content"] for m in data["messages"]] == ["Hello", GREETING_REPLY]
    assert data["runs"][0]["status"] == "completed"

    page.click("#share-button")
    link = page.locator("#share-link")
    expect(link).to_be_visible()
    url = link.get_attribute("href") or ""
    assert page.evaluate("navigator.clipboard.readText()") == url

    stranger = browser.new_context()  # no session: logged out
    reader = stranger.new_page()
    reader.goto(url)
    expect(reader.locator("[data-role=user] .msg-text")).to_have_text("Hello")
    expect(reader.locator("[data-role=assistant] .msg-text")).to_have_text(GREETING_REPLY)
    expect(reader.locator("#composer-input")).to_have_count(0)

    page.click("#unshare-button")
    expect(page.locator("#share-link")).to_be_hidden()
    response = reader.goto(url)
    assert response is not None and response.status == 404
    expect(reader.get_by_text(GREETING_REPLY)).to_have_count(0)
    stranger.close()
    assert page_errors == []


def test_a_shared_reply_shows_as_markdown(
    page: Page, browser: Browser, page_errors: list[str]
) -> None:
    sign_up(page)
    send(page, "/sim tokens=120 Show me a list and some code")
    expect(page.locator(f"{REPLY}[data-status=completed]")).to_have_count(1, timeout=30_000)
    page.click("#share-button")
    expect(page.locator("#share-link")).to_be_visible()
    url = page.locator("#share-link").get_attribute("href") or ""

    stranger = browser.new_context()
    reader = stranger.new_page()
    errors: list[str] = []
    reader.on("console", lambda message: message.type == "error" and errors.append(message.text))
    reader.on("pageerror", lambda error: errors.append(str(error)))
    reader.goto(url)
    shown = reader.locator("[data-role=assistant] .msg-text")
    expect(shown.locator("ul > li strong")).to_have_count(3)  # "- **Clarity** comes first."
    block = shown.locator(".code-block")
    expect(block.locator(".code-language")).to_have_text("python")
    expect(block.locator("pre code.hljs .hljs-keyword").first).to_have_text("def")
    assert "```" not in shown.inner_text() and "**" not in shown.inner_text()
    expect(reader.locator("[data-role=user] .msg-text")).to_have_text(
        "/sim tokens=120 Show me a list and some code"
    )
    stranger.close()
    assert errors == [] and page_errors == []
