"""The chat in real Chromium against the real app (see conftest.py): sign up, watch a reply
stream in token by token, reload, stop a reply, and make sure markup in messages never runs.

The selectors used here are the UI's test contract, listed in docs/ui.md.
"""

from __future__ import annotations

import itertools
import json
import re
import time
from typing import Any
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Locator, Page, WebSocketRoute, expect

from tests.e2e.conftest import WeatherApi

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


def test_the_user_picks_the_assistant_of_a_new_chat(page: Page, page_errors: list[str]) -> None:
    sign_up(page)
    picker = page.locator("#assistant-picker")
    expect(picker).to_be_visible()
    expect(picker.locator("option")).to_have_text(
        [
            "Simulator · gpt-4o",
            "Another site · another-model",  # conftest.py: for test_hostile_pages.py
            "Chat simulator · sim-chat",
            "Responses simulator · sim-responses",
        ]
    )
    assert selected_label(picker) == "Simulator · gpt-4o"  # the default
    expect(page.locator("#thread-assistant")).to_be_hidden()

    picker.select_option(label="Chat simulator · sim-chat")
    send(page, "Hello")
    expect(page.locator(f"{REPLY}[data-status=completed]")).to_have_count(1)
    assert reply_text(page) == GREETING_REPLY
    # The thread is now this assistant's: shown, no longer pickable, and so after a reload.
    expect(picker).to_be_hidden()
    expect(page.locator("#thread-assistant")).to_have_text("Chat simulator · sim-chat")
    thread = thread_from_api(page)
    assert thread["assistant"]["name"] == "Chat simulator"
    assert thread["runs"][0]["model"] == "sim-chat"
    page.reload()
    expect(page.locator("#thread-assistant")).to_have_text("Chat simulator · sim-chat")
    expect(picker).to_be_hidden()

    # A new chat offers the picker again; the default assistant answers that one.
    first_path = urlparse(page.url).path
    page.click("#new-chat")
    expect(picker).to_be_visible()
    expect(page.locator("#thread-assistant")).to_be_hidden()
    picker.select_option(label="Simulator · gpt-4o")
    send(page, "Hi")
    expect(page.locator(f"{REPLY}[data-status=completed]")).to_have_count(1)
    expect(page.locator("#thread-assistant")).to_have_text("Simulator · gpt-4o")
    assert thread_from_api(page)["assistant"]["name"] == "Simulator"

    # Back in the first chat (through the sidebar), its own assistant is shown.
    page.locator(f'.thread-link[href="{first_path}"]').click()
    expect(page.locator("#thread-assistant")).to_have_text("Chat simulator · sim-chat")
    assert page_errors == []


def selected_label(select: Locator) -> str:
    return str(select.evaluate("(select) => select.selectedOptions[0]?.textContent ?? ''"))


def thread_from_api(page: Page) -> dict[str, Any]:
    """The open thread as GET /api/threads/<id>/ answers it, fetched with the page's session."""
    match = re.search(r"/t/(\d+)/$", page.url)
    assert match, page.url
    response = page.request.get(f"/api/threads/{match.group(1)}/")
    assert response.ok, response.text()
    return dict(response.json())


def start_chat_with(page: Page, assistant: str, text: str) -> None:
    page.click("#new-chat")
    page.locator("#assistant-picker").select_option(label=assistant)
    send(page, text)


def test_a_reasoning_summary_is_shown_collapsed_before_the_answer(
    page: Page, page_errors: list[str]
) -> None:
    sign_up(page)
    start_chat_with(
        page, "Responses simulator · sim-responses", "/sim reasoning tokens=40 Hi there"
    )
    reply = page.locator(f"{REPLY}[data-status=completed]")
    expect(reply).to_have_count(1)
    reasoning = reply.locator("details.reasoning")
    expect(reasoning).to_have_count(1)
    expect(reasoning).not_to_have_attribute("open", "")
    expect(reasoning.locator(".reasoning-text")).to_be_hidden()  # collapsed
    expect(reasoning.locator("summary")).to_have_text("Reasoning")
    # It sits before the answer, and opens on a click.
    part = reply.locator(".msg-part")
    assert part.evaluate("(p) => p.firstElementChild.matches('details.reasoning')")
    expect(part.locator(".md[data-part=text]")).not_to_be_empty()
    reasoning.locator("summary").click()
    expect(reasoning.locator(".reasoning-text")).to_have_text(
        "The user wrote to me; I will answer briefly and clearly."
    )
    expect(reasoning.locator(".reasoning-text")).to_be_visible()
    assert page_errors == []


