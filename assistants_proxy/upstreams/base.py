"""The one interface every upstream implements, whatever protocol it speaks.

The run engine talks Assistants v2 events to browsers; an upstream turns one model turn
into those events. `start_run` and `submit_tool_outputs` return a `RunStream`: an async
context manager (opening it sends the request, with retries before the first event) that
iterates `StreamEvent`s and ends with `done`, either at a terminal run event or at
`thread.run.requires_action`, after which `submit_tool_outputs` continues the same run.
"""

from __future__ import annotations

from collections.abc import AsyncIterable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Protocol

from assistants_proxy.events import StreamEvent

Message = dict[str, Any]


@dataclass
class RunRequest:
    """One turn of a conversation. `messages` is the history, oldest first, as
    ``{"role": "user" | "assistant", "content": str}``; the last one is the new user
    message. Stateful upstreams (Assistants with a `thread_id`, Responses with a
    `previous_response_id`) already hold the history and are sent only that last one."""

    model: str
    messages: list[Message]
    instructions: str | None = None
    tools: list[dict[str, Any]] = field(default_factory=list)  # Assistants v2 tool objects
    # "auto", "required", "none", or the name of one function the model must call; sent in
    # each protocol's own form, and only with tools (servers reject it without).
    tool_choice: str | None = None
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    thread_id: str | None = None  # Assistants: upstream thread (None: a new one); others: ours
    assistant_id: str | None = None  # Assistants only
    previous_response_id: str | None = None  # Responses only
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def function_tools(self) -> list[dict[str, Any]]:
        """The tools a stateless protocol can offer: functions only (no hosted tools)."""
        return [tool for tool in self.tools if tool.get("type") == "function"]

    @property
    def forced_function(self) -> str | None:
        """The function the model must call, when `tool_choice` names one."""
        choice = self.tool_choice
        return None if choice in (None, "auto", "required", "none") else choice


def tool_choice(request: RunRequest, *, nested: bool) -> str | dict[str, Any] | None:
    """`request.tool_choice` as a protocol takes it: the keywords as they are; a named
    function as ``{"type": "function", "function": {"name": ...}}`` (Chat Completions and
    Assistants, `nested`) or ``{"type": "function", "name": ...}`` (Responses)."""
    name = request.forced_function
    if name is None:
        return request.tool_choice
    if nested:
        return {"type": "function", "function": {"name": name}}
    return {"type": "function", "name": name}


class RunStream(Protocol):
    """`async with stream as events: async for event in events: ...`

    A malformed event is passed over and logged, not fatal: `skipped_events` counts them."""

    skipped_events: int

    async def __aenter__(self) -> AsyncIterable[StreamEvent]: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class Upstream(Protocol):
    protocol: str  # "assistants", "chat_completions" or "responses"

    def start_run(self, request: RunRequest) -> RunStream: ...

    def submit_tool_outputs(
        self, *, thread_id: str, run_id: str, tool_outputs: list[dict[str, Any]]
    ) -> RunStream: ...

    async def cancel_run(self, *, thread_id: str, run_id: str) -> None: ...

    async def delete_thread(self, *, thread_id: str) -> None:
        """Delete the upstream's copy of a conversation, where it keeps one."""
        ...

    async def final_state(
        self, *, thread_id: str, run_id: str
    ) -> tuple[dict[str, Any], list[dict[str, Any]]] | None: ...
