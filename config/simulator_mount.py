"""The simulator upstream mounted at /sim in this app, for `make run` and trials.

Mounted only when SIMULATOR_MOUNT is on, which it is by default only with DEBUG: the simulator
executes in the web process, so in production it would be free runs for anyone who found it
(`check --deploy` warns when it is mounted, config.W002). Mounted, it answers two kinds of
caller and refuses the others with OpenAI's 401:

- this app's runs, whose assistant names no URL: they send `simulator_key()` as their bearer
  token (`chat.simulator_key`), checked here without touching the database;
- a logged-in user of the site (the session cookie), e.g. a developer trying it by hand.
"""

from __future__ import annotations

import json
from typing import Any

from channels.auth import AuthMiddlewareStack
from django.conf import settings

from assistants_proxy.simulator import mount_prefix
from chat.simulator_key import is_simulator_key

PREFIX = "/sim"
REFUSAL = {
    "error": {
        "message": "Log in to the chat first, or send this app's simulator key.",
        "type": "invalid_request_error",
        "param": None,
        "code": "invalid_api_key",
    }
}


def mount_simulator(app: Any) -> Any:
    """`app` with the guarded simulator at /sim when SIMULATOR_MOUNT is on; else `app`."""
    if not settings.SIMULATOR_MOUNT:
        return app
    return mount_prefix(PREFIX, app, guard=_guarded)


def _guarded(simulator: Any) -> Any:
    by_session = AuthMiddlewareStack(_logged_in_only(simulator))

    async def guard(scope: dict[str, Any], receive: Any, send: Any) -> None:
        token = _bearer(scope)
        if token and is_simulator_key(token):
            await simulator(scope, receive, send)
        else:
            await by_session(scope, receive, send)

    return guard


def _logged_in_only(simulator: Any) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        user = scope.get("user")
        if user is not None and user.is_authenticated:
            await simulator(scope, receive, send)
        else:
            await _refuse(send)

    return app


def _bearer(scope: dict[str, Any]) -> str:
    for name, value in scope.get("headers", []):
        if name.lower() == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" else ""
    return ""


async def _refuse(send: Any) -> None:
    body = json.dumps(REFUSAL).encode()
    headers = [(b"content-type", b"application/json"), (b"www-authenticate", b"Bearer")]
    await send({"type": "http.response.start", "status": 401, "headers": headers})
    await send({"type": "http.response.body", "body": body})
