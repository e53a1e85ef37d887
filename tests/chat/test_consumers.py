"""The thread consumer and the run engine together: a run against a real upstream over HTTP,
relayed to real `WebsocketCommunicator` sockets on the project's ASGI routing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator

from assistants_proxy.sse import read_capture
from chat.models import Assistant, Message, Run
from chat.routing import websocket_urlpatterns
from chat.runs import get_engine
from chat.services import thread_create
from tests.chat.replay_upstream import replay_app
from tests.servers import serve_asgi

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SEED_TEXT = "Hello! How can I assist you today?"
TERMINAL = {
    "thread.run.completed",
    "thread.run.failed",
    "thread.run.cancelled",
    "thread.run.incomplete",
    "thread.run.expired",
}

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def default_assistant(transactional_db: None) -> Assistant:
    # Transactional tests flush the tables, data migrations' rows included.
    assistant, _ = Assistant.objects.get_or_create(
        is_default=True, defaults={"name": "Simulator", "model": "gpt-4o"}
    )
    return assistant


def seed_as_sse() -> bytes:
    events = read_capture((FIXTURES / "seed-capture.txt").read_text())
    return "".join(f"event: {e.event}\ndata: {e.data}\n\n" for e in events).encode()


@pytest.fixture
def seed_upstream(settings: Any) -> Any:
    with serve_asgi(replay_app(seed_as_sse())) as url:
        settings.SIMULATOR_URL = url + "/v1"
        yield url


async def connect(user: Any, thread_id: int, query: str = "") -> WebsocketCommunicator:
    app = URLRouter(websocket_urlpatterns)
    communicator = WebsocketCommunicator(app, f"/ws/threads/{thread_id}/{query}")
    communicator.scope["user"] = user
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def frames_until_end(communicator: WebsocketCommunicator) -> list[dict[str, Any]]:
    frames = []
    while not frames or frames[-1]["event"] not in TERMINAL:
        frames.append(json.loads(await communicator.receive_from(timeout=10)))
    return frames


async def start_thread(user: Any, content: str = "Hello") -> tuple[Any, Run]:
    return await database_sync_to_async(thread_create)(owner=user, content=content)


async def test_frames_arrive_one_per_delta_in_order(alice: Any, seed_upstream: str) -> None:
    thread, run = await start_thread(alice)
    socket = await connect(alice, thread.pk)
    get_engine().launch(run.pk)
    frames = await frames_until_end(socket)
    await socket.disconnect()

    assert [f["seq"] for f in frames] == list(range(1, len(frames) + 1))
    assert {f["run_id"] for f in frames} == {run.pk}
    assert frames[0]["event"] == "thread.message.created"
    assert frames[0]["data"]["role"] == "user"
    seed_names = [e.event for e in read_capture((FIXTURES / "seed-capture.txt").read_text())]
    assert [f["event"] for f in frames[1:]] == seed_names[:-1]  # all but `done`
    deltas = [f for f in frames if f["event"] == "thread.message.delta"]
    assert len(deltas) == 9
    assert "".join(d["data"]["delta"]["content"][0]["text"]["value"] for d in deltas) == SEED_TEXT


def spaced_seed_as_sse() -> bytes:
    """The seed with each delta's data written with spaces and an escaped character, as
    other upstreams write JSON: not the text a compact encoding of it would give."""
    out = []
    for e in read_capture((FIXTURES / "seed-capture.txt").read_text()):
        data = e.data
        if e.event == "thread.message.delta":
            value = json.loads(data)
            value["x_note"] = "caf\u00e9"
            data = json.dumps(value, separators=(", ", ": "), ensure_ascii=True)
        out.append(f"event: {e.event}\ndata: {data}\n\n")
    return "".join(out).encode()


async def test_a_delta_frame_carries_the_upstreams_own_data(alice: Any, settings: Any) -> None:
    # Deltas are forwarded as the upstream wrote them, not parsed and encoded again: the
    # frame holds the delta's data text as it came (spacing and escapes included).
    stream = spaced_seed_as_sse()
    with serve_asgi(replay_app(stream)) as url:
        settings.SIMULATOR_URL = url + "/v1"
        thread, run = await start_thread(alice)
        socket = await connect(alice, thread.pk)
        get_engine().launch(run.pk)
        raw_frames = []
        while not raw_frames or json.loads(raw_frames[-1])["event"] not in TERMINAL:
            raw_frames.append(await socket.receive_from(timeout=10))
        await socket.disconnect()

    sent = [line[6:] for line in stream.decode().splitlines() if line.startswith('data: {"id"')]
    sent_deltas = [d for d in sent if '"thread.message.delta"' in d]
    deltas = [f for f in raw_frames if json.loads(f)["event"] == "thread.message.delta"]
    assert len(deltas) == len(sent_deltas) == 9
    for frame, data in zip(deltas, sent_deltas, strict=True):
        assert ", " in data and "\\u00e9" in data  # not what json.dumps would write here
        assert frame.endswith(f',"data":{data}}}')
        assert json.loads(frame)["data"]["x_note"] == "caf\u00e9"


async def test_it_persists_the_seed_text_and_usage(alice: Any, seed_upstream: str) -> None:
    thread, run = await start_thread(alice)
    get_engine().launch(run.pk)
    await get_engine().wait(run.pk)

    run = await Run.objects.aget(pk=run.pk)
    assert run.status == "completed"
    assert (run.prompt_tokens, run.completion_tokens, run.total_tokens) == (1138, 11, 1149)
    assert not run.usage_estimated
    assert run.upstream_run_id == "run_s1X8yAjuUBlwhGrqiahzfnH7"
    assert run.first_token_at is not None and run.completed_at is not None
    reply = await Message.objects.aget(thread=thread, role="assistant")
    assert (reply.content, reply.status) == (SEED_TEXT, "completed")
    assert reply.upstream_message_id == "msg_zKgPBqNcqb7qYP2bBA3tVyTd"
    assert await run.steps.acount() == 1


async def test_a_late_socket_replays_the_run_then_follows(alice: Any, seed_upstream: str) -> None:
    thread, run = await start_thread(alice)
    first = await connect(alice, thread.pk)
    get_engine().launch(run.pk)
    expected = await frames_until_end(first)
    # The run has ended, but its log is kept for sockets resuming just after the end.
    resumed = await connect(alice, thread.pk, f"?run_id={run.pk}&after_seq=5")
    assert await frames_until_end(resumed) == expected[5:]
    await first.disconnect()
    await resumed.disconnect()


async def test_resume_frame_sends_exactly_the_missing_events(
    alice: Any, seed_upstream: str
) -> None:
    thread, run = await start_thread(alice)
    socket = await connect(alice, thread.pk)
    get_engine().launch(run.pk)
    expected = await frames_until_end(socket)
    for after in (0, 1, 11, len(expected) - 1):
        await socket.send_json_to({"type": "resume", "run_id": run.pk, "after_seq": after})
        assert await frames_until_end(socket) == expected[after:]
    await socket.disconnect()


async def test_bob_cannot_watch_alices_thread(alice: Any, bob: Any, seed_upstream: str) -> None:
    thread, _ = await start_thread(alice)
    socket = await connect(bob, thread.pk)
    assert (await socket.receive_output(timeout=5))["code"] == 4404


async def test_an_anonymous_socket_is_closed(alice: Any) -> None:
    from django.contrib.auth.models import AnonymousUser

    thread, _ = await start_thread(alice)
    socket = await connect(AnonymousUser(), thread.pk)
    assert (await socket.receive_output(timeout=5))["code"] == 4401


BAD_FRAMES = ["not json", "[1, 2]", '{"type": "dance"}', '{"type": "resume", "run_id": "x"}']


@pytest.mark.parametrize("frame", BAD_FRAMES)
async def test_bad_frames_get_an_error_and_the_socket_stays(alice: Any, frame: str) -> None:
    thread, _ = await start_thread(alice)
    socket = await connect(alice, thread.pk)
    await socket.send_to(text_data=frame)
    error = await socket.receive_json_from(timeout=5)
    assert error["event"] == "error" and error["data"]["code"] == "bad_frame"
    await socket.send_json_to({"type": "ping"})
    assert (await socket.receive_json_from(timeout=5))["event"] == "pong"
    await socket.disconnect()


async def test_an_oversized_frame_closes_with_1009(alice: Any) -> None:
    thread, _ = await start_thread(alice)
    socket = await connect(alice, thread.pk)
    await socket.send_to(text_data=json.dumps({"type": "ping", "pad": "x" * 70_000}))
    assert (await socket.receive_output(timeout=5))["code"] == 1009


async def test_resuming_a_run_of_another_thread_is_not_found(
    alice: Any, seed_upstream: str
) -> None:
    thread, run = await start_thread(alice)
    other, _ = await start_thread(alice, "Another")
    get_engine().launch(run.pk)
    await get_engine().wait(run.pk)
    socket = await connect(alice, other.pk)
    await socket.send_json_to({"type": "resume", "run_id": run.pk, "after_seq": 0})
    error = await socket.receive_json_from(timeout=5)
    assert error["data"]["code"] == "not_found"
    await socket.disconnect()


async def test_an_idle_socket_gets_heartbeats(alice: Any, settings: Any) -> None:
    settings.WS_HEARTBEAT_SECONDS = 0.05
    thread, _ = await start_thread(alice)
    socket = await connect(alice, thread.pk)
    beats = [await socket.receive_json_from(timeout=2) for _ in range(2)]
    assert [b["event"] for b in beats] == ["heartbeat", "heartbeat"]
    await socket.disconnect()


async def test_a_cut_stream_the_upstream_cannot_explain_keeps_the_partial_text(
    alice: Any, settings: Any
) -> None:
    stream = seed_as_sse()
    cut = stream[: stream.index(b" you")]  # inside the fifth delta
    with serve_asgi(replay_app(cut)) as url:
        settings.SIMULATOR_URL = url + "/v1"
        thread, run = await start_thread(alice)
        socket = await connect(alice, thread.pk)
        get_engine().launch(run.pk)
        frames = await frames_until_end(socket)
        await get_engine().wait(run.pk)
    assert frames[-1]["event"] == "thread.run.failed"
    run = await Run.objects.aget(pk=run.pk)
    reply = await Message.objects.aget(thread=thread, role="assistant")
    assert (run.status, run.last_error["code"]) == ("failed", "stream_ended")
    assert (reply.content, reply.status) == ("Hello! How can I assist", "incomplete")
    assert run.usage_estimated and run.completion_tokens > 0
    await socket.disconnect()
