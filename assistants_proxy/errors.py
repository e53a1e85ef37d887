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

import re
from typing import Any


class AssistantsError(Exception):
    retryable: bool = False


class TransportError(AssistantsError):
    retryable = True


class StallError(TransportError):
    """Raised when no byte arrived for `stall_timeout` seconds."""


class HTTPStatusError(AssistantsError):
    def __init__(
        self, status_code: int, body: Any, *, retry_after: float | None = None, url: str = ""
    ) -> None:
        self.status_code = status_code
        self.body = body
        self.retry_after = retry_after
        self.url = url
        super().__init__(f"upstream answered HTTP {status_code}: {self.error_message}")

    @property
    def retryable(self) -> bool:  # type: ignore[override]
        # A 5xx may be a passing fault. A 4xx says the request itself is wrong: sent again it
        # fails again, so it is reported at once; the one exception is a 429 that says when
        # to come back (Retry-After), which is the server asking for exactly that.
        if self.status_code == 429:
            return self.retry_after is not None
        return self.status_code >= 500

    @property
    def error_message(self) -> str:
        if isinstance(self.body, dict):
            error = self.body.get("error")
            if isinstance(error, dict) and error.get("message"):
                return str(error["message"])
            if isinstance(error, str) and error:
                return error
            if isinstance(self.body.get("detail"), str):
                return str(self.body["detail"])
        return str(self.body)[:500]

    @property
    def is_context_overflow(self) -> bool:
        """The upstream refused the prompt as longer than the model's context window."""
        if self.status_code not in (400, 413, 422, 500):
            return False
        return bool(_CONTEXT_OVERFLOW.search(str(self.body)))


# How servers phrase a prompt over the context window: OpenAI ("maximum context length",
# "context_length_exceeded"), vLLM ("maximum context length"), llama.cpp ("exceed context
# window", "n_ctx"), Ollama ("context length"), Anthropic-compatible gateways ("prompt is too
# long").
_CONTEXT_OVERFLOW = re.compile(
    r"context[ _]length|context window|n_ctx|prompt is too long|too many tokens"
    r"|maximum context|exceeds? (the )?(model'?s? )?(context|token limit)",
    re.IGNORECASE,
)


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
