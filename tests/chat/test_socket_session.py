"""An open socket closes once its session no longer signs its user in (`chat.socket_session`):
a password changed elsewhere, an account deactivated, a session deleted on the server. Each
checked at a heartbeat, as the next page request would be, and at once when the user is saved
with a new password or active flag (`chat.session_end`); an untouched session keeps its
socket open."""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.test import Client

from chat import consumers
from chat.consumers import CLOSE_UNAUTHENTICATED
from chat.routing import websocket_urlpatterns
from tests.chat.test_consumers import default_assistant, start_thread

pytestmark = pytest.mark.django_db(transaction=True)


pytestmark = [pytestmark, pytest.mark.usefixtures(default_assistant.__name__)]


@pytest.fixture(autouse=True)
def checked_at_every_beat(settings: Any) -> None:
    settings.WS_HEARTBEAT_SECONDS = 0.1
    settings.WS_SESSION_CHECK_SECONDS = 0


def _session_key(user: User) -> str:
    client = Client()
    client.force_login(user)  # a session as logging in makes it, with the password's hash
    return str(client.session.session_key)


async def signed_in_socket(user: User) -> WebsocketCommunicator:
    """A socket whose scope holds a real session, as AuthMiddlewareStack gives it."""
    thread, _ = await start_thread(user)
    key = await database_sync_to_async(_session_key)(user)
    socket = WebsocketCommunicator(URLRouter(websocket_urlpatterns), f"/ws/threads/{thread.pk}/")
    socket.scope["user"] = user
    socket.scope["session"] = import_module(django_settings.SESSION_ENGINE).SessionStore(key)
    connected, _ = await socket.connect()
    assert connected
    return socket


async def closed_with(socket: WebsocketCommunicator) -> int | None:
    """The close code, once the socket closes; None if it still gets heartbeats."""
    for _ in range(20):
        output = await socket.receive_output(timeout=2)
        if output["type"] == "websocket.close":
            return int(output.get("code", 1000))
    return None


def _password_changed(user: User) -> None:
    user.set_password("another-horse-battery-staple")
    user.save()


def _deactivated(user: User) -> None:
    User.objects.filter(pk=user.pk).update(is_active=False)


def _deactivated_by_a_save(user: User) -> None:
    user.is_active = False
    user.save()  # as the admin's change form saves it


def _sessions_deleted(user: User) -> None:
    from django.contrib.sessions.models import Session

    Session.objects.all().delete()


@pytest.mark.parametrize("end", [_password_changed, _deactivated, _sessions_deleted])
async def test_a_session_that_ended_elsewhere_closes_its_socket(
    alice: User, end: Callable[[User], None]
) -> None:
    socket = await signed_in_socket(alice)
    await database_sync_to_async(end)(alice)
    assert await closed_with(socket) == CLOSE_UNAUTHENTICATED


async def test_a_session_still_signed_in_keeps_its_socket(alice: User) -> None:
    socket = await signed_in_socket(alice)
    beats = [await socket.receive_json_from(timeout=2) for _ in range(3)]
    assert [beat["event"] for beat in beats] == ["heartbeat"] * 3
    await socket.disconnect()


def _renamed(user: User) -> None:
    user.first_name = "Alicia"
    user.save()  # every field saved, the password's hash unchanged


def _logged_in_again(user: User) -> None:
    user.save(update_fields=["last_login"])  # what a log-in saves


@pytest.mark.parametrize("end", [_password_changed, _deactivated_by_a_save])
async def test_a_credential_saved_elsewhere_closes_the_socket_without_waiting_for_its_check(
    alice: User, end: Callable[[User], None], settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.WS_SESSION_CHECK_SECONDS = 3600  # no periodic check within the test
    monkeypatch.setattr(consumers, "SESSION_CHECK_DELAY", 0.3)
    socket = await signed_in_socket(alice)
    await database_sync_to_async(end)(alice)
    assert await closed_with(socket) == CLOSE_UNAUTHENTICATED


@pytest.mark.parametrize("save", [_renamed, _logged_in_again])
async def test_other_saves_of_the_user_keep_the_socket(
    alice: User, save: Callable[[User], None], settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.WS_SESSION_CHECK_SECONDS = 3600
    monkeypatch.setattr(consumers, "SESSION_CHECK_DELAY", 0.3)
    socket = await signed_in_socket(alice)
    await database_sync_to_async(save)(alice)
    assert await closed_with(socket) is None
    await socket.disconnect()
