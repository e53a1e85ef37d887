"""The chat in real Chromium against the real app (see conftest.py): sign up, watch a reply
stream in token by token, reload, stop a reply, and make sure markup in messages never runs.

The selectors used here are the UI's test contract, listed in docs/ui.md.
"""

from __future__ import annotations

import itertools
import re

from playwright.sync_api import Page, WebSocketRoute, expect

from tests.e2e.chat_page import (
    GREETING_REPLY,
    RECORD_CONNECTION_LABELS,
    RECORD_REPLY_STATES,
    REPLY,
    XSS_PAYLOAD,
    check_usage,
    reply_text,
    send,
    sign_up,
)


def test_a_reply_streams_in_and_survives_a_reload(page: Page, page_errors: list[str]) -> None:
    sign_up(page)
    expect(page.locator("#send-button")).to_be_disabled()  # nothing typed yet
    page.evaluate(RECORD_REPLY_STATES)

    send(page, "Hello")

    expect(page.locator("[data-role=user] .msg-text")).to_have_text("Hello")
    done = page.locator(f"{REPLY}[data-status=completed]")
    expect(done).to_have_count(1)
    assert reply_text(page) == GREETING_REPLY
    states = [s.strip() for s in page.evaluate("window.__replyStates") if s.strip()]
    assert len(set(states)) >= 3, f"the reply did not visibly grow: {states}"
    # Each state extends the one before: no gap, no duplicated chunk, no reordering.
    for before, after in itertools.pairwise(states):
        assert after.startswith(before), f"{before!r} -> {after!r}"
    assert states[-1] == GREETING_REPLY
    usage = page.locator(f"{REPLY} .usage")
    expect(usage).to_be_visible()
    check_usage(usage.inner_text())
    usage_text = usage.inner_text()

    # The URL became the thread's, and the sidebar lists it as the current chat.
    assert re.search(r"/t/\d+/$", page.url), page.url
    expect(page.locator(".thread-item.current .thread-link")).to_have_text("Hello")
    expect(page.locator("#announcer")).to_have_text("The reply is complete.")

    page.reload()
    expect(page.locator(f"{REPLY}[data-status=completed]")).to_have_count(1)
    assert reply_text(page) == GREETING_REPLY
    expect(page.locator(f"{REPLY} .usage")).to_have_text(usage_text)
    expect(page.locator("[data-role=user] .msg-text")).to_have_text("Hello")
    assert page_errors == []


def test_a_dropped_socket_resumes_without_gaps_or_duplicates(
    page: Page, page_errors: list[str]
) -> None:
    """The page's socket is cut mid-reply; it comes back by itself with run_id and after_seq."""
    urls: list[str] = []

    def relay(ws: WebSocketRoute) -> None:
        urls.append(ws.url)
        server = ws.connect_to_server()
        relayed = 0

        def from_server(message: str | bytes) -> None:
            nonlocal relayed
            ws.send(message)
            relayed += 1
            if len(urls) == 1 and relayed == 11:  # a couple of text deltas in: cut it
                ws.close(code=4000, reason="test: network drop")
                server.close()

        server.on_message(from_server)
        ws.on_message(server.send)

    page.route_web_socket(re.compile(r"/ws/threads/\d+/"), relay)
    sign_up(page)
    page.evaluate(RECORD_REPLY_STATES)
    page.evaluate(RECORD_CONNECTION_LABELS)
    send(page, "/sim rate=8 Hello")

    expect(page.locator(f"{REPLY}[data-status=completed]")).to_have_count(1)
    expect(page.locator("#conn-status")).to_have_attribute("data-state", "open")
    assert "Reconnecting…" in page.evaluate("window.__connectionLabels")
    assert reply_text(page) == GREETING_REPLY
    assert len(urls) >= 2
    assert re.search(r"\?run_id=\d+&after_seq=11$", urls[1]), urls
    states = [s.strip() for s in page.evaluate("window.__replyStates") if s.strip()]
    for before, after in itertools.pairwise(states):
        assert after.startswith(before), f"{before!r} -> {after!r}"
    assert page_errors == []


