"""A tab left open through a crash: the server is killed mid-reply and started again, and the
tab, never reloaded, shows the reply as ended once the new server has settled the run. The
new server's first request is the tab's own socket reconnecting, so the tab fetches the
thread while the run is still being settled and learns the end from the socket's `resync`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.appserver import AppServer
from tests.e2e.chat_page import REPLY, send, sign_up

pytestmark = pytest.mark.browser


@pytest.fixture
def server(tmp_path: Path) -> Iterator[AppServer]:
    server = AppServer(tmp_path)
    server.prepare()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def tab(browser: Browser, server: AppServer) -> Iterator[Page]:
    context = browser.new_context(base_url=server.app.url)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def test_a_tab_open_through_a_crash_shows_the_reply_ended(tab: Page, server: AppServer) -> None:
    sign_up(tab)
    send(tab, "/sim tokens=2000 rate=20 A long story")
    reply = tab.locator(REPLY).first
    expect(reply).to_have_attribute("data-status", "in_progress")
    tab.wait_for_function(  # some of it streamed (and checkpointed) before the kill
        "() => (document.querySelector('[data-role=assistant] .msg-body')?.innerText ?? '')"
        ".length > 100"
    )
    server.kill()
    server.start(probe=False)
    # No reload: what the tab shows comes from its reconnected socket.
    expect(reply).to_have_attribute("data-status", "failed", timeout=30_000)
    expect(reply).to_contain_text("The server stopped while this reply was being written")
