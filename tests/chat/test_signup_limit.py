"""Sign-ups are limited per address (`chat.signup_limit`): new accounts are no way around the
per-user limits. Counted in Django's cache: Redis when REDIS_URL is set, memory otherwise."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from pytest_django import Settings

from tests.chat.conftest import PASSWORD

pytestmark = pytest.mark.django_db
_names = itertools.count()


@pytest.fixture(autouse=True)
def _two_per_hour(settings: Settings) -> None:
    settings.SIGNUPS_PER_HOUR = 2


def sign_up(address: str = "10.0.0.1", **headers: str) -> tuple[str, Any]:
    username = f"newcomer{next(_names)}"
    form = {"username": username, "password1": PASSWORD, "password2": PASSWORD}
    response = Client(REMOTE_ADDR=address).post("/accounts/signup/", form, headers=headers)
    return username, response


def test_an_address_gets_a_few_accounts_an_hour_then_a_clear_refusal() -> None:
    for _ in range(2):
        assert sign_up()[1].status_code == 302
    username, response = sign_up()
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 3600
    assert b"Too many accounts were created from your address" in response.content
    assert not User.objects.filter(username=username).exists()
    assert User.objects.count() == 2


def test_another_address_may_still_sign_up() -> None:
    for _ in range(3):
        sign_up("10.0.0.1")
    assert sign_up("10.0.0.2")[1].status_code == 302


def test_an_invalid_form_takes_no_place() -> None:
    client = Client(REMOTE_ADDR="10.0.0.1")
    for _ in range(3):
        form = {"username": "x", "password1": PASSWORD, "password2": "different"}
        assert client.post("/accounts/signup/", form).status_code == 200
    assert sign_up()[1].status_code == 302


def test_a_forged_forwarded_for_does_not_make_a_new_address(settings: Settings) -> None:
    settings.TRUSTED_PROXY_HOPS = 1
    for n in range(3):
        _, response = sign_up("172.18.0.5", **{"X-Forwarded-For": f"192.0.2.{n}, 203.0.113.9"})
    assert response.status_code == 429
