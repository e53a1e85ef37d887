"""Errors that services and selectors raise, and that views turn into JSON answers.

    ServiceError               code, message, status (the HTTP status), retryable
    ├── InvalidInput     400   the request itself is wrong; sending it again will not help
    ├── NotFound         404   missing, or someone else's (never 403: that would confirm it exists)
    ├── Conflict         409   the thread or run is in the wrong state for this
    │   ├── RunActive          a run of the thread is still active; retry once it ended
    │   └── RunEnded           the run already ended, so there is nothing left to cancel
    ├── TooLarge         413   the request body is over DATA_UPLOAD_MAX_MEMORY_SIZE
    ├── RateLimited      429   too many runs started in the last minute; retry later
    │   └── BudgetExhausted    the user's daily or monthly token budget is spent
    └── Unavailable      503   the database cannot be reached or is locked; retry later

Each error has a stable machine-readable `code` (what clients branch on) and a human
`message` (what they may show). `retryable` says whether the same request may succeed later,
and `retry_after`, when known, in how many seconds (the `Retry-After` header).
"""

from __future__ import annotations


class ServiceError(Exception):
    status = 500
    code = "error"
    retryable = False

    def __init__(
        self, message: str, *, code: str | None = None, retry_after: int | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after
        if code is not None:
            self.code = code


class InvalidInput(ServiceError):
    status = 400
    code = "invalid"


class NotFound(ServiceError):
    status = 404
    code = "not_found"


class Conflict(ServiceError):
    status = 409
    code = "conflict"


class RunActive(Conflict):
    code = "run_active"
    retryable = True


class RunEnded(Conflict):
    code = "run_ended"


class TooLarge(ServiceError):
    status = 413
    code = "body_too_large"


class RateLimited(ServiceError):
    status = 429
    code = "rate_limited"
    retryable = True


class BudgetExhausted(RateLimited):
    code = "budget_exhausted"


class Unavailable(ServiceError):
    status = 503
    code = "database_unavailable"
    retryable = True
