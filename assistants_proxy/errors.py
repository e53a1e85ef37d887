"""Exceptions raised by `assistants_proxy`.

    AssistantsError                 base class; `retryable` says whether a retry may help
    ├── TransportError              no usable HTTP exchange: refused, reset, timed out
    │   └── StallError              the stream went silent for longer than allowed
    ├── HTTPStatusError             the upstream answered 4xx/5xx; carries status and error body
    ├── ProtocolError               the bytes are not a valid Assistants event stream
    │   └── MalformedEventError     one event's data is not the JSON object it should be
    └── RunNotFoundError            a stateless adapter holds no such run (also a LookupError)

A retry is only ever attempted before the first event of a stream has been received: after
that, a retry would replay text the caller has already relayed.
"""

from __future__ import annotations

from typing import Any


class AssistantsError(Exception):
    retryable: bool = False


class TransportError(AssistantsError):
    retryable = True


class StallError(TransportError):
    """Raised when no byte arrived for `stall_timeout` seconds."""


class HTTPStatusError(AssistantsError):
    def __init__(self, status_code: int, body: Any, *, retry_after: float | None = None) -> None:
        self.status_code = status_code
        self.body = body
        self.retry_after = retry_after
        super().__init__(f"upstream answered HTTP {status_code}: {self.error_message}")

    @property
    def retryable(self) -> bool:  # type: ignore[override]
        # 408/409 (lock contention) and 429 come back; 5xx may be a passing fault.
        return self.status_code in (408, 409, 429) or self.status_code >= 500

    @property
    def error_message(self) -> str:
        if isinstance(self.body, dict):
            error = self.body.get("error")
            if isinstance(error, dict) and error.get("message"):
                return str(error["message"])
        return str(self.body)[:500]


class ProtocolError(AssistantsError):
    pass


class MalformedEventError(ProtocolError):
    def __init__(self, message: str, *, event: str | None = None, raw: str = "") -> None:
        self.event = event
        self.raw = raw
        super().__init__(message)


class RunNotFoundError(AssistantsError, LookupError):
    """Stateless adapters keep paused runs in memory: a continuation for a run this process
    does not hold (it finished, or the process restarted) cannot be sent."""
