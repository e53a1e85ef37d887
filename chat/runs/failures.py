"""What a failed run says: one plain sentence for the user (`last_error`), the upstream's
whole answer for the operator (`Run.upstream_error`), and one WARNING line in the log.

The user never sees a stack, a server path or the upstream's raw body: a 500 from a model
server may carry a 2.5 KB validation dump. `code` stays machine-readable for the browser's
logic; `message` is what it shows.
"""

from __future__ import annotations

import logging
from typing import Any

from assistants_proxy.errors import (
    AssistantsError,
    HTTPStatusError,
    MalformedEventError,
    ProtocolError,
    StallError,
)
from chat.models import Protocol
from chat.runs.store import RunOutcome

logger = logging.getLogger("chat.runs")

# The most of an upstream's answer kept on the run: enough for any real error page.
UPSTREAM_BODY_LIMIT = 64 * 1024


def error(code: str, message: str) -> dict[str, Any]:
    return {"code": code, "message": message}


INTERRUPTED = error("interrupted", "The server stopped while this reply was being written.")
STREAM_ENDED_EARLY = error(
    "stream_ended", "The model's answer stopped before it was finished. Try again."
)
INTERNAL = error("internal_error", "Something went wrong in this app; the error is logged.")
TOO_MANY_TOOL_ROUNDS = error(
    "too_many_tool_rounds", "The assistant kept calling tools without answering."
)
TOO_LONG = error(
    "context_length_exceeded",
    "This is too long for the model's context window, even without the older messages. "
    "Shorten your message, or start a new thread.",
)
SAVING_LATE = {
    "code": "saving_delayed",
    "message": "The reply is complete; saving it is taking longer than usual.",
}


def error_for(exc: AssistantsError, protocol: str) -> dict[str, Any]:
    """The run's `last_error` for an upstream failure: a sentence a user can act on."""
    if isinstance(exc, HTTPStatusError):
        return _http_error(exc, protocol)
    if isinstance(exc, StallError):
        return error("upstream_stalled", "The model stopped answering; the reply is incomplete.")
    if isinstance(exc, MalformedEventError | ProtocolError):
        return error("protocol_error", "The model server sent an answer this app cannot read.")
    return error("upstream_unreachable", "The model server could not be reached. Try again.")


def _http_error(exc: HTTPStatusError, protocol: str) -> dict[str, Any]:
    status, code = exc.status_code, f"upstream_http_{exc.status_code}"
    if exc.is_context_overflow:
        return TOO_LONG
    if status == 404:
        name = Protocol(protocol).label if protocol in Protocol.values else protocol
        return error(
            code,
            f"The model server answered 404 Not Found for {exc.url or 'its URL'}: it may not "
            f"speak the {name}. An operator should check the assistant's protocol and base URL.",
        )
    if status in (401, 403):
        return error(code, "The model server refused this app's credentials. "
                     "An operator should check the assistant's API key.")  # fmt: skip
    if status == 429:
        return error(code, "The model server is busy (too many requests). Try again shortly.")
    if status >= 500:
        return error(code, "The model server failed to answer. Try again in a moment.")
    return error(code, f"The model server rejected the request (HTTP {status}).")


def error_from_event(data: dict[str, Any]) -> dict[str, Any]:
    """The run's `last_error` for an `error` event in the upstream's stream."""
    found = data.get("error")
    inner: dict[str, Any] = found if isinstance(found, dict) else data
    return error(
        str(inner.get("code") or "upstream_error"),
        str(inner.get("message") or "The model reported an error."),
    )


def upstream_error(exc: AssistantsError) -> dict[str, Any]:
    """The upstream's whole answer, for the admin."""
    found: dict[str, Any] = {"error": type(exc).__name__, "detail": str(exc)[:UPSTREAM_BODY_LIMIT]}
    if isinstance(exc, HTTPStatusError):
        body = exc.body if isinstance(exc.body, dict | list) else str(exc.body)
        found.update(status=exc.status_code, url=exc.url, body=body)
    return found


def log_failure(run_id: int, base_url: str, outcome: RunOutcome) -> None:
    """Every failed run leaves one WARNING line: its id, upstream URL and reason."""
    if outcome.status != "failed":
        return
    reason = (outcome.last_error or {}).get("code", "unknown")
    detail = (outcome.upstream_error or {}).get("detail") or (outcome.last_error or {}).get(
        "message", ""
    )
    logger.warning("run %s failed: %s (upstream %s): %s", run_id, reason, base_url, detail[:500])
