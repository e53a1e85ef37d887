"""One world: a thread created over the Assistants API (/v1/) with a key made on the keys
page is the user's thread in the web chat, where its reply streams in live."""

from __future__ import annotations

import itertools
import re

import openai
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.chat_page import REPLY, sign_up

pytestmark = [pytest.mark.browser, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

QUESTION = "/sim tokens=60 rate=12 Tell me about rivers"

# Every distinct text of the reply, recorded by the page itself as the DOM changes.
RECORD_REPLY = """() => {
  window.__states = [];
  new MutationObserver(() => {
    const body = document.querySelector('[data-role=assistant] .msg-body');
    const text = body ? body.textContent : '';
    if (text && window.__states[window.__states.length - 1] !== text) window.__states.push(text);
  }).observe(document.getElementById('messages'),
    {subtree: true, childList: true, characterData: true});
}"""


def make_key(page: Page) -> str:
    page.goto("/keys/")
    page.fill("#key-name", "browser test")
    page.click("#create-key")
    key = page.locator("#new-key").inner_text().strip()
    page.goto("/keys/")
    expect(page.locator("#key-list")).to_contain_text("browser test")
    expect(page.locator("#new-key")).to_have_count(0)  # shown once
    return key


def test_a_thread_made_over_the_api_streams_live_in_the_web_chat(
    page: Page, page_errors: list[str], app_server: str
) -> None:
    sign_up(page)
    key = make_key(page)
    with openai.OpenAI(base_url=f"{app_server}/v1", api_key=key, max_retries=0) as client:
        _watch_a_run_made_over_the_api(page, client)
    assert page_errors == []


def _watch_a_run_made_over_the_api(page: Page, client: openai.OpenAI) -> None:
    assistant = client.beta.assistants.create(model="gpt-4o", name="From a script")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": QUESTION}])
    thread_pk = int(thread.id.removeprefix("thread_"))
    run = client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)

    page.goto(f"/t/{thread_pk}/")
    page.evaluate(RECORD_REPLY)
    expect(page.locator("[data-role=user] .msg-text")).to_have_text(QUESTION)
    expect(page.locator(f"{REPLY}[data-status=completed]")).to_have_count(1, timeout=30_000)
    states = [s.strip() for s in page.evaluate("window.__states") if s.strip()]
    assert len(states) >= 3, f"the reply did not stream in live: {states}"
    # Markdown is rendered as it arrives (`**` becomes bold), so the words are compared.
    for before, after in itertools.pairwise(states):
        assert _words(after)[: len(_words(before)) - 1] == _words(before)[:-1]

    final = client.beta.threads.runs.retrieve(run.id, thread_id=thread.id)
    assert final.status == "completed"
    reply = client.beta.threads.messages.list(thread_id=thread.id, run_id=run.id).data[0]
    shown = page.locator(f"{REPLY} .msg-body").first.inner_text()
    # The page renders Markdown; its words are the API's.
    assert _words(shown) == _words(reply.content[0].text.value)  # type: ignore[union-attr]
    expect(page.locator(".thread-item.current .thread-link")).to_contain_text("/sim tokens")


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text)
