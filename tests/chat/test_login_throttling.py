"""Log-in throttling (django-axes): after LOGIN_FAILURE_LIMIT wrong passwords in a row for one
account or from one address, the right password is refused too, with a page that says why,
429 and Retry-After; on the site's log-in page and the admin's alike."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from pytest_django import Settings

from tests.chat.conftest import PASSWORD

pytestmark = pytest.mark.django_db
LIMIT = 5  # LOGIN_FAILURE_LIMIT's default
LOGIN_PAGES = ["/accounts/login/", "/admin/login/"]


@pytest.fixture
def staff_alice(alice: User) -> User:
    alice.is_staff = True
    alice.save()
    return alice


def log_in(
    url: str, username: str, password: str, address: str = "10.0.0.1", **headers: str
) -> tuple[Client, Any]:
    client = Client(REMOTE_ADDR=address)
    response = client.post(url, {"username": username, "password": password}, headers=headers)
    return client, response


def logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


@pytest.mark.parametrize("url", LOGIN_PAGES)
def test_the_right_password_is_refused_after_too_many_wrong_ones(
    staff_alice: User, url: str
) -> None:
    for _ in range(LIMIT - 1):
        _, response = log_in(url, "alice", "wrong")
        assert response.status_code == 200  # the form again, "enter a correct password"
    _, response = log_in(url, "alice", "wrong")
    assert response.status_code == 429  # the one that reached the limit
    client, response = log_in(url, "alice", PASSWORD)
    assert response.status_code == 429
    assert int(response["Retry-After"]) == 15 * 60
    assert b"Too many failed log-ins" in response.content
    assert b"Try again in 15 minutes" in response.content
    assert not logged_in(client)


@pytest.mark.parametrize("url", LOGIN_PAGES)
def test_fewer_failures_then_the_right_password_logs_in_and_starts_over(
    staff_alice: User, url: str
) -> None:
    for _ in range(LIMIT - 1):
        log_in(url, "alice", "wrong")
    client, response = log_in(url, "alice", PASSWORD)
    assert response.status_code == 302 and logged_in(client)
    for _ in range(LIMIT - 1):
        log_in(url, "alice", "wrong")
    client, _ = log_in(url, "alice", PASSWORD)
    assert logged_in(client)


def test_an_account_is_throttled_whatever_the_address(alice: User) -> None:
    for n in range(LIMIT):
        log_in("/accounts/login/", "alice", "wrong", address=f"10.0.1.{n}")
    client, response = log_in("/accounts/login/", "alice", PASSWORD, address="10.0.2.1")
    assert response.status_code == 429 and not logged_in(client)


def test_an_address_is_throttled_whatever_the_account(alice: User, bob: User) -> None:
    for n in range(LIMIT):
        log_in("/accounts/login/", f"nobody{n}", "wrong", address="10.0.3.1")
    client, response = log_in("/accounts/login/", "bob", PASSWORD, address="10.0.3.1")
    assert response.status_code == 429 and not logged_in(client)
    client, _ = log_in("/accounts/login/", "bob", PASSWORD, address="10.0.3.2")
    assert logged_in(client)  # another address, and bob's account has no failures


def test_a_forged_forwarded_for_does_not_change_the_address(
    alice: User, settings: Settings
) -> None:
    # Behind nginx (one hop), only the entry nginx appended is the client's.
    settings.TRUSTED_PROXY_HOPS = 1
    for n in range(LIMIT):
        forged = {"X-Forwarded-For": f"192.0.2.{n}, 203.0.113.9"}
        log_in("/accounts/login/", f"nobody{n}", "wrong", address="172.18.0.5", **forged)
    forged = {"X-Forwarded-For": "192.0.2.200, 203.0.113.9"}
    client, response = log_in("/accounts/login/", "alice", PASSWORD, **forged)
    assert response.status_code == 429 and not logged_in(client)


def test_log_ins_resume_once_the_lockout_is_over(alice: User, settings: Settings) -> None:
    settings.AXES_COOLOFF_TIME = timedelta(seconds=1)
    for _ in range(LIMIT):
        log_in("/accounts/login/", "alice", "wrong")
    assert log_in("/accounts/login/", "alice", PASSWORD)[1].status_code == 429
    time.sleep(1.2)
    client, response = log_in("/accounts/login/", "alice", PASSWORD)
    assert response.status_code == 302 and logged_in(client)
