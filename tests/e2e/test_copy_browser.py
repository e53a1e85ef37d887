"""Copy in real Chromium: a code block's header names its language and its button puts the
code on the clipboard; a reply's button puts its Markdown source there; both by keyboard, and
both said to screen readers."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.chat_page import REPLY, send, sign_up

pytestmark = pytest.mark.browser


def clipboard(page: Page) -> str:
    return str(page.evaluate("navigator.clipboard.readText()"))


def test_copy_a_code_block_and_a_reply(page: Page, page_errors: list[str]) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    sign_up(page)
    send(page, "/sim tokens=120 Show me some code")
    expect(page.locator(f"{REPLY}[data-status=completed]")).to_have_count(1, timeout=30_000)

    block = page.locator(f"{REPLY} .code-block").first
    expect(block.locator(".code-language")).to_have_text("python")
    code = block.locator("pre code").inner_text()
    assert code.strip()
    button = block.get_by_role("button", name="Copy the python code")
    button.focus()  # reachable by keyboard: a real button
    page.keyboard.press("Enter")
    expect(page.locator("#announcer")).to_have_text("Copied to the clipboard.")
    expect(button).to_have_text("Copied")
    assert clipboard(page) == code

    page.get_by_role("button", name="Copy the reply as Markdown").click()
    source = clipboard(page)
    # The Markdown source, not the rendered text: the fence and the language are in it.
    assert "```python" in source
    assert code.strip() in source
    assert page_errors == []
