"""WCAG 2.2 AA, as axe-core checks it, on every page outside a running reply, in light and
dark: the login, the sign-up with errors, the empty chat, the keys page, the search dialog,
the shortcuts, the phone's drawer, a share page, the logged-out and 404 pages and the admin
with its operators' pages. The replies' states are in
test_accessibility_replies.py."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.axe import assert_no_violations, without_axe_noise
from tests.e2e.chat_page import PASSWORD, REPLY, send, sign_up
from tests.e2e.conftest import log_in_as_admin

pytestmark = pytest.mark.browser


def login(page: Page) -> None:
    page.goto("/accounts/login/")


def sign_up_with_errors(page: Page) -> None:
    page.goto("/accounts/signup/")
    page.fill("#id_username", "someone")
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", "not the same")
    page.click("button[type=submit]")
    expect(page.locator(".field-errors")).not_to_have_count(0)


def not_found(page: Page) -> None:
    missing: list[str] = []
    page.on("response", lambda response: response.status == 404 and missing.append(response.url))
    page.goto("/no-such-page/")
    assert missing == [page.url]  # the page itself, none of what it loads


def keys(page: Page) -> None:
    sign_up(page)
    page.goto("/keys/")
    page.fill("#key-name", "laptop")
    page.click("#create-key")
    expect(page.locator("#new-key")).to_be_visible()


def chat_with_a_reply(page: Page) -> None:
    sign_up(page)
    chat_with_a_reply_here(page)


def chat_with_a_reply_here(page: Page) -> None:
    send(page, "Hello")
    expect(page.locator(f"{REPLY}[data-status=completed]")).to_have_count(1)


def search(page: Page) -> None:
    chat_with_a_reply(page)
    page.click("#search-open")
    page.fill("#search-input", "Hello")
    expect(page.locator("#search-results li")).not_to_have_count(0)


def shortcuts(page: Page) -> None:
    sign_up(page)
    page.keyboard.press("Control+/")
    expect(page.locator("#shortcuts-dialog")).to_be_visible()


def logged_out(page: Page) -> None:
    sign_up(page)
    page.click(".sidebar-foot button[type=submit]")
    expect(page.locator("h1")).to_be_visible()


def phone_drawer(page: Page) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    chat_with_a_reply(page)
    page.click("#sidebar-toggle")
    expect(page.locator("#sidebar")).to_be_visible()
    page.wait_for_timeout(300)  # the slide-in transition, so axe sees the final colours


def share(page: Page) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    chat_with_a_reply(page)
    page.click("#share-button")
    link = page.locator("#share-link")
    expect(link).to_be_visible()
    page.goto(link.get_attribute("href") or "")


def admin_index(page: Page) -> None:
    log_in_as_admin(page)


def admin_changelist(page: Page) -> None:
    log_in_as_admin(page)
    page.goto("/admin/chat/thread/")
    expect(page.locator("#changelist-filter")).to_be_visible()


def admin_change_form(page: Page) -> None:
    log_in_as_admin(page)
    page.goto("/admin/chat/assistant/")
    page.locator("#result_list tbody a").first.click()
    expect(page.locator("#content-main form")).to_be_visible()


def admin_usage(page: Page) -> None:
    log_in_as_admin(page)
    page.goto("/admin/chat/usagedaytotal/")
    expect(page.locator("#usage-canvas")).to_have_attribute("data-ready", re.compile(r"\d"))


def admin_live_runs(page: Page) -> None:
    log_in_as_admin(page)
    page.goto("/admin/chat/liverun/")


def admin_run_inspector(page: Page) -> None:
    log_in_as_admin(page)
    page.goto("/")  # the admin chats too: a run of its own to inspect
    chat_with_a_reply_here(page)
    page.goto("/admin/chat/run/")
    page.locator("#result_list a", has_text="inspect").first.click()
    expect(page.locator("#timeline")).to_be_visible()


STATES: list[Callable[[Page], None]] = [
    login,
    sign_up_with_errors,
    not_found,
    sign_up,
    keys,
    search,
    shortcuts,
    logged_out,
    phone_drawer,
    share,
    admin_index,
    admin_changelist,
    admin_change_form,
    admin_usage,
    admin_live_runs,
    admin_run_inspector,
]


@pytest.mark.parametrize("reach", STATES, ids=lambda state: state.__name__)
def test_the_page_has_no_wcag_violations(
    page: Page, scheme: str, reach: Callable[[Page], None], page_errors: list[str]
) -> None:
    reach(page)
    assert_no_violations(page)
    # Chromium reports the 404 page's own status as a console error.
    expected = "status of 404" if reach is not_found else "\0"
    errors = [e for e in without_axe_noise(page_errors) if expected not in e]
    assert errors == [], "\n".join(errors)


def test_sign_up_errors_describe_their_fields(page: Page, page_errors: list[str]) -> None:
    sign_up_with_errors(page)
    second = page.locator("#id_password2")
    expect(second).to_have_attribute("aria-invalid", "true")
    # Read out with the field, as Django's aria-describedby intends.
    error = page.locator(".field", has=second).locator(".field-errors").inner_text().strip()
    expect(second).to_have_accessible_description(re.compile(re.escape(error)))
    for field in page.locator("input[aria-describedby]").all():
        for id_ in (field.get_attribute("aria-describedby") or "").split():
            expect(page.locator(f"#{id_}")).to_have_count(1)
    assert page_errors == []
