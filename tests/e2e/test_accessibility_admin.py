"""The operators' live board reloads itself, but an operator can turn that off (WCAG 2.2.1),
and the choice outlives the reload."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import log_in_as_admin

pytestmark = pytest.mark.browser

MARK = "() => { window.__sameDocument = true; }"
SAME_DOCUMENT = "() => window.__sameDocument === true"


def test_the_live_board_reloads_until_told_not_to(page: Page, page_errors: list[str]) -> None:
    log_in_as_admin(page)
    page.goto("/admin/chat/liverun/")
    box = page.get_by_label("Reload this page every 2 s")
    expect(box).to_be_checked()
    page.evaluate(MARK)
    page.wait_for_function("() => window.__sameDocument !== true")  # it reloaded

    box.uncheck()
    page.evaluate(MARK)
    page.wait_for_timeout(3_000)  # longer than the 2 s between reloads
    assert page.evaluate(SAME_DOCUMENT)

    page.reload()  # the choice stays for the tab
    expect(page.get_by_label("Reload this page every 2 s")).not_to_be_checked()
    assert page_errors == []
