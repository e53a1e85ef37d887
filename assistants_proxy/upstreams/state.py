"""What a stateless adapter remembers about a run between its HTTP requests.

Chat Completions and Responses know nothing of runs: a run that stops for tool outputs is
continued by a new request carrying the history so far plus the tool results. So the
adapter keeps, per run id, the Assistants run object, the protocol-native conversation it
sent, the tool calls waiting for outputs, and the usage so far. A finished run is dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from assistants_proxy.errors import RunNotFoundError
from assistants_proxy.upstreams.base import RunRequest

if TYPE_CHECKING:
    from assistants_proxy.client import SSERequest

JsonObject = dict[str, Any]


@dataclass
class ToolCall:
    call_id: str  # ours, `call_` + 24 alphanumerics, as the browser and the app see it
    upstream_id: str  # the protocol's own id, which the tool result must quote
    name: str
    fragments: list[str] = field(default_factory=list)

    @property
    def arguments(self) -> str:
        return "".join(self.fragments)


@dataclass
class RunState:
    run: JsonObject  # the Assistants run object; events carry copies of it
    request: RunRequest
    conversation: list[JsonObject]  # messages (Chat) or input items (Responses) sent so far
    usage: dict[str, Any] | None = None  # normalised, summed over the run's requests
    calls: list[ToolCall] = field(default_factory=list)  # waiting for outputs
    tool_step: JsonObject | None = None  # the step that asked for them, still in progress
    tool_step_usage: dict[str, Any] | None = None  # reported when that step completes
    response_id: str | None = None  # Responses: the last response of the run
    rounds: int = 0  # tool-output continuations sent so far
    cancel_requested: bool = False
    live: SSERequest | None = None  # the request being read, closed to cancel it

    @property
    def id(self) -> str:
        return str(self.run["id"])

    def tool_choice(self) -> RunRequest:
        """The request as this round sends it: a named function is forced on the first
        request only. Forced again on the continuation, the model would call it for ever
        instead of answering with the output."""
        if self.rounds and self.request.forced_function:
            return replace(self.request, tool_choice="auto")
        return self.request


class RunRegistry:
    """Runs in memory, by run id. The app keeps one upstream per process, so a run and its
    continuation meet the same registry."""

    def __init__(self) -> None:
        self._runs: dict[str, RunState] = {}

    def add(self, state: RunState) -> RunState:
        self._runs[state.id] = state
        return state

    def get(self, run_id: str) -> RunState:
        state = self._runs.get(run_id)
        if state is None:
            raise RunNotFoundError(f"no run {run_id!r} waiting in this process")
        return state

    def find(self, run_id: str) -> RunState | None:
        return self._runs.get(run_id)

    def drop(self, run_id: str) -> None:
        self._runs.pop(run_id, None)