def test_a_refusal_is_shown_as_one(page: Page, page_errors: list[str]) -> None:
    sign_up(page)
    start_chat_with(page, "Chat simulator · sim-chat", "/sim refuse Help me with something bad")
    reply = page.locator(f"{REPLY}[data-status=completed]")
    expect(reply).to_have_count(1)
    refusal = reply.locator(".msg-part[data-refusal=true]")
    expect(refusal).to_have_count(1)
    expect(refusal.locator(".refusal-label")).to_have_text("The assistant declined this request.")
    expect(refusal.locator(".md")).to_have_text("I'm sorry, I can't assist with that request.")

    # An ordinary answer from the same assistant is not marked.
    send(page, "Hello")
    expect(page.locator(f"{REPLY}[data-status=completed]")).to_have_count(2)
    expect(page.locator(REPLY).nth(1).locator(".msg-part[data-refusal]")).to_have_count(0)
    expect(page.locator(REPLY).nth(1).locator("details.reasoning")).to_have_count(0)
    assert page_errors == []


def test_esc_stops_a_reply_and_it_stays_stopped_after_a_reload(
    page: Page, page_errors: list[str]
) -> None:
    sign_up(page)
    send(page, "/sim rate=8 tokens=400 Tell me about rivers")
    reply = page.locator(REPLY)
    expect(reply).to_have_attribute("data-streaming", "true")
    page.wait_for_function(  # a few words in
        "() => document.querySelector('[data-role=assistant] .md').textContent.length > 20"
    )
    page.keyboard.press("Escape")

    expect(reply).to_have_attribute("data-status", "cancelled")
    notice = reply.locator(".msg-notice")
    expect(notice).to_have_text("Stopped. The reply above is incomplete.")
    expect(page.locator("#stop-button")).to_be_hidden()
    expect(page.locator("#announcer")).to_have_text("The reply was stopped.")
    # The stored partial text replaces the live one once the run has ended; wait for it to
    # settle, then it must survive a reload unchanged.
    page.wait_for_timeout(500)
    partial = reply_text(page)
    assert 10 < len(partial) < 1000, partial  # some of the reply, far from all 400 tokens

    page.reload()
    reply = page.locator(REPLY)
    expect(reply).to_have_attribute("data-status", "cancelled")
    expect(reply.locator(".msg-notice")).to_have_text("Stopped. The reply above is incomplete.")
    assert reply_text(page) == partial
    thread = thread_from_api(page)
    assert thread["runs"][0]["status"] == "cancelled"
    [stored] = [m for m in thread["messages"] if m["role"] == "assistant"]
    assert stored["status"] == "incomplete"
    expect(page.locator("#send-button")).to_be_visible()
    assert page_errors == []


def tool_call_shown(reply: Locator) -> None:
    """The get_weather call with its arguments and the fake API's answer, before the text."""
    call = reply.locator(".tool-call[data-tool-type=function]")
    expect(call).to_have_count(1)
    expect(call.locator(".tool-name")).to_have_text("get_weather")
    expect(call.locator(".tool-state")).to_have_text("done")
    call.locator("summary").click()
    arguments = json.loads(call.locator(".tool-arguments pre").inner_text())
    assert arguments == {"location": "Paris", "unit": "c"}
    output = json.loads(call.locator(".tool-output pre").inner_text())
    assert output == {
        "location": "Paris, France",
        "temperature": 18.5,
        "unit": "c",
        "conditions": "partly cloudy",
        "wind_speed_kmh": 11.2,
    }
    order = reply.locator(".msg-body > *").evaluate_all(
        "(parts) => parts.map((p) => p.classList.contains('tool-step') ? 'tool' : 'text')"
    )
    assert order == ["tool", "text"], order
    answer = reply.locator(".msg-part .md").inner_text()
    assert answer.startswith("Here is the current weather for Paris:"), answer
    assert "18.5" in answer


def test_a_weather_question_shows_the_tool_call_then_the_answer(
    page: Page, page_errors: list[str], weather_api: WeatherApi
) -> None:
    sign_up(page)
    asked = len(weather_api.requests)
    send(page, "What's the weather in Paris?")
    reply = page.locator(f"{REPLY}[data-status=completed]")
    expect(reply).to_have_count(1)
    tool_call_shown(reply)
    # The tool really asked the weather API the app was pointed at.
    paths = [(path, query) for path, query in weather_api.requests[asked:]]
    assert [path for path, _ in paths] == ["/v1/search", "/v1/forecast"]
    assert paths[0][1]["name"] == ["Paris"]
    assert paths[1][1]["latitude"] == ["48.85341"]
    assert paths[1][1]["temperature_unit"] == ["celsius"]

    # After a reload the finished run's tool call comes from the stored steps.
    page.reload()
    reply = page.locator(f"{REPLY}[data-status=completed]")
    expect(reply).to_have_count(1)
    tool_call_shown(reply)
    check_usage(reply.locator(".usage").inner_text())
    assert page_errors == []
