"""What the app adds between the model and the browser, measured (printed with `-s`, not
asserted: the machine's load decides the numbers).

- First-token latency: through the app, from the POST that starts a thread to the first
  `thread.message.delta` frame on its socket (opened after the POST, as the page does);
  directly, from the request to the first chunk with content. Same prompt, the server's
  prompt cache cleared before each, median of RUNS.
- Pace: deltas a second reaching the browser against what the server generated in that same
  run (llama.cpp's own timing in its log), and the same generation made directly
  (temperature 0, cache cleared). The app and the model share the machine's two cores, so
  the server itself generates slower while the app relays.

The one assertion is that the browser got the server's stream unchanged: one frame per
chunk, the same text.
"""

from __future__ import annotations

import re
import statistics
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.appserver import RunningApp
from tests.real_model.appclient import ChatUser, Received, delta_text, deltas
from tests.real_model.modelserver import Generation, RealModel, stream_chat
from tests.real_model.suite import BRIEF, QUESTION, SHORT_STORY, STORY, AssistantSpec

pytestmark = pytest.mark.real_model

RUNS = 5


async def directly(
    http: httpx.AsyncClient, model: RealModel, spec: AssistantSpec, content: str
) -> Generation:
    await model.clear_prompt_cache(http)
    messages = [
        {"role": "system", "content": spec.instructions},
        {"role": "user", "content": content},
    ]
    return await stream_chat(http, model, messages, max_tokens=spec.max_tokens)


async def through_the_app(
    http: httpx.AsyncClient, model: RealModel, user: ChatUser, spec: AssistantSpec, content: str
) -> tuple[float, list[Received]]:
    """(when the POST was sent, the run's frames)"""
    await model.clear_prompt_cache(http)
    started = time.monotonic()
    thread_id, run_id = await user.start_thread(content, spec)
    return started, await user.follow(thread_id, run_id)


def pace(times: list[float]) -> float:
    return (len(times) - 1) / (times[-1] - times[0])


# llama.cpp's timing of each generation: "eval time = 1783.66 ms / 95 runs (...)".
_EVAL = re.compile(r"^\S+:\s+eval time =\s+([\d.]+) ms /\s+(\d+) runs", re.MULTILINE)


def generated_per_second(log: Path, since: int, tokens: int) -> list[float]:
    """The server's own pace for each generation of `tokens` logged after offset `since`."""
    with log.open("rb") as text:
        text.seek(since)
        found = _EVAL.findall(text.read().decode(errors="replace"))
    return [runs / ms * 1000 for ms, runs in map(_ms_runs, found) if runs >= tokens]


def _ms_runs(match: tuple[str, str]) -> tuple[float, int]:
    return float(match[0]), int(match[1])


async def test_report_first_token_latency_and_pace_through_the_app_and_directly(
    chat_app: RunningApp, real_model: RealModel
) -> None:
    direct_latency, app_latency = [], []
    async with (
        httpx.AsyncClient(timeout=60.0) as http,
        ChatUser.logged_in(chat_app.url, "alice") as alice,
    ):
        await alice.assistant_id(BRIEF)  # asked once, before anything is timed
        for _ in range(RUNS):
            direct = await directly(http, real_model, BRIEF, QUESTION)
            direct_latency.append(direct.first_chunk_latency)
            started, frames = await through_the_app(http, real_model, alice, BRIEF, QUESTION)
            app_latency.append(deltas(frames)[0].at - started)
        logged = real_model.log.stat().st_size
        _, story_frames = await through_the_app(http, real_model, alice, SHORT_STORY, STORY)
        # After the app's run: the server logged its timing before it took this request.
        story = await directly(http, real_model, SHORT_STORY, STORY)
    server_pace = generated_per_second(real_model.log, logged, len(story.chunk_times) - 1)
    server_pace += [float("nan")] * (2 - len(server_pace))  # a build that logs no timings
    relayed = deltas(story_frames)
    print(latency_report(direct_latency, app_latency))
    print(pace_report(server_pace, pace([f.at for f in relayed]), pace(story.chunk_times)))
    assert len(relayed) == len(story.chunk_times)
    assert delta_text(story_frames) == story.text


def latency_report(direct: list[float], app: list[float]) -> str:
    direct_median, app_median = statistics.median(direct), statistics.median(app)
    return (
        f"\nfirst token, median of {len(app)}: directly {direct_median * 1000:.0f} ms, through "
        f"the app {app_median * 1000:.0f} ms (+{(app_median - direct_median) * 1000:.0f} ms)"
        f"\n  directly: {', '.join(f'{t * 1000:.0f}' for t in direct)} ms"
        f"\n  app:      {', '.join(f'{t * 1000:.0f}' for t in app)} ms"
    )


def pace_report(server: list[float], browser: float, client: float) -> str:
    """`server`: llama.cpp's pace for the app's run, then for the direct one."""
    return (
        f"tokens a second, through the app: the server generated {server[0]:.1f}, the browser "
        f"got {browser:.1f} ({browser / server[0]:.0%});\n  directly: the server generated "
        f"{server[-1]:.1f}, the client got {client:.1f} ({client / server[-1]:.0%})"
    )
