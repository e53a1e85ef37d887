"""Every /api/ answer is JSON, errors included, and none is cached (docs/api.md). The database
being down or locked is in test_database_down.py, with real processes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from pytest_django import Settings

from chat.models import Run, Thread

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _engine(engine: Any) -> Any:
    return engine


def error_of(response: Any) -> dict[str, Any]:
    assert response["Content-Type"] == "application/json", response.content[:200]
    return dict(json.loads(response.content)["error"])


def post(client: Client, url: str, body: bytes | str, **extra: Any) -> Any:
    return client.post(url, body, content_type="application/json", **extra)


def test_a_body_over_the_upload_limit_is_413_and_creates_nothing(
    alice_client: Client, settings: Settings
) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = json.dumps({"content": "x" * 2000})
    response = post(alice_client, "/api/threads/", body)
    assert response.status_code == 413
    assert error_of(response)["code"] == "body_too_large"
    assert not Thread.objects.exists()


def test_a_form_body_over_the_limit_read_by_the_csrf_check_is_413_json(
    alice: User, settings: Settings
) -> None:
    # With a form body, the CSRF middleware reads it before any view: Django's handler400.
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    client.get("/")  # the csrftoken cookie; the token then goes in the form, as a form's would
    token = client.cookies["csrftoken"].value
    response = client.post("/api/threads/", {"csrfmiddlewaretoken": token, "pad": "x" * 2000})
    assert response.status_code == 413
    assert error_of(response)["code"] == "body_too_large"


@pytest.mark.parametrize(
    "body",
    [
        "[" * 100_000 + "]" * 100_000,
        '{"content": ' + "[" * 50_000 + "]" * 50_000 + "}",
        '{"content": "hi", "x": ' + '{"a": ' * 20_000 + "1" + "}" * 20_001,
    ],
    ids=["nested_arrays", "nested_content", "nested_objects"],
)
def test_deeply_nested_json_is_400_invalid_json(alice_client: Client, body: str) -> None:
    response = post(alice_client, "/api/threads/", body)
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_json"
    assert not Thread.objects.exists()


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", ""])
def test_a_json_body_not_declared_as_json_is_400_and_creates_nothing(
    alice_client: Client, content_type: str
) -> None:
    # What a cross-site form can send without a preflight, with a JSON body inside.
    body = json.dumps({"content": "Hello"})
    response = alice_client.post("/api/threads/", body, content_type=content_type)
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_json"
    assert not Thread.objects.exists()


@pytest.mark.parametrize(
    ("url", "method", "field"),
    [("/api/threads/", "post", "content"), ("/api/threads/{id}/", "patch", "title")],
)
def test_a_lone_surrogate_is_400_and_changes_nothing(
    alice: User, alice_client: Client, make_thread: Any, url: str, method: str, field: str
) -> None:
    thread, _ = make_thread(alice, content="Original")
    body = '{"%s": "a \\ud800 b"}' % field  # noqa: UP031 (a JSON escape, not a format)
    response = getattr(alice_client, method)(
        url.format(id=thread.pk), body, content_type="application/json"
    )
    assert response.status_code == 400
    assert error_of(response)["code"] == "unstorable_text"
    assert Thread.objects.get().title == "Original"


@pytest.mark.parametrize(
    ("method", "url"),
    [("post", "/api/threads"), ("get", "/api/threads/1"), ("post", "/api/threads/1/messages")],
)
def test_an_api_path_without_its_slash_is_a_json_404_naming_the_right_one(
    alice_client: Client, method: str, url: str
) -> None:
    response = alice_client.generic(method.upper(), url, "{}", content_type="application/json")
    assert response.status_code == 404
    error = error_of(response)
    assert error["code"] == "not_found"
    assert f"{url}/" in error["message"]
    assert not Thread.objects.exists()


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize(
    "url", ["/api/", "/api", "/api/nothing/here/", "/api/threads/abc/", "/api/nothing"]
)
def test_an_unknown_api_path_is_a_json_404_with_or_without_debug(
    client: Client, settings: Settings, url: str, debug: bool
) -> None:
    settings.DEBUG = debug
    response = client.get(url)
    assert response.status_code == 404
    assert error_of(response) == {
        "code": "not_found",
        "message": "No such endpoint; see docs/api.md.",
    }


def test_a_rate_limited_run_says_when_to_retry(
    alice: User, alice_client: Client, make_thread: Any, settings: Settings
) -> None:
    settings.RUNS_PER_MINUTE = 2
    for _ in range(2):
        make_thread(alice, status="completed")
    response = post(alice_client, "/api/threads/", json.dumps({"content": "one more"}))
    assert response.status_code == 429
    assert error_of(response)["code"] == "rate_limited"
    assert 1 <= int(response["Retry-After"]) <= 60
    assert Run.objects.count() == 2


def test_api_answers_are_never_stored_by_a_cache(
    alice: User, alice_client: Client, make_thread: Any, client: Client
) -> None:
    thread, _ = make_thread(alice)
    answers = [
        alice_client.get("/api/threads/"),
        alice_client.get(f"/api/threads/{thread.pk}/"),
        alice_client.get("/api/threads/999999/"),
        alice_client.delete("/api/usage/"),
        client.get("/api/threads/"),  # 401
        client.get("/api/nowhere/"),
    ]
    for response in answers:
        assert "no-store" in response["Cache-Control"], (response.status_code, response.content)


def test_an_unknown_thread_page_is_the_apps_own_404_even_with_debug(
    bob_client: Client, settings: Settings
) -> None:
    settings.DEBUG = True
    response = bob_client.get("/t/999999/")
    assert response.status_code == 404
    assert [t.name for t in response.templates][0] == "404.html"
    assert b"This page does not exist" in response.content


def test_an_unknown_page_is_the_apps_own_404(client: Client) -> None:
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert b"This page does not exist" in response.content


def test_the_server_error_handler_answers_the_api_in_json_and_pages_with_the_apps_page(
    rf: Any,
) -> None:
    from django.urls import get_resolver
    from django.utils.module_loading import import_string

    # The handler Django calls for an unexpected exception when DEBUG is off.
    handler = import_string(get_resolver().urlconf_module.handler500)
    api = handler(rf.post("/api/threads/"))
    assert api.status_code == 500
    assert error_of(api)["code"] == "internal_error"
    assert "no-store" in api["Cache-Control"]
    page = handler(rf.get("/t/1/"))
    assert page.status_code == 500
    assert b"Something went wrong" in page.content
