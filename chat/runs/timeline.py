"""A run's timeline, kept in memory while it runs and stored once, when it ends
(`Run.timeline`): never a write per token.

What it holds, each time in milliseconds since the user's POST:
- `events`: each event of the run other than text deltas, with its name (and detail where it
  says something: a tool call's duration, a retry's reason);
- `tokens`: (time, text deltas so far), sampled at most once a second, from the relay's own
  once-a-second branch: the inspector draws the token rate from it;
- `request`: the request sent upstream, without secrets (`redacted_request`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import time
from typing import Any

from django.utils import timezone

from assistants_proxy.errors import AssistantsError
from assistants_proxy.upstreams import RunRequest
from chat.runs import failures

# Most events a timeline keeps (a run with thousands of tool rounds keeps its first ones).
MAX_EVENTS = 500
MAX_TEXT_CHARS = 2000  # of each message of the request shown
_SECRET = re.compile(
    r"(sk-[A-Za-z0-9_\-]{8,}|Bearer\s+[A-Za-z0-9._\-]{8,}|(?<=://)[^/@\s]+:[^/@\s]+(?=@))"
)
_SECRET_KEYS = re.compile(r"key|token|secret|password|authorization", re.I)


class Timeline:
    def __init__(self, posted_at: dt.datetime) -> None:
        # Monotonic from here on; anchored to the POST once.
        self._zero = time.monotonic() - (timezone.now() - posted_at).total_seconds()
        self.events: list[list[Any]] = []
        self.tokens: list[list[int]] = []
        self.request: dict[str, Any] | None = None

    def now_ms(self) -> int:
        return int((time.monotonic() - self._zero) * 1000)

    def mark(self, name: str, **detail: Any) -> None:
        if len(self.events) < MAX_EVENTS:
            self.events.append([self.now_ms(), name, detail] if detail else [self.now_ms(), name])

    def retried(self, error: Exception, attempt: int) -> None:
        """The upstream client retries a request: what the upstream answered first."""
        answer = failures.upstream_error(error) if isinstance(error, AssistantsError) else None
        self.mark("upstream_retry", attempt=attempt, error=str(error), upstream=answer)

    def sample(self, streamed: int) -> None:
        self.tokens.append([self.now_ms(), streamed])

    def sent(self, request: RunRequest, base_url: str) -> None:
        self.request = redacted_request(request, base_url)

    def as_json(self, streamed: int) -> dict[str, Any]:
        self.sample(streamed)  # the last point: the run's end
        return {"events": self.events, "tokens": self.tokens, "request": self.request}


def tool_names(calls: list[dict[str, Any]]) -> list[str]:
    return [str((call.get("function") or {}).get("name") or call.get("type")) for call in calls]


def redacted_request(request: RunRequest, base_url: str) -> dict[str, Any]:
    """The request as sent, with anything that looks like a credential replaced; long
    messages are cut (the thread keeps them whole)."""
    fields = dataclasses.asdict(request)
    fields["messages"] = [_cut(message) for message in fields.get("messages") or []]
    fields["url"] = base_url
    return _redact(fields)


def _cut(message: dict[str, Any]) -> dict[str, Any]:
    content = message.get("content")
    if isinstance(content, str) and len(content) > MAX_TEXT_CHARS:
        omitted = len(content) - MAX_TEXT_CHARS
        message = {**message, "content": f"{content[:MAX_TEXT_CHARS]}… ({omitted} more)"}
    return message


def _redact(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: _redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(item, key) for item in value]
    if isinstance(value, str):
        if _SECRET_KEYS.search(key) and key != "max_tokens" and value:
            return "[removed]"
        return _SECRET.sub("[removed]", value)
    return value
