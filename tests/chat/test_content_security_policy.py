"""Every response carries the strict Content-Security-Policy (django-csp): scripts, styles,
fonts and connections from the site only, images from the site and data: URLs. What it stops
in a browser is in tests/e2e/test_hostile_pages.py."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

pytestmark = pytest.mark.django_db

DIRECTIVES = {
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
}


def directives(response: object) -> set[str]:
    header = response["Content-Security-Policy"]  # type: ignore[index]
    return {part.strip() for part in header.split(";")}


@pytest.mark.parametrize(
    "url", ["/", "/accounts/login/", "/accounts/signup/", "/api/threads/", "/no/such/page/"]
)
def test_every_page_and_answer_carries_the_policy(alice_client: Client, url: str) -> None:
    assert directives(alice_client.get(url)) == DIRECTIVES


def test_the_admin_carries_the_policy(admin_client: Client) -> None:
    assert directives(admin_client.get("/admin/chat/assistant/")) == DIRECTIVES


def test_the_app_page_has_no_inline_script_or_style(alice: User, alice_client: Client) -> None:
    page = alice_client.get("/").content.decode()
    # Only data blocks (json_script) may be inline: the policy would refuse anything else.
    scripts = page.count("<script")
    assert scripts == page.count('<script type="module" src=') + page.count(
        'type="application/json"'
    )
    assert "style=" not in page and "<style" not in page
