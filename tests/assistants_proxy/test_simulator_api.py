"""The simulator's REST surface: objects, pagination, errors, the prefix mount."""

from __future__ import annotations

import httpx
import pytest
from simulator_client import (
    DEFAULT_ASSISTANT_ID,
    client,
    create_and_run,
    first,
    no_server_errors,  # noqa: F401
)

from assistants_proxy.simulator import create_app, mount_prefix
from assistants_proxy.simulator.asgi import Receive, Scope, Send
from assistants_proxy.simulator.directives import MIDWAY, DirectiveError, parse_directives

pytestmark = pytest.mark.usefixtures("no_server_errors")


def test_threads_can_be_created_read_and_deleted(simulator_url: str) -> None:
    with client(simulator_url) as http:
        thread = http.post("/threads", json={"metadata": {"user": "alice"}}).json()
        assert thread["object"] == "thread" and thread["metadata"] == {"user": "alice"}
        assert http.get(f"/threads/{thread['id']}").json() == thread
        deleted = http.delete(f"/threads/{thread['id']}").json()
        assert deleted == {"id": thread["id"], "object": "thread.deleted", "deleted": True}
        assert http.get(f"/threads/{thread['id']}").status_code == 404


def test_messages_list_like_openai(simulator_url: str) -> None:
    with client(simulator_url) as http:
        thread = http.post("/threads", json={}).json()
        path = f"/threads/{thread['id']}/messages"
        ids = [
            http.post(path, json={"role": "user", "content": f"m{i}"}).json()["id"]
            for i in range(5)
        ]
        newest_first = http.get(path).json()
        assert [m["id"] for m in newest_first["data"]] == ids[::-1]
        page = http.get(path, params={"order": "asc", "limit": 2}).json()
        assert [m["id"] for m in page["data"]] == ids[:2] and page["has_more"] is True
        assert page["first_id"] == ids[0] and page["last_id"] == ids[1]
        rest = http.get(path, params={"order": "asc", "after": page["last_id"]}).json()
        assert [m["id"] for m in rest["data"]] == ids[2:] and rest["has_more"] is False
        assert http.get(path, params={"limit": 0}).status_code == 400


def test_messages_accept_content_parts(simulator_url: str) -> None:
    with client(simulator_url) as http:
        thread = http.post("/threads", json={}).json()
        content = [{"type": "text", "text": "Hello"}]
        message = http.post(
            f"/threads/{thread['id']}/messages", json={"role": "user", "content": content}
        ).json()
    assert message["content"] == [{"type": "text", "text": {"value": "Hello", "annotations": []}}]


def test_a_thread_with_an_active_run_refuses_a_second_one(simulator_url: str) -> None:
    with client(simulator_url) as http:
        body = {
            "assistant_id": DEFAULT_ASSISTANT_ID,
            "stream": False,
            "thread": {"messages": [{"role": "user", "content": "/sim rate=5 Hi there"}]},
        }
        run = http.post("/threads/runs", json=body).json()
        again = http.post(
            f"/threads/{run['thread_id']}/runs", json={"assistant_id": DEFAULT_ASSISTANT_ID}
        )
        assert again.status_code == 400 and run["id"] in again.json()["error"]["message"]
        message = http.post(
            f"/threads/{run['thread_id']}/messages", json={"role": "user", "content": "x"}
        )
        assert message.status_code == 400
        cancel = http.post(f"/threads/{run['thread_id']}/runs/{run['id']}/cancel")
        assert cancel.json()["status"] == "cancelling"


def test_created_assistants_can_be_used_for_runs(simulator_url: str) -> None:
    with client(simulator_url) as http:
        assistant = http.post(
            "/assistants", json={"model": "gpt-4o-mini", "instructions": "Be brief."}
        ).json()
        assert assistant["id"].startswith("asst_") and assistant["object"] == "assistant"
        assert http.get(f"/assistants/{assistant['id']}").json() == assistant
        body = {
            "assistant_id": assistant["id"],
            "stream": True,
            "thread": {"messages": [{"role": "user", "content": "Hi"}]},
        }
        with http.stream("POST", "/threads/runs", json=body) as response:
            text = response.read().decode()
    assert '"model":"gpt-4o-mini"' in text and '"instructions":"Be brief."' in text


