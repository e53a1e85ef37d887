"""On a phone-sized screen the assistant picker keeps its accessible name: its visible label
is hidden there to save room, but only visually, not from screen readers."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.axe import on, violations
from tests.e2e.chat_page import sign_up

pytestmark = pytest.mark.browser


def test_the_phone_assistant_picker_has_a_name(page: Page, page_errors: list[str]) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    sign_up(page)
    picker = page.locator("#assistant-picker")
    expect(picker).to_be_visible()
    expect(picker).to_have_accessible_name("Assistant")
    # axe, as screen readers do, takes no name from a label that is not rendered.
    assert on(violations(page), "#assistant-picker") == []
    assert page_errors == []
