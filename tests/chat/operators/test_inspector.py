"""The run inspector: a finished run's timeline (events since the POST, time to first token,
token rate, tool calls with their durations, the request sent without secrets, the final
usage), a failed run's upstream answer, and a live run's progress."""

from __future__ import annotations

import json
import re
import statistics
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from assistants_proxy.upstreams import RunRequest
from chat.models import Assistant, Run
from chat.runs.timeline import redacted_request
from tests.chat.runs.test_engine import WEATHER_TOOL, run_to_end

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def simulator(transactional_db: None, settings: Any, simulator_url: str) -> Assistant:
    settings.SIMULATOR_URL = simulator_url
    settings.RUN_CHECKPOINT_SECONDS = 0.05  # several rate samples in a short reply
    settings.UPSTREAM_MAX_RETRIES = 0
    settings.WEATHER_GEOCODING_URL = "http://127.0.0.1:9/v1/search"  # no network
    return Assistant.objects.update_or_create(
        is_default=True,
        defaults={
            "name": "Simulator",
            "protocol": "chat_completions",
            "tools": [WEATHER_TOOL],
            "instructions": "Be brief.",
        },  # fmt: skip
    )[0]


def inspect(client: Client, run: Run) -> str:
    response = client.get(f"/admin/chat/liverun/{run.pk}/change/")
    assert response.status_code == 200
    return response.content.decode()


async def test_a_finished_run_has_its_timeline(alice: Any, admin_client: Client) -> None:
    run, frames = await run_to_end(alice, "/sim tokens=200 rate=400 Tell me about rivers")
    timeline = run.timeline
    names = [event[1] for event in timeline["events"]]
    assert names[0] == "thread.run.created" and names[-1] == "thread.run.completed"
    times = [event[0] for event in timeline["events"]]
    assert times == sorted(times) and times[0] >= 0
    assert timeline["tokens"][-1][1] == 200  # every delta counted by the end
    assert len(timeline["tokens"]) >= 3  # sampled while it streamed
    assert timeline["request"]["instructions"] == "Be brief."
    page = await _page(admin_client, run)
    assert "thread.run.completed" in page and "Time to first token" in page
    assert "<td>first token</td>" in page
    assert re.search(r'id="ttft">\d+\.\d{3} s', page)
    assert "(reported by the upstream)" in page or "(estimated" in page
    rates = json.loads(re.search(r'id="rate-data" type="application/json">(.*?)<', page).group(1))
    # An interval may hold no token (a stall on a loaded machine, or the last token's sample
    # just before the run's end): never a negative rate, and the stream's rate is seen.
    assert rates and all(rate >= 0 for _, rate in rates)
    assert statistics.median(rate for _, rate in rates) > 0


async def test_tool_calls_show_with_their_duration(alice: Any, admin_client: Client) -> None:
    run, _ = await run_to_end(alice, "What's the weather in Paris?")
    tools = [e for e in run.timeline["events"] if e[1] == "tool_calls"]
    assert tools and tools[0][2]["calls"] == ["get_weather"]
    assert 0 <= tools[0][0] - tools[0][2]["since"] < 10_000
    page = await _page(admin_client, run)
    assert re.search(r"<td>tool_calls</td>\s*<td>\d+ ms</td>", page)


async def test_a_failed_run_shows_the_upstreams_whole_answer(
    alice: Any, admin_client: Client
) -> None:
    run, _ = await run_to_end(alice, "/sim status=500 times=9 Hello")
    assert run.status == "failed" and run.upstream_error
    page = await _page(admin_client, run)
    assert 'id="upstream-error"' in page and "500" in page


async def test_a_retry_shows_with_the_upstreams_first_answer(
    alice: Any, admin_client: Client, settings: Any
) -> None:
    settings.UPSTREAM_MAX_RETRIES = 2
    run, _ = await run_to_end(alice, "/sim status=503 times=1 Hello after a retry")
    assert run.status == "completed"
    retries = [e for e in run.timeline["events"] if e[1] == "upstream_retry"]
    assert len(retries) == 1 and retries[0][2]["attempt"] == 1
    assert retries[0][2]["upstream"]["status"] == 503 and retries[0][2]["upstream"]["body"]
    page = await _page(admin_client, run)
    assert "upstream_retry" in page and "503" in page


def test_secrets_are_removed_from_the_request_shown() -> None:
    request = RunRequest(
        model="gpt-4o",
        messages=[{"role": "user", "content": "my key is sk-abcdefghijklmnop, keep it"}],
        metadata={"api_key": "hunter2", "note": "Bearer abcdefghijkl"},
    )
    shown = json.dumps(redacted_request(request, "https://user:pw@example.com/v1"))
    for secret in ("sk-abcdefghijklmnop", "hunter2", "abcdefghijkl", "user:pw"):
        assert secret not in shown
    assert "keep it" in shown and "example.com/v1" in shown


def test_a_live_run_shows_its_progress_and_reloads(
    alice: User, admin_client: Client, make_thread: Any
) -> None:
    _, run = make_thread(alice, status="in_progress")
    Run.objects.filter(pk=run.pk).update(live_tokens=42, lease_owner="web-1:123:abc")
    page = inspect(admin_client, run)
    assert "42 tokens so far" in page and "web-1:123:abc" in page
    assert 'id="auto-reload"' in page  # reloads itself, unless the operator turns it off
    assert "The timeline is stored when the run ends." in page


def test_an_unknown_run_is_404(admin_client: Client) -> None:
    assert admin_client.get("/admin/chat/liverun/999999/change/").status_code == 404
    assert admin_client.get("/admin/chat/liverun/abc/change/").status_code == 404


async def _page(client: Client, run: Run) -> str:
    from channels.db import database_sync_to_async

    return await database_sync_to_async(inspect)(client, run)
