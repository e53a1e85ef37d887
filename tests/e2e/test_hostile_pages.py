"""What a page of another site, or a hostile reply, can do to a logged-in user in real
Chromium: open her thread's socket with her cookies, or make her browser fetch a remote URL;
and that the Content-Security-Policy leaves the app and its admin working. The other site is
`another_site.py`, on another loopback port of the same host."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.another_site import AnotherSite
from tests.e2e.conftest import ADMIN_PASSWORD
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


def test_a_remote_image_in_a_reply_is_a_link_and_is_never_fetched(
    page: Page, other_site: AnotherSite, page_errors: list[str]
) -> None:
    sign_up(page)
    page.locator("#assistant-picker").select_option(label="Another site · another-model")
    send(page, "Show me the chart")
    reply = page.locator("[data-role=assistant][data-status=completed]")
    expect(reply).to_have_count(1)

    for _ in range(2):  # as streamed, then as the API gives it back after a reload
        link = reply.locator("a.remote-image")
        expect(link).to_have_attribute("href", f"{other_site.pixel_url}?leak=secret")
        host = other_site.url.removeprefix("http://")
        expect(link).to_have_text(f"chart (image on {host})")
        assert page.locator("#messages img").count() == 0
        page.reload()
        expect(reply).to_have_count(1)

    assert [path for path in other_site.requests if "leak" in path] == []
    assert page_errors == []


def test_the_content_security_policy_stops_what_slips_past_the_sanitiser(
    page: Page, other_site: AnotherSite, page_errors: list[str]
) -> None:
    sign_up(page)
    response = page.goto("/")
    assert response is not None
    policy = response.headers["content-security-policy"]
    assert "img-src 'self' data:" in policy and "script-src 'self'" in policy

    # As if a reply's markup had got past DOMPurify: a remote image and an inline script.
    violated = page.evaluate(
        """(src) => new Promise((resolve) => {
            const seen = [];
            document.addEventListener("securitypolicyviolation", (event) => {
              seen.push(event.effectiveDirective);
              if (seen.length === 2) resolve(seen.sort());
            });
            const image = document.createElement("img");
            image.src = src;
            const script = document.createElement("script");
            script.textContent = "window.__pwned = 1";
            document.body.append(image, script);
        })""",
        f"{other_site.pixel_url}?slipped",
    )

    assert violated == ["img-src", "script-src-elem"]
    assert page.evaluate("window.__pwned ?? null") is None
    assert [path for path in other_site.requests if "slipped" in path] == []
    assert all("Content Security Policy" in error for error in page_errors), page_errors


ADMIN_PAGES = [
    "/admin/",
    "/admin/chat/assistant/",
    "/admin/chat/assistant/add/",
    "/admin/chat/assistant/1/change/",
    "/admin/chat/thread/",
    "/admin/chat/run/",
    "/admin/auth/user/",
    "/admin/auth/user/1/change/",
]


def test_the_admin_works_under_the_content_security_policy(page: Page) -> None:
    errors: list[str] = []
    # The admin's pages link no icon, so Chromium asks for /favicon.ico and logs its 404.
    page.on(
        "console",
        lambda m: (
            errors.append(m.text)
            if m.type == "error" and not m.location.get("url", "").endswith("/favicon.ico")
            else None
        ),
    )
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto("/admin/login/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", ADMIN_PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("#user-tools")).to_be_visible()
    for url in ADMIN_PAGES:
        response = page.goto(url)
        assert response is not None and response.status == 200, url
        assert "content-security-policy" in response.headers, url
    # The admin's own scripts ran: the change list's select-all box selects every row.
    page.goto("/admin/chat/assistant/")
    page.check("#action-toggle")
    expect(page.locator("input.action-select").first).to_be_checked()
    assert errors == []