def test_run_steps_and_runs_are_listed(simulator_url: str) -> None:
    with client(simulator_url) as http:
        run = first(create_and_run(http, "/sim code tokens=3 Go"), "thread.run.completed")
        steps = http.get(f"/threads/{run['thread_id']}/runs/{run['id']}/steps").json()
        runs = http.get(f"/threads/{run['thread_id']}/runs").json()
    assert [s["type"] for s in steps["data"]] == ["message_creation", "tool_calls"]
    assert [r["id"] for r in runs["data"]] == [run["id"]]


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("GET", "/nowhere", None, 404),
        ("GET", "/threads/thread_doesnotexist000000000000", None, 404),
        ("GET", "/threads/thread_doesnotexist000000000000/messages", None, 404),
        ("POST", "/threads/thread_doesnotexist000000000000/runs", b"{}", 404),
        ("GET", "/assistants/asst_doesnotexist00000000000000", None, 404),
        ("POST", "/threads", b"{not json", 400),
        ("POST", "/threads", b"[1, 2]", 400),
        ("POST", "/threads", b"[" * 100_000, 400),
        ("POST", "/threads", b"\xff\xfe", 400),
        ("POST", "/threads/runs", b'{"thread": {}}', 400),
        ("POST", "/threads/runs", b'{"assistant_id": "asst_nope"}', 404),
        ("POST", "/threads", b'{"messages": "hello"}', 400),
        ("POST", "/threads", b'{"messages": [{"role": "system", "content": "x"}]}', 400),
        ("POST", "/threads/runs", b'{"assistant_id": 3, "stream": "yes"}', 400),
        ("DELETE", "/assistants", None, 405),
    ],
)
def test_bad_requests_get_openai_shaped_errors(
    simulator_url: str, method: str, path: str, body: bytes | None, status: int
) -> None:
    with client(simulator_url) as http:
        response = http.request(method, path, content=body)
    assert response.status_code == status
    assert set(response.json()["error"]) == {"message", "type", "param", "code"}


async def test_mount_prefix_routes_by_path() -> None:
    async def other(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": f"other {scope['path']}".encode()})

    app = mount_prefix("/sim", other)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        assistant = await http.get(f"/sim/v1/assistants/{DEFAULT_ASSISTANT_ID}")
        elsewhere = await http.get("/simulation/x")
    assert assistant.json()["id"] == DEFAULT_ASSISTANT_ID
    assert elsewhere.text == "other /simulation/x"


def test_directives_parse_keys_flags_and_the_rest() -> None:
    directives, rest = parse_directives("/sim tokens=400 rate=60 code fail Tell me about rivers")
    assert (directives.tokens, directives.rate, directives.code) == (400, 60.0, True)
    assert directives.fail == MIDWAY and rest == "Tell me about rivers"
    assert parse_directives("Hello /sim tokens=3") == (
        parse_directives("")[0],
        "Hello /sim tokens=3",
    )
    assert parse_directives("/simulate this")[1] == "/simulate this"


@pytest.mark.parametrize("text", ["/sim tokens=0 x", "/sim drop-after=-1 x", "/sim rate=nan x"])
def test_directives_reject_out_of_range_values(text: str) -> None:
    with pytest.raises(DirectiveError):
        parse_directives(text)


async def test_strict_headers_require_the_beta_header_and_a_key() -> None:
    transport = httpx.ASGITransport(app=create_app(strict_headers=True))
    path = f"/v1/assistants/{DEFAULT_ASSISTANT_ID}"
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        bare = await http.get(path, headers={"Authorization": "Bearer any"})
        full = await http.get(
            path, headers={"Authorization": "Bearer any", "OpenAI-Beta": "assistants=v2"}
        )
    assert bare.status_code == 400 and bare.json()["error"]["code"] == "invalid_beta"
    assert full.status_code == 200