def test_a_reload_mid_reply_picks_the_stream_up_again(page: Page, page_errors: list[str]) -> None:
    sign_up(page)
    send(page, "/sim rate=6 Hello")
    reply = page.locator(REPLY)
    expect(reply).to_have_attribute("data-streaming", "true")

    page.reload()
    page.evaluate(RECORD_REPLY_STATES)
    expect(page.locator(f"{REPLY}[data-status=completed]")).to_have_count(1)
    assert reply_text(page) == GREETING_REPLY
    states = [s.strip() for s in page.evaluate("window.__replyStates") if s.strip()]
    for before, after in itertools.pairwise(states):
        assert after.startswith(before), f"the text went back: {before!r} -> {after!r}"
    check_usage(page.locator(f"{REPLY} .usage").inner_text())
    expect(page.locator("[data-role=user]")).to_have_count(1)
    assert page_errors == []


def test_a_message_sent_in_one_tab_appears_in_another(page: Page, page_errors: list[str]) -> None:
    sign_up(page)
    send(page, "Hello")
    expect(page.locator(f"{REPLY}[data-status=completed]")).to_have_count(1)
    other = page.context.new_page()  # same session, second tab on the same thread
    other.goto(page.url)
    expect(other.locator(f"{REPLY}[data-status=completed]")).to_have_count(1)

    send(page, "Hi")
    expect(other.locator("[data-role=user]")).to_have_count(2)
    expect(other.locator("[data-role=user] .msg-text").nth(1)).to_have_text("Hi")
    expect(other.locator(f"{REPLY}[data-status=completed]")).to_have_count(2)
    expect(other.locator(REPLY).nth(1).locator(".msg-body")).to_have_text(GREETING_REPLY)
    # The sending tab shows its message once, not once from the POST and again from the socket.
    expect(page.locator("[data-role=user]")).to_have_count(2)
    expect(page.locator(REPLY)).to_have_count(2)
    assert page_errors == []


def test_stop_keeps_the_partial_reply_marked_as_stopped(page: Page, page_errors: list[str]) -> None:
    sign_up(page)
    send(page, "/sim rate=8 tokens=400 Tell me about rivers")

    reply = page.locator(REPLY)
    expect(reply).to_have_attribute("data-streaming", "true")
    expect(page.locator("#stop-button")).to_be_visible()
    expect(page.locator("#send-button")).to_be_hidden()
    page.click("#stop-button")

    expect(reply).to_have_attribute("data-status", "cancelled", timeout=15_000)
    expect(reply.locator(".msg-notice")).to_contain_text("Stopped")
    assert reply_text(page), "the partial text should stay"
    expect(page.locator("#stop-button")).to_be_hidden()
    expect(page.locator("#send-button")).to_be_visible()
    assert page_errors == []


def test_markup_in_messages_never_runs(page: Page, page_errors: list[str]) -> None:
    sign_up(page)

    # The renderer replies go through, called directly on the loaded page.
    rendered = page.evaluate(
        """async (payload) => {
          const { renderMarkdownInto } = await import('/static/chat/render.js');
          const host = document.createElement('div');
          document.body.append(host);
          renderMarkdownInto(host, payload);
          await new Promise((resolve) => setTimeout(resolve, 300));
          const attributes = [...host.querySelectorAll('*')].flatMap((node) =>
            [...node.attributes].map((a) => `${a.name}=${a.value}`));
          return {
            pwned: window.__pwned ?? null,
            dangerous: host.querySelectorAll('script, iframe, svg, [onerror], [onload]').length,
            attributes,
            text: host.textContent,
          };
        }""",
        XSS_PAYLOAD,
    )
    assert rendered["pwned"] is None
    assert rendered["dangerous"] == 0
    for attribute in rendered["attributes"]:
        assert not attribute.startswith("on"), attribute
        assert "javascript:" not in attribute.lower(), attribute
    assert rendered["text"].startswith("Hi")
    page_errors.clear()  # the harmless <img src=x> we attached fails to load, as it should

    # The same text through the whole app: shown literally, never executed, also after reload.
    send(page, XSS_PAYLOAD)
    expect(page.locator("[data-role=user] .msg-text")).to_have_text(XSS_PAYLOAD)
    expect(page.locator(f"{REPLY}[data-status=completed]")).to_have_count(1, timeout=20_000)
    page.reload()
    expect(page.locator("[data-role=user] .msg-text")).to_have_text(XSS_PAYLOAD)
    page.wait_for_timeout(300)
    assert page.evaluate("window.__pwned ?? null") is None
    assert page.locator("#messages img, #messages script, #messages iframe").count() == 0
    assert page_errors == []
