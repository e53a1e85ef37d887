"""The sidebar in real Chromium over a user with 70 threads of various ages: grouped by
Today, Yesterday, Previous 7 days and Older, the first 50 shown, the rest loaded when the list
is scrolled to its end."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.appserver import running_app

pytestmark = pytest.mark.browser

PASSWORD = "carol-correct-horse-battery-9"
# Run by `manage.py shell` before the app starts: 70 threads, the newest today.
SEVENTY_THREADS = f"""
from datetime import timedelta
from django.contrib.auth.models import User
from django.utils import timezone
from chat.models import Assistant, Thread
carol = User.objects.create_user("carol", password={PASSWORD!r})
assistant = Assistant.objects.get(is_default=True)
now = timezone.now()
ages = [0] * 3 + [1] * 2 + [3] * 2 + [30 + i for i in range(63)]
for i, days in enumerate(ages):
    thread = Thread.objects.create(owner=carol, assistant=assistant, title=f"Chat {{i}}")
    Thread.objects.filter(pk=thread.pk).update(updated_at=now - timedelta(days=days, minutes=i))
"""


@pytest.fixture(scope="module")
def carols_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    workdir: Path = tmp_path_factory.mktemp("sidebar-app")
    with running_app(workdir, setup=[SEVENTY_THREADS]) as app:
        yield app.url


@pytest.fixture
def carol(browser: Browser, carols_app: str) -> Iterator[Page]:
    context = browser.new_context(base_url=carols_app)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto("/accounts/login/")
    page.fill("#id_username", "carol")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("#composer-input")).to_be_visible()
    yield page
    context.close()


def test_threads_are_grouped_by_date_and_load_as_the_list_scrolls(carol: Page) -> None:
    items = carol.locator("#thread-list .thread-item")
    expect(items).to_have_count(50)
    labels = carol.locator("#thread-list .thread-group-label")
    expect(labels).to_have_text(["Today", "Yesterday", "Previous 7 days", "Older"])
    expect(items.first.locator(".thread-link")).to_have_text("Chat 0")

    items.last.scroll_into_view_if_needed()
    expect(items).to_have_count(70)
    expect(items.last.locator(".thread-link")).to_have_text("Chat 69")
    expect(carol.locator("#thread-list-more")).to_be_hidden()
    # Still four groups: the older page joined "Older".
    expect(labels).to_have_count(4)
