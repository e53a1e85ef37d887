"""What a page of another site, or a hostile reply, can do to a logged-in user in real
Chromium: open her thread's socket with her cookies, or make her browser fetch a remote URL.
The other site is `another_site.py`, on another loopback port of the same host."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.another_site import AnotherSite
from tests.e2e.test_chat_browser import send, sign_up

pytestmark = pytest.mark.browser


def thread_id_of(page: Page) -> int:
    page.wait_for_url(re.compile(r"/t/\d+/$"))
    match = re.search(r"/t/(\d+)/$", page.url)
    assert match is not None
    return int(match.group(1))


def test_a_page_on_another_port_cannot_open_a_socket(
    page: Page, app_server: str, other_site: AnotherSite, page_errors: list[str]
) -> None:
    sign_up(page)
    send(page, "/sim rate=20 tokens=80 Tell me about rivers")  # a reply streaming for seconds
    thread_id = thread_id_of(page)
    expect(page.locator("[data-role=assistant] .msg-body")).not_to_be_empty()

    # Same host, another port: the browser sends the user's cookies with the handshake.
    target = app_server.replace("http://", "ws://", 1) + f"/ws/threads/{thread_id}/"
    thief = page.context.new_page()
    thief.goto(f"{other_site.url}/socket-thief.html#{quote(target, safe='')}")
    thief.wait_for_function("window.__closed !== null")

    assert thief.evaluate("window.__closed") == 4403
    assert thief.evaluate("window.__stolen") == []
    # The site's own page still streams its reply over its own socket.
    expect(page.locator("[data-role=assistant][data-status=completed]")).to_have_count(
        1, timeout=20_000
    )
    assert page_errors == []
