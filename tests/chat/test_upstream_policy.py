"""An assistant sends its API key only from a variable the operator allows, only to a URL the
operator allows (`chat.upstream_policy`); the admin's "test connection" says what the upstream
answered. Runs go to a real upstream on a loopback port that records what it was sent."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from pytest_django import Settings

from chat.models import Assistant
from chat.runs import get_engine
from chat.services import thread_create
from tests.chat.replay_upstream import replay_app
from tests.chat.test_consumers import seed_as_sse
from tests.servers import free_port, serve_asgi

pytestmark = pytest.mark.django_db(transaction=True)
ALLOWED_KEY_VARIABLE = "UPSTREAM_KEY_TEST"


@dataclass
class RecordingUpstream:
    """An Assistants upstream (the recorded seed stream) that keeps every request's path and
    Authorization header, and lists two models."""

    url: str = ""
    seen: list[tuple[str, str | None]] = field(default_factory=list)

    def authorizations(self) -> set[str | None]:
        return {authorization for _, authorization in self.seen}


@pytest.fixture
def upstream() -> Iterator[RecordingUpstream]:
    recording = RecordingUpstream()
    replay = replay_app(seed_as_sse())

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        headers = dict(scope["headers"])
        authorization = headers.get(b"authorization", b"").decode() or None
        recording.seen.append((scope["path"], authorization))
        if scope["path"].endswith("/models"):
            body = b'{"object": "list", "data": [{"id": "gpt-4o"}, {"id": "o3"}]}'
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"application/json")]})  # fmt: skip
            await send({"type": "http.response.body", "body": body})
            return
        await replay(scope, receive, send)

    with serve_asgi(app) as url:
        recording.url = url + "/v1"
        yield recording


@pytest.fixture
def assistant_editor(db: None) -> Client:
    """A staff user whose one permission is to change assistants."""
    user = User.objects.create_user("editor", password="x", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="change_assistant"))
    client = Client()
    client.force_login(user)
    return client


def assistant_form(assistant: Assistant, **changes: str) -> dict[str, str]:
    form = {
        "name": assistant.name,
        "protocol": assistant.protocol,
        "base_url": assistant.base_url,
        "api_key_env": assistant.api_key_env,
        "model": assistant.model,
        "tools": "[]",
        "tool_choice": "auto",
        "response_format": '"auto"',
        "truncation_strategy": '{"type": "auto", "last_messages": null}',
        "responses_history": "full",
    }
    return {**form, **changes}


def run_once(user: User, assistant: Assistant) -> None:
    _, run = thread_create(owner=user, content="Hello", assistant=assistant)

    async def execute() -> None:
        get_engine().launch(run.pk)
        await get_engine().wait(run.pk)

    asyncio.run(execute())


@pytest.mark.parametrize(
    "name", ["SECRET_KEY", "DATABASE_URL", "REDIS_URL", "POSTGRES_PASSWORD", "HOME", "not a name"]
)
def test_a_staff_user_cannot_have_the_servers_secrets_sent_as_an_api_key(
    assistant_editor: Client, upstream: RecordingUpstream, name: str
) -> None:
    assistant = Assistant.objects.create(name="Mine", model="gpt-4o")
    form = assistant_form(assistant, api_key_env=name, base_url=upstream.url)
    response = assistant_editor.post(f"/admin/chat/assistant/{assistant.pk}/change/", form)
    assert response.status_code == 200  # the form again, with the reason
    errors = response.context["adminform"].form.errors
    assert "api_key_env" in errors, errors
    assistant.refresh_from_db()
    assert (assistant.api_key_env, assistant.base_url) == ("", "")


def test_the_operators_variables_and_prefix_are_accepted(
    assistant_editor: Client, settings: Settings
) -> None:
    settings.UPSTREAM_KEY_VARIABLES = ["OPENAI_API_KEY"]
    settings.UPSTREAM_KEY_PREFIX = "UPSTREAM_KEY_"
    assistant = Assistant.objects.create(name="Mine", model="gpt-4o")
    url = f"/admin/chat/assistant/{assistant.pk}/change/"
    for name in ("OPENAI_API_KEY", "UPSTREAM_KEY_OPENROUTER"):
        form = assistant_form(assistant, api_key_env=name, base_url="https://api.openai.com/v1")
        assert assistant_editor.post(url, form).status_code == 302
        assistant.refresh_from_db()
        assert assistant.api_key_env == name
    refused = assistant_form(assistant, api_key_env="UPSTREAM_KEY_")  # the prefix alone
    assert assistant_editor.post(url, refused).status_code == 200


@pytest.mark.parametrize(
    "base_url",
    [
        "ftp://files.example.com/v1",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "http:///v1",
        "https://user:password@api.example.com/v1",
        "https://evil.example.net/v1",  # not in UPSTREAM_HOSTS
    ],
)
def test_a_base_url_the_operator_does_not_allow_is_refused(
    assistant_editor: Client, settings: Settings, base_url: str
) -> None:
    settings.UPSTREAM_HOSTS = ["api.openai.com", ".example.com"]
    assistant = Assistant.objects.create(name="Mine", model="gpt-4o")
    form = assistant_form(assistant, base_url=base_url)
    response = assistant_editor.post(f"/admin/chat/assistant/{assistant.pk}/change/", form)
    assert "base_url" in response.context["adminform"].form.errors
    assistant.refresh_from_db()
    assert assistant.base_url == ""


def test_allowed_hosts_and_their_subdomains_are_accepted(
    assistant_editor: Client, settings: Settings
) -> None:
    settings.UPSTREAM_HOSTS = ["api.openai.com", ".example.com"]
    assistant = Assistant.objects.create(name="Mine", model="gpt-4o")
    url = f"/admin/chat/assistant/{assistant.pk}/change/"
    for base_url in ("https://api.openai.com/v1", "http://llm.example.com:8080/v1"):
        assert (
            assistant_editor.post(url, assistant_form(assistant, base_url=base_url)).status_code
            == 302
        )


def test_a_row_saved_past_the_admin_sends_no_secret_key(
    alice: User, upstream: RecordingUpstream, settings: Settings
) -> None:
    # Saved before these rules existed, or straight into the database: no clean() ran.
    assistant = Assistant.objects.create(
        name="Planted", model="gpt-4o", base_url=upstream.url, api_key_env="SECRET_KEY"
    )
    run_once(alice, assistant)
    assert upstream.seen, "the run never reached the upstream"
    assert upstream.authorizations() == {None}
    assert settings.SECRET_KEY not in str(upstream.seen)


def test_an_allowed_key_is_sent_to_an_allowed_host(
    alice: User, upstream: RecordingUpstream, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.UPSTREAM_KEY_VARIABLES = [ALLOWED_KEY_VARIABLE]
    monkeypatch.setenv(ALLOWED_KEY_VARIABLE, "sk-allowed")
    assistant = Assistant.objects.create(
        name="Allowed", model="gpt-4o", base_url=upstream.url, api_key_env=ALLOWED_KEY_VARIABLE
    )
    run_once(alice, assistant)
    assert upstream.authorizations() == {"Bearer sk-allowed"}
    # The same key, once the operator narrows the hosts, no longer leaves for that one.
    settings.UPSTREAM_HOSTS = ["api.openai.com"]
    upstream.seen.clear()
    run_once(alice, assistant)
    assert upstream.authorizations() == {None}


def test_test_connection_says_what_the_upstream_answered(
    admin_client: Client, upstream: RecordingUpstream, simulator_url: str
) -> None:
    listing = Assistant.objects.create(name="Lister", model="gpt-4o", base_url=upstream.url)
    simulator = Assistant.objects.create(name="Simulated", model="gpt-4o", base_url=simulator_url)
    gone = Assistant.objects.create(
        name="Gone", model="gpt-4o", base_url=f"http://127.0.0.1:{free_port()}/v1"
    )
    response = admin_client.post(
        "/admin/chat/assistant/",
        {"action": "test_connection", "_selected_action": [listing.pk, simulator.pk, gone.pk]},
        follow=True,
    )
    said = {str(m).split(":")[0]: str(m) for m in response.context["messages"]}
    assert "answered 200 OK: 2 models (gpt-4o, o3)" in said["Lister"]
    assert "answered 404 Not Found: Invalid URL (GET /v1/models)" in said["Simulated"]
    assert "no answer from" in said["Gone"] and "ConnectError" in said["Gone"]
    assert upstream.seen == [("/v1/models", None)]
