"""What the browser tests do on the chat page: sign up, send, read a reply, and what they
look for."""

from __future__ import annotations

import itertools
import re
import time

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

GREETING_REPLY = "Hello! How can I assist you today?"
PASSWORD = "correct-horse-battery-staple-9"
USAGE = re.compile(r"^(≈ )?([\d,]+) prompt · ([\d,]+) completion · ([\d,]+) total tokens$")
REPLY = "[data-role=assistant]"
_names = itertools.count()

# Records every distinct text the first reply shows. A MutationObserver sees each DOM update,
# which is more reliable than polling from the test process at whatever speed it manages.
RECORD_REPLY_STATES = """() => {
  window.__replyStates = [];
  const record = () => {
    const body = document.querySelector('[data-role=assistant] .msg-body');
    if (!body) return;
    const states = window.__replyStates;
    const text = body.textContent;
    if (states[states.length - 1] !== text) states.push(text);
  };
  new MutationObserver(record).observe(document.getElementById('messages'),
    {subtree: true, childList: true, characterData: true});
}"""

# Every label the connection indicator showed ("Reconnecting…" may last only half a second).
RECORD_CONNECTION_LABELS = """() => {
  window.__connectionLabels = [];
  const status = document.getElementById('conn-status');
  new MutationObserver(() => window.__connectionLabels.push(status.textContent))
    .observe(status, {subtree: true, childList: true, characterData: true});
}"""

XSS_PAYLOAD = (
    'Hi <img src=x onerror="window.__pwned = 1"> <script>window.__pwned = 2</script> '
    '<svg onload="window.__pwned = 3"></svg> [click](javascript:window.__pwned=4) '
    '<iframe srcdoc="<script>parent.__pwned = 5</script>"></iframe> '
    '![img](x" onerror="window.__pwned=6)'
)


def sign_up(page: Page) -> str:
    username = f"user{next(_names)}_{time.monotonic_ns()}"
    page.goto("/accounts/signup/")
    page.fill("#id_username", username)
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/$"))
    expect(page.locator("#composer-input")).to_be_visible()
    return username


def send(page: Page, text: str) -> None:
    composer = page.locator("#composer-input")
    composer.fill(text)
    expect(page.locator("#send-button")).to_be_enabled()
    composer.press("Enter")


def reply_text(page: Page) -> str:
    return page.locator(f"{REPLY} .msg-body").first.inner_text().strip()


def check_usage(text: str) -> None:
    match = USAGE.match(text.strip())
    assert match, f"unexpected usage text {text!r}"
    prompt, completion, total = (int(group.replace(",", "")) for group in match.groups()[1:])
    assert completion > 0 and prompt > 0
    assert total == prompt + completion
