"""Run log frames as Assistants server-sent events (`chat.v1.wire`), without a server."""

from __future__ import annotations

import json
from typing import Any

from chat.fanout.runlog import RunLog
from chat.v1.wire import RunNames, translate

NAMES = RunNames(run="run_5", thread="thread_3", assistant="asst_2", client_answers=lambda d: True)
SERVER_TOOLS = RunNames(
    run="run_5", thread="thread_3", assistant="asst_2", client_answers=lambda d: False
)


def _frame(event: str, data: dict[str, Any], raw: str | None = None) -> str:
    log = RunLog(5, 3)
    log.append(event, data, raw)
    return log.frame(1)


def _parse(text: str) -> tuple[str, dict[str, Any]]:
    event_line, data_line, *rest = text.split("\n")
    assert rest == ["", ""]
    return event_line.removeprefix("event: "), json.loads(data_line.removeprefix("data: "))


def test_a_delta_passes_through_as_the_upstream_wrote_it() -> None:
    raw = '{"id":"msg_up","object":"thread.message.delta","delta":{"content":[{"index":0}]}}'
    text, final = translate(_frame("thread.message.delta", json.loads(raw), raw), NAMES)
    assert text == f"event: thread.message.delta\ndata: {raw}\n\n" and not final


def test_a_multi_line_delta_becomes_one_data_line() -> None:
    raw = '{"id": "msg_up",\n "delta": {"content": []}}'
    text, _ = translate(_frame("thread.message.delta", json.loads(raw), raw), NAMES)
    assert _parse(text) == ("thread.message.delta", {"id": "msg_up", "delta": {"content": []}})


def test_run_objects_get_this_apps_ids() -> None:
    data = {
        "id": "run_up",
        "object": "thread.run",
        "thread_id": "thread_up",
        "assistant_id": "asst_up",
        "status": "completed",
    }
    text, final = translate(_frame("thread.run.completed", data), NAMES)
    event, parsed = _parse(text)
    assert (event, parsed["id"], parsed["thread_id"], parsed["assistant_id"]) == (
        "thread.run.completed",
        "run_5",
        "thread_3",
        "asst_2",
    )
    assert final


def test_steps_and_messages_keep_their_ids_and_name_the_run() -> None:
    data = {
        "id": "step_up",
        "object": "thread.run.step",
        "run_id": "run_up",
        "thread_id": "thread_up",
    }
    _, parsed = _parse(translate(_frame("thread.run.step.created", data), NAMES)[0])
    assert (parsed["id"], parsed["run_id"], parsed["thread_id"]) == ("step_up", "run_5", "thread_3")


def test_what_only_the_browser_wants_is_left_out() -> None:
    user_echo = {"id": "msg_local_1", "object": "thread.message", "role": "user"}
    for event, data in (
        ("thread.message.created", user_echo),
        ("notice", {"code": "upstream_silent"}),
        ("error", {"code": "x", "message": "y"}),
        ("thread.created", {"id": "thread_up", "object": "thread"}),
    ):
        assert translate(_frame(event, data), NAMES) == ("", False)


def test_requires_action_ends_the_stream_only_when_the_client_answers() -> None:
    data = {"id": "run_up", "object": "thread.run", "status": "requires_action"}
    text, final = translate(_frame("thread.run.requires_action", data), NAMES)
    assert text.startswith("event: thread.run.requires_action\n") and final
    assert translate(_frame("thread.run.requires_action", data), SERVER_TOOLS) == ("", False)
