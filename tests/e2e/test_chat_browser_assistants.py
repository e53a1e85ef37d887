"""The chat in Chromium: choosing an assistant, reasoning summaries, refusals, Esc, tool calls."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlparse

from playwright.sync_api import Locator, Page, expect

from tests.e2e.chat_page import (
    GREETING_REPLY,
    REPLY,
    check_usage,
    reply_text,
    send,
    sign_up,
)
from tests.e2e.conftest import WeatherApi


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
