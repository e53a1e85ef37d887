"""Text contrast on the chat page, as axe measures it (WCAG 2.2 AA: 4.5:1 for text): the
sidebar's "API keys" and "Log out" links, light theme."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.e2e.axe import violations
from tests.e2e.chat_page import sign_up

pytestmark = pytest.mark.browser


def test_sidebar_links_have_enough_contrast_in_light(page: Page, page_errors: list[str]) -> None:
    page.emulate_media(color_scheme="light")
    sign_up(page)
    low = [v for v in violations(page) if v["id"] == "color-contrast"]
    targets = [t for v in low for t in v["targets"]]
    assert 'a[href$="keys/"]' not in targets
    assert '.link-button[type="submit"]' not in targets
    assert page_errors == []
