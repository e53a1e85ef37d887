"""API keys: made by the command, the keys page and nobody else; stored hashed; shown once;
revoked by the user or the admin; the bearer token of every /v1/ request."""

from __future__ import annotations

import hashlib
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from chat.api_keys import api_key_create
from chat.models import ApiKey

pytestmark = pytest.mark.django_db


def _bearer(key: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def test_the_command_prints_a_new_key_as_its_last_line(alice: User) -> None:
    out = StringIO()
    call_command("create_api_key", "alice", "--name", "laptop", stdout=out)
    key = out.getvalue().strip().splitlines()[-1]
    stored = ApiKey.objects.get(user=alice)
    assert key.startswith("sk-chat-") and len(key) > 40
    assert stored.hashed == hashlib.sha256(key.encode()).hexdigest()
    assert key not in str(ApiKey.objects.values_list()) and stored.name == "laptop"
    assert key.startswith(stored.prefix)


def test_the_command_refuses_an_unknown_user(db: None) -> None:
    with pytest.raises(CommandError, match="No user named"):
        call_command("create_api_key", "nobody", stdout=StringIO())
    assert not ApiKey.objects.exists()


def test_a_key_authenticates_and_notes_when_it_was_used(alice: User) -> None:
    key_row, key = api_key_create(user=alice)
    assert key_row.last_used_at is None
    answer = Client().get("/v1/assistants", **_bearer(key))
    assert answer.status_code == 200 and answer.json()["object"] == "list"
    key_row.refresh_from_db()
    assert key_row.last_used_at is not None


@pytest.mark.parametrize(
    "header", ["", "Bearer ", "Bearer sk-chat-nope", "Basic abc", "Bearer not-ours"]
)
def test_a_bad_key_is_a_401_in_the_apis_shape(alice: User, header: str) -> None:
    api_key_create(user=alice)
    answer = Client().get("/v1/assistants", HTTP_AUTHORIZATION=header)
    assert answer.status_code == 401
    error = answer.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == "authentication_error"


def test_a_revoked_key_or_an_inactive_user_no_longer_works(alice: User) -> None:
    first, key = api_key_create(user=alice)
    second, other = api_key_create(user=alice)
    alice_client = Client()
    alice_client.force_login(alice)
    alice_client.post(f"/keys/{first.pk}/revoke/")
    assert Client().get("/v1/assistants", **_bearer(key)).status_code == 401
    assert Client().get("/v1/assistants", **_bearer(other)).status_code == 200
    User.objects.filter(pk=alice.pk).update(is_active=False)
    assert Client().get("/v1/assistants", **_bearer(other)).status_code == 401


def test_the_keys_page_shows_a_new_key_once(alice_client: Client, alice: User) -> None:
    made = alice_client.post("/keys/", {"name": "script"})
    assert made.status_code == 200
    key = made.content.decode().split('<code id="new-key">')[1].split("</code>")[0]
    assert ApiKey.objects.get(user=alice).hashed == hashlib.sha256(key.encode()).hexdigest()
    assert "no-store" in made["Cache-Control"]
    again = alice_client.get("/keys/").content.decode()
    assert key not in again and key[:12] in again and "script" in again


def test_the_keys_page_refuses_a_long_name_and_makes_nothing(alice_client: Client) -> None:
    answer = alice_client.post("/keys/", {"name": "x" * 101})
    assert "longer than 100" in answer.content.decode()
    assert not ApiKey.objects.exists()


def test_bob_cannot_revoke_alices_key(alice: User, bob_client: Client) -> None:
    row, key = api_key_create(user=alice)
    bob_client.post(f"/keys/{row.pk}/revoke/")
    row.refresh_from_db()
    assert row.revoked_at is None
    assert Client().get("/v1/assistants", **_bearer(key)).status_code == 200


def test_the_keys_page_needs_a_login(db: None) -> None:
    assert Client().get("/keys/").status_code == 302


def test_the_admin_lists_and_revokes_keys(admin_client: Client, alice: User) -> None:
    row, key = api_key_create(user=alice)
    assert admin_client.get("/admin/chat/apikey/").status_code == 200
    assert admin_client.get("/admin/chat/apikey/add/").status_code == 403
    admin_client.post("/admin/chat/apikey/", {"action": "revoke", "_selected_action": [row.pk]})
    row.refresh_from_db()
    assert row.revoked_at is not None
    assert Client().get("/v1/assistants", **_bearer(key)).status_code == 401
