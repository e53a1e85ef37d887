"""The operators' pages in real Chromium against the real app (see conftest.py): an admin sets
a user's budget, sees the usage chart and stops a user's live reply from the live board; the
user sees the budget meter, its warning, the stop at the budget and the refusal.

With SCREENSHOT_DIR set, each page is also saved there as a PNG.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.chat_page import REPLY, send, sign_up
from tests.e2e.conftest import log_in_as_admin

pytestmark = pytest.mark.browser


def shot(page: Page, name: str) -> None:
    folder = os.environ.get("SCREENSHOT_DIR")
    if folder:
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


@pytest.fixture
def admin(browser: Browser, app_server: str, page_errors: list[str]) -> Page:
    """A second browser context, logged in to the admin (the user's page is another)."""
    context = browser.new_context(base_url=app_server)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.on("pageerror", lambda error: page_errors.append(f"admin: {error}"))
    log_in_as_admin(page)
    return page


def set_daily_budget(admin: Page, username: str, tokens: int) -> None:
    admin.goto("/admin/chat/userbudget/add/")
    admin.select_option("#id_user", label=username)
    admin.fill("#id_daily_tokens", str(tokens))
    admin.click("input[name=_save]")
    expect(admin.locator(".messagelist")).to_contain_text("was added successfully")
    shot(admin, "admin-budgets")


def test_a_user_sees_the_meter_the_stop_at_the_budget_and_the_refusal(
    page: Page, admin: Page, page_errors: list[str]
) -> None:
    username = sign_up(page)
    expect(page.locator("#budget-meter")).to_be_hidden()  # no budget yet
    set_daily_budget(admin, username, 300)
    page.reload()
    meter = page.locator("#budget-meter")
    expect(meter).to_contain_text("Today: 300 of 300 tokens left")
    expect(meter.locator("[data-warning=true]")).to_have_count(0)

    send(page, "/sim tokens=2000 rate=200 Tell me a very long story")
    reply = page.locator(f"{REPLY}[data-status=incomplete]")
    expect(reply).to_have_count(1, timeout=30_000)
    expect(reply.locator(".msg-notice")).to_contain_text("budget reached")
    expect(meter.locator("[data-warning=true]")).to_have_count(1)
    expect(meter).to_contain_text("Over 80 % used")
    shot(page, "user-meter-warning")

    send(page, "And then?")
    error = page.locator("#composer-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("daily budget")
    expect(error).to_contain_text("resets at midnight UTC")
    shot(page, "user-refused")
    # Chromium logs the refused POST itself; nothing else may be logged.
    assert [e for e in page_errors if "status of 429" not in e] == []


def test_an_admin_stops_a_live_reply_and_sees_the_usage_chart(
    page: Page, admin: Page, page_errors: list[str]
) -> None:
    username = sign_up(page)
    send(page, "/sim tokens=4000 rate=40 A long, long story")
    expect(page.locator(f"{REPLY} .msg-body")).not_to_be_empty()

    admin.goto("/admin/chat/liverun/")
    row = admin.locator("#live-runs tbody tr", has_text=username)
    expect(row).to_have_count(1)
    shot(admin, "admin-live-runs")
    row.locator("button.stop-run").click()
    expect(admin.locator(".messagelist")).to_contain_text("is stopping")
    # The process executing it finds it at its next lease renewal (RUN_LEASE_SECONDS / 3).
    stopped = page.locator(f"{REPLY}[data-status=cancelled]")
    expect(stopped).to_have_count(1, timeout=20_000)
    expect(admin.locator("#live-runs tbody tr", has_text=username)).to_have_count(0, timeout=5000)

    admin.goto("/admin/chat/run/")
    admin.locator("#result_list tr", has_text=username).locator("a", has_text="inspect").click()
    expect(admin.locator("#timeline")).to_contain_text(re.compile(r"cancel"))
    expect(admin.locator("#request-sent")).to_contain_text("A long, long story")
    shot(admin, "admin-run-inspector")

    admin.goto("/admin/chat/usagedaytotal/?by=user")
    canvas = admin.locator("#usage-canvas")
    expect(canvas).to_have_attribute("data-ready", re.compile(r"^[1-9]\d*$"))
    # The page ranks the top ten users of the range: this user is among them unless ten
    # heavier ones, from the other browser tests on the same server, fill it.
    rows = admin.locator("#usage-table tbody tr")
    expect(rows.first).to_be_visible()
    table = admin.locator("#usage-table").inner_text()
    assert username in table or rows.count() >= 10, table
    shot(admin, "admin-usage-by-user")
    admin.goto("/admin/chat/usagedaytotal/")
    expect(admin.locator("#usage-canvas")).to_have_attribute("data-ready", "2")
    shot(admin, "admin-usage-site")
    assert page_errors == []
