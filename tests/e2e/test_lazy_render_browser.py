"""The chat page starts without its Markdown renderer's highlighter, in real Chromium:
highlight.js is fetched only once a reply holds a code block, and that block is then
highlighted, its header naming the language; a reply with no code leaves it unfetched."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.chat_page import REPLY, send, sign_up

pytestmark = pytest.mark.browser

FETCHED = """(name) => performance.getEntriesByType("resource")
  .some((entry) => new URL(entry.name).pathname.endsWith(name))"""
HIGHLIGHTER = "/highlight.js/es/highlight.min.js"
COLOURS = "/highlight.js/styles/github.min.css"  # the light scheme's: Playwright's default


def fetched(page: Page, name: str) -> bool:
    return bool(page.evaluate(FETCHED, name))


def test_highlight_js_comes_only_with_the_first_code_block(
    page: Page, page_errors: list[str]
) -> None:
    sign_up(page)
    send(page, "/sim tokens=12 No code here")  # a short reply: one paragraph, no code block
    reply = page.locator(f"{REPLY}[data-status=completed]")
    expect(reply).to_have_count(1, timeout=30_000)
    expect(reply.locator(".md p")).to_have_count(1)  # rendered as Markdown all the same
    assert fetched(page, "/markdown.js")
    assert not fetched(page, HIGHLIGHTER) and not fetched(page, COLOURS)

    send(page, "/sim tokens=120 Show me some code")
    expect(page.locator(f"{REPLY}[data-status=completed]")).to_have_count(2, timeout=30_000)
    block = page.locator(f"{REPLY} .code-block").last
    expect(block.locator(".code-language")).to_have_text("python")
    expect(block.locator("pre code.hljs .hljs-keyword").first).to_have_text("def")
    assert fetched(page, HIGHLIGHTER) and fetched(page, COLOURS)
    colour = block.locator(".hljs-keyword").first.evaluate("(node) => getComputedStyle(node).color")
    assert colour != block.locator("pre code").evaluate("(node) => getComputedStyle(node).color")
    assert page_errors == []


def test_a_thread_with_code_opened_afresh_is_highlighted(
    page: Page, page_errors: list[str]
) -> None:
    sign_up(page)
    send(page, "/sim tokens=120 Show me some code")
    expect(page.locator(f"{REPLY}[data-status=completed]")).to_have_count(1, timeout=30_000)
    page.reload()  # the history is rendered before either module has arrived
    block = page.locator(f"{REPLY} .code-block")
    expect(block).to_have_count(1)
    expect(block.locator(".code-language")).to_have_text("python")
    expect(block.locator("pre code.hljs .hljs-keyword").first).to_have_text("def")
    expect(page.locator(f"{REPLY} .md li")).to_have_count(3)
    assert page_errors == []
