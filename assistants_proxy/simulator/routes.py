"""The URL table: method, path pattern, handler. Patterns are matched whole."""

import re
from collections.abc import Callable

from . import handlers, stateless
from .asgi import Request, Response
from .errors import MethodNotAllowed, NotFound
from .service import Simulator

Handler = Callable[[Simulator, Request], Response]

_ID = r"[A-Za-z0-9_-]+"
_THREAD = rf"/v1/threads/(?P<thread_id>{_ID})"
_RUN = rf"{_THREAD}/runs/(?P<run_id>{_ID})"

_TABLE: list[tuple[str, str, Handler]] = [
    ("POST", "/v1/assistants", handlers.create_assistant),
    ("GET", rf"/v1/assistants/(?P<assistant_id>{_ID})", handlers.get_assistant),
    ("POST", "/v1/threads", handlers.create_thread),
    # Before the thread patterns: "runs" would otherwise read as a thread id.
    ("POST", "/v1/threads/runs", handlers.create_thread_and_run),
    ("GET", _THREAD, handlers.get_thread),
    ("POST", _THREAD, handlers.modify_thread),
    ("DELETE", _THREAD, handlers.delete_thread),
    ("POST", f"{_THREAD}/messages", handlers.create_message),
    ("GET", f"{_THREAD}/messages", handlers.list_messages),
    ("GET", rf"{_THREAD}/messages/(?P<message_id>{_ID})", handlers.get_message),
    ("POST", f"{_THREAD}/runs", handlers.create_run),
    ("GET", f"{_THREAD}/runs", handlers.list_runs),
    ("GET", _RUN, handlers.get_run),
    ("GET", f"{_RUN}/steps", handlers.list_run_steps),
    ("POST", f"{_RUN}/cancel", handlers.cancel_run),
    ("POST", f"{_RUN}/submit_tool_outputs", handlers.submit_tool_outputs),
    # The stateless protocols, with the same script and directives.
    ("POST", "/v1/chat/completions", stateless.chat_completions),
    ("POST", "/v1/responses", stateless.responses),
]
ROUTES = [(method, re.compile(pattern), handler) for method, pattern, handler in _TABLE]


def resolve(method: str, path: str) -> tuple[Handler, dict[str, str]]:
    """The handler and path parameters for a request; 404 or 405 as OpenAI answers them."""
    path = path.rstrip("/") or "/"
    allowed = False
    for route_method, pattern, handler in ROUTES:
        match = pattern.fullmatch(path)
        if match and route_method == method:
            return handler, match.groupdict()
        allowed = allowed or bool(match)
    if allowed:
        raise MethodNotAllowed(f"Method {method} is not allowed for {path}.")
    raise NotFound(f"Invalid URL ({method} {path})")
