"""Errors the simulator's API answers with, in OpenAI's ``{"error": {...}}`` envelope.

    ApiError                 any error response (status, type, code, extra headers)
     +-- BadRequest          400 invalid_request_error: bad JSON, bad fields, bad directive
     +-- NotFound            404 invalid_request_error: unknown path or object id
     +-- MethodNotAllowed    405 invalid_request_error
     +-- InjectedFailure     429/500/503 from the ``/sim status=`` directive, with Retry-After

Handlers raise these; the ASGI layer turns them into JSON responses, so bad input never
becomes a traceback.
"""

from .wire import JsonObject, error

_INJECTED = {
    429: ("Rate limit reached for requests (simulated).", "requests", "rate_limit_exceeded"),
    500: (
        "The server had an error while processing your request (simulated).",
        "server_error",
        "server_error",
    ),
    503: (
        "The engine is currently overloaded, please try again later (simulated).",
        "server_error",
        "overloaded",
    ),
}


class ApiError(Exception):
    status = 500
    type = "server_error"
    code: str | None = None

    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param

    @property
    def headers(self) -> list[tuple[str, str]]:
        return []

    def body(self) -> JsonObject:
        return error(self.message, type=self.type, code=self.code, param=self.param)


class BadRequest(ApiError):
    status = 400
    type = "invalid_request_error"

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None):
        super().__init__(message, param=param)
        self.code = code


def context_exceeded(window: int, prompt: int) -> BadRequest:
    """OpenAI's answer to a prompt over the model's context window (`/sim context=N`)."""
    return BadRequest(
        f"This model's maximum context length is {window} tokens. However, your messages "
        f"resulted in {prompt} tokens. Please reduce the length of the messages.",
        param="messages",
        code="context_length_exceeded",
    )


class NotFound(ApiError):
    status = 404
    type = "invalid_request_error"


class MethodNotAllowed(ApiError):
    status = 405
    type = "invalid_request_error"


class InjectedFailure(ApiError):
    """A failure asked for by ``/sim status=N``; clients should retry after one second."""

    def __init__(self, status: int) -> None:
        message, self.type, self.code = _INJECTED[status]
        super().__init__(message)
        self.status = status

    @property
    def headers(self) -> list[tuple[str, str]]:
        return [("retry-after", "1")]
