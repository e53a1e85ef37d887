"""Only pages of this site may open a thread's socket: the Origin's scheme, host and port must
be the site's own or one of CSRF_TRUSTED_ORIGINS (`config.ws_origin`). The browser's view of the
same rule, a page on another port of the same host, is in tests/e2e/test_hostile_pages.py."""

from __future__ import annotations

from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from pytest_django import Settings

from chat.models import Assistant
from chat.routing import websocket_urlpatterns
from chat.services import thread_create
from config.ws_origin import CLOSE_FORBIDDEN_ORIGIN, SameOriginSockets

pytestmark = pytest.mark.django_db(transaction=True)
SITE = "127.0.0.1:8000"


@pytest.fixture(autouse=True)
def default_assistant(transactional_db: None) -> None:
    Assistant.objects.get_or_create(is_default=True, defaults={"name": "Simulator"})


async def open_socket(user: Any, headers: dict[str, str], scheme: str = "ws") -> Any:
    """A socket to one of the user's threads through the origin check; what came back first:
    the close code, or the first frame."""
    thread, _ = await database_sync_to_async(thread_create)(owner=user, content="Hello")
    app = SameOriginSockets(URLRouter(websocket_urlpatterns))
    encoded = [(name.encode(), value.encode()) for name, value in headers.items()]
    socket = WebsocketCommunicator(app, f"/ws/threads/{thread.pk}/", headers=encoded)
    socket.scope.update(user=user, scheme=scheme)
    connected, _ = await socket.connect()
    assert connected
    await socket.send_json_to({"type": "ping"})
    first = await socket.receive_output(timeout=5)
    await socket.disconnect()
    return first.get("code") if first["type"] == "websocket.close" else first["text"]


async def test_a_page_of_the_site_opens_its_socket(alice: Any) -> None:
    first = await open_socket(alice, {"host": SITE, "origin": f"http://{SITE}"})
    assert '"event":"pong"' in first


@pytest.mark.parametrize(
    "origin",
    [
        "http://127.0.0.1:9000",  # another app on the same host: cookies ignore ports
        "https://127.0.0.1:8000",  # another scheme
        "http://localhost:8000",  # another host name for the same server
        "http://127.0.0.1",  # the default port is another port
        "null",  # a sandboxed frame or a file:// page
    ],
)
async def test_a_page_of_another_origin_cannot_open_a_socket(alice: Any, origin: str) -> None:
    assert await open_socket(alice, {"host": SITE, "origin": origin}) == CLOSE_FORBIDDEN_ORIGIN


async def test_a_handshake_without_an_origin_is_refused(alice: Any) -> None:
    assert await open_socket(alice, {"host": SITE}) == CLOSE_FORBIDDEN_ORIGIN


async def test_a_host_outside_allowed_hosts_is_refused(alice: Any) -> None:
    headers = {"host": "evil.example:8000", "origin": "http://evil.example:8000"}
    assert await open_socket(alice, headers) == CLOSE_FORBIDDEN_ORIGIN


async def test_behind_the_proxy_the_origin_is_the_https_site(alice: Any) -> None:
    # nginx speaks plain ws to daphne and says in X-Forwarded-Proto what the browser used.
    secure = {"host": SITE, "x-forwarded-proto": "https"}
    assert '"pong"' in await open_socket(alice, {**secure, "origin": f"https://{SITE}"})
    plain = {**secure, "origin": f"http://{SITE}"}
    assert await open_socket(alice, plain) == CLOSE_FORBIDDEN_ORIGIN


async def test_a_direct_wss_socket_has_the_https_origin(alice: Any) -> None:
    headers = {"host": SITE, "origin": f"https://{SITE}"}
    assert '"pong"' in await open_socket(alice, headers, scheme="wss")


async def test_a_trusted_origin_opens_a_socket(alice: Any, settings: Settings) -> None:
    settings.CSRF_TRUSTED_ORIGINS = ["https://chat.example.com", "https://*.example.org"]
    headers = {"host": SITE, "origin": "https://chat.example.com"}
    assert '"pong"' in await open_socket(alice, headers)
    headers["origin"] = "https://eu.example.org"
    assert '"pong"' in await open_socket(alice, headers)
    headers["origin"] = "https://chat.example.com:8443"
    assert await open_socket(alice, headers) == CLOSE_FORBIDDEN_ORIGIN
