from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.test import Client

from chat.models import Run, Thread

PASSWORD = "correct-horse-battery-staple"

pytestmark = pytest.mark.django_db

MakeThread = Callable[..., tuple[Thread, Run]]


@pytest.mark.parametrize("url", ["/", "/t/1/"])
def test_pages_redirect_to_the_login_when_logged_out(client: Client, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={url}"


def test_the_home_page_renders_the_app_without_a_thread(alice_client: Client) -> None:
    response = alice_client.get("/")
    assert response.status_code == 200
    assert [t.name for t in response.templates][0] == "chat/app.html"
    assert response.context["thread_id"] is None


def test_a_thread_page_renders_the_app_with_its_id(
    alice: User, alice_client: Client, make_thread: MakeThread
) -> None:
    thread, _ = make_thread(alice)
    response = alice_client.get(f"/t/{thread.pk}/")
    assert response.status_code == 200
    assert response.context["thread_id"] == thread.pk


def test_another_users_thread_page_is_404(
    alice: User, bob_client: Client, make_thread: MakeThread
) -> None:
    thread, _ = make_thread(alice)
    assert bob_client.get(f"/t/{thread.pk}/").status_code == 404
    assert bob_client.get("/t/999999/").status_code == 404


def test_signing_up_logs_the_new_user_in(client: Client) -> None:
    assert client.get("/accounts/signup/").status_code == 200
    response = client.post(
        "/accounts/signup/",
        {"username": "carol", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.get("/").status_code == 200
    assert User.objects.filter(username="carol").exists()


def test_signing_up_with_mismatched_passwords_shows_the_form_again(client: Client) -> None:
    response = client.post(
        "/accounts/signup/",
        {"username": "carol", "password1": PASSWORD, "password2": PASSWORD + "x"},
    )
    assert response.status_code == 200
    assert response.context["form"].errors
    assert not User.objects.filter(username="carol").exists()


def test_a_logged_in_user_skips_the_signup(alice_client: Client) -> None:
    response = alice_client.get("/accounts/signup/")
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_logging_in_goes_to_the_next_page(
    alice: User, client: Client, make_thread: MakeThread
) -> None:
    thread, _ = make_thread(alice)
    assert client.get("/accounts/login/").status_code == 200
    response = client.post(
        "/accounts/login/",
        {"username": "alice", "password": PASSWORD, "next": f"/t/{thread.pk}/"},
    )
    assert response.status_code == 302
    assert response["Location"] == f"/t/{thread.pk}/"
    assert client.get(response["Location"]).status_code == 200


def test_a_wrong_password_does_not_log_in(alice: User, client: Client) -> None:
    response = client.post("/accounts/login/", {"username": "alice", "password": "wrong"})
    assert response.status_code == 200
    assert client.get("/").status_code == 302


def test_logging_out_needs_a_post(alice_client: Client) -> None:
    response = alice_client.post("/accounts/logout/")
    assert response.status_code == 302
    assert alice_client.get("/").status_code == 302
