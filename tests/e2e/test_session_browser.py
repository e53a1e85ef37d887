"""A chat tab whose socket's session ends elsewhere. A password change in another tab gives
the browser's session a new key: the socket, opened with the old one, is closed (4401) at its
next session check, but the browser is still signed in, and the tab carries on. A log-out in
another tab ends the session for good: the tab goes to the login page.

The server checks each socket's session at every heartbeat here (both every second).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.e2e.appserver import RunningApp, running_app
from tests.e2e.chat_page import PASSWORD, REPLY, send, sign_up

pytestmark = pytest.mark.browser

LOGIN = re.compile(r"/accounts/login/")


@pytest.fixture
def app(tmp_path: Path) -> Iterator[RunningApp]:
    checks = {"WS_HEARTBEAT_SECONDS": "1", "WS_SESSION_CHECK_SECONDS": "0"}
    with running_app(tmp_path, env=checks) as app:
        yield app


@pytest.fixture
def context(browser: Browser, app: RunningApp) -> Iterator[BrowserContext]:
    context = browser.new_context(base_url=app.url)
    context.set_default_timeout(15_000)
    yield context
    context.close()


def chat_tab(context: BrowserContext) -> Page:
    """A signed-in tab on a thread with one completed reply."""
    page = context.new_page()
    sign_up(page)
    send(page, "/sim tokens=3 Hello")
    expect(page.locator(REPLY).first).to_have_attribute("data-status", "completed")
    return page


def test_a_password_changed_in_another_tab_leaves_this_tab_signed_in(
    context: BrowserContext,
) -> None:
    chat = chat_tab(context)
    other = context.new_page()
    other.goto("/accounts/password_change/")
    other.fill("#id_old_password", PASSWORD)
    other.fill("#id_new_password1", PASSWORD + "-new")
    other.fill("#id_new_password2", PASSWORD + "-new")
    other.click("input[type=submit], button[type=submit]")
    other.wait_for_url(re.compile(r"/accounts/password_change/done/"))
    chat.wait_for_timeout(3_000)  # heartbeats, each with a session check
    expect(chat).not_to_have_url(LOGIN)
    send(chat, "/sim tokens=3 Again")
    expect(chat.locator(REPLY).nth(1)).to_have_attribute("data-status", "completed")


def test_a_log_out_in_another_tab_takes_this_tab_to_the_login_page(
    context: BrowserContext,
) -> None:
    chat = chat_tab(context)
    other = context.new_page()
    other.goto("/")
    other.get_by_role("button", name="Log out").click()
    expect(chat).to_have_url(LOGIN)
