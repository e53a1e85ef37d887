"""Bad frames on a real socket: the app under daphne in its own process (`running_app`), a
`websockets` client. Every bad frame gets an `error` frame or a proper close (1009 when too
big), the socket or the server stays up, and the server logs no traceback."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Origin

from tests.chat.resume_plans import TERMINAL
from tests.chat.test_resume_random import sign_up
from tests.e2e.appserver import RunningApp, running_app


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    with running_app(tmp_path_factory.mktemp("frames")) as app:
        yield app
    assert "Traceback" not in app.log.read_text(), app.log.read_text()


_users = itertools.count()


@pytest.fixture
async def http(app: RunningApp) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=app.url, timeout=10) as client:
        await sign_up(client, f"user{next(_users)}")
        yield client


async def start_thread(http: httpx.AsyncClient, content: str = "Hello") -> tuple[int, int]:
    headers = {"X-CSRFToken": http.cookies["csrftoken"]}
    created = await http.post("/api/threads/", json={"content": content}, headers=headers)
    assert created.status_code == 201, created.text
    return created.json()["thread"]["id"], created.json()["run"]["id"]


async def open_socket(http: httpx.AsyncClient, thread_id: int, query: str = "") -> Any:
    url = str(http.base_url).rstrip("/")
    return await connect(
        url.replace("http://", "ws://") + f"/ws/threads/{thread_id}/{query}",
        origin=Origin(url),
        additional_headers={"Cookie": f"sessionid={http.cookies['sessionid']}"},
        max_size=None,
    )


async def next_frame(socket: ClientConnection) -> dict[str, Any]:
    while True:
        frame = json.loads(await asyncio.wait_for(socket.recv(), 10))
        if frame["event"] != "heartbeat":
            return dict(frame)


async def whole_run(http: httpx.AsyncClient, thread_id: int, run_id: int) -> list[dict[str, Any]]:
    async with await open_socket(http, thread_id, f"?run_id={run_id}&after_seq=0") as socket:
        frames = [await next_frame(socket)]
        while frames[-1]["event"] not in TERMINAL:
            frames.append(await next_frame(socket))
    return frames


async def next_reply(socket: ClientConnection) -> dict[str, Any]:
    """The next frame outside any run's log (the run's own frames replay on connect)."""
    while (frame := await next_frame(socket))["seq"] is not None:
        pass
    return frame


async def assert_bad_frame_and_still_open(socket: ClientConnection) -> dict[str, Any]:
    error = await next_reply(socket)
    assert error["event"] == "error" and error["data"]["code"] == "bad_frame", error
    await socket.send(json.dumps({"type": "ping"}))
    assert (await next_reply(socket))["event"] == "pong"
    return error


# 2 MB: over daphne's own limit (1 MiB), where autobahn, not the consumer, closes the socket.
@pytest.mark.parametrize("size", [70_000, 400_000, 1_000_000, 2_000_000])
async def test_a_frame_over_the_limit_closes_the_socket_with_1009(
    http: httpx.AsyncClient, size: int
) -> None:
    thread_id, _ = await start_thread(http)
    async with await open_socket(http, thread_id) as socket:
        await socket.send(json.dumps({"type": "ping", "pad": "x" * size}))
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await next_frame(socket)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009


BAD_FRAMES = {
    "nan": '{"type": "resume", "run_id": 1, "after_seq": NaN}',
    "infinity": '{"type": "cancel", "run_id": Infinity}',
    "minus_infinity": '{"type": "resume", "run_id": -Infinity, "after_seq": 0}',
    "overflowing_number": '{"type": "cancel", "run_id": 1e999}',
    "bare_nan": "NaN",
    "nested_arrays": "[" * 30_000 + "]" * 30_000,
    "nested_objects": '{"a": ' * 8_000 + "1" + "}" * 8_000,
    "nested_in_a_frame": '{"type": "ping", "x": ' + "[" * 20_000 + "]" * 20_000 + "}",
    "fractional_seq": '{"type": "resume", "run_id": 1, "after_seq": 1.5}',
    "negative_seq": '{"type": "resume", "run_id": 1, "after_seq": -5}',
    "id_too_big_for_the_database": '{"type": "resume", "run_id": 1e30, "after_seq": 0}',
    "huge_integer_id": '{"type": "resume", "run_id": ' + "9" * 40 + ', "after_seq": 0}',
}


@pytest.mark.parametrize("frame", BAD_FRAMES.values(), ids=BAD_FRAMES.keys())
async def test_a_bad_frame_gets_an_error_and_the_socket_stays_open(
    http: httpx.AsyncClient, frame: str
) -> None:
    thread_id, _ = await start_thread(http)
    async with await open_socket(http, thread_id) as socket:
        await socket.send(frame)
        await assert_bad_frame_and_still_open(socket)


async def test_cancelling_a_run_id_too_big_for_the_database_is_not_found(
    http: httpx.AsyncClient,
) -> None:
    thread_id, _ = await start_thread(http)
    async with await open_socket(http, thread_id) as socket:
        await socket.send(json.dumps({"type": "cancel", "run_id": 2**70}))
        assert (await next_reply(socket))["data"]["code"] == "not_found"


@pytest.mark.parametrize("after_seq", ["-5", "x", "1.5", ""])
async def test_a_resume_query_below_zero_or_not_a_number_is_a_bad_frame(
    http: httpx.AsyncClient, after_seq: str
) -> None:
    thread_id, run_id = await start_thread(http)
    query = f"?run_id={run_id}&after_seq={after_seq}"
    async with await open_socket(http, thread_id, query) as socket:
        error = await assert_bad_frame_and_still_open(socket)
    assert error["run_id"] is None


async def test_resuming_past_the_end_of_a_run_is_a_bad_frame(http: httpx.AsyncClient) -> None:
    thread_id, run_id = await start_thread(http)
    frames = await whole_run(http, thread_id, run_id)
    assert [f["seq"] for f in frames] == list(range(1, len(frames) + 1))
    last = frames[-1]["seq"]

    past = f"?run_id={run_id}&after_seq={last + 1}"
    async with await open_socket(http, thread_id, past) as socket:
        error = await assert_bad_frame_and_still_open(socket)
        assert error["run_id"] == run_id
        # The same socket may then resume where it should: exactly the frames after N.
        await socket.send(json.dumps({"type": "resume", "run_id": run_id, "after_seq": 3}))
        resumed = [await next_frame(socket) for _ in range(last - 3)]
    assert resumed == frames[3:]
    async with await open_socket(http, thread_id) as socket:
        await socket.send(json.dumps({"type": "resume", "run_id": run_id, "after_seq": 10**6}))
        await assert_bad_frame_and_still_open(socket)
