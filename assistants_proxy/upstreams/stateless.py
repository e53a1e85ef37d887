"""What the Chat Completions and Responses adapters share: runs kept in memory between
requests, continuation with tool outputs, and cancel by closing the response.

A subclass says how to phrase the conversation (`first_conversation`), how to continue it
with tool results (`continue_conversation`), the request body (`body`) and how to read the
stream (`translator`).
"""

from __future__ import annotations

from typing import Any

from assistants_proxy.client import AssistantsClient, SSERequest
from assistants_proxy.ids import new_id
from assistants_proxy.upstreams import objects
from assistants_proxy.upstreams.base import RunRequest
from assistants_proxy.upstreams.builder import RunBuilder
from assistants_proxy.upstreams.state import RunRegistry, RunState, ToolCall
from assistants_proxy.upstreams.stream import TranslatedStream, Translator
from assistants_proxy.usage import estimate_prompt_tokens

JsonObject = dict[str, Any]


class StatelessUpstream:
    protocol = ""
    path = ""

    def __init__(self, client: AssistantsClient, registry: RunRegistry | None = None) -> None:
        self.client = client
        self.runs = registry or RunRegistry()

    # -- the interface ---------------------------------------------------------------------

    def start_run(self, request: RunRequest) -> TranslatedStream:
        thread_id = request.thread_id or new_id("thread")
        run = objects.run(request, thread_id=thread_id)
        state = self.runs.add(RunState(run, request, self.first_conversation(request)))
        return self._stream(state, lambda builder: builder.start())

    def submit_tool_outputs(
        self, *, thread_id: str, run_id: str, tool_outputs: list[dict[str, Any]]
    ) -> TranslatedStream:
        state = self.runs.get(run_id)
        outputs = {
            str(item.get("tool_call_id")): str(item.get("output") or "") for item in tool_outputs
        }
        state.conversation = self.continue_conversation(state, state.calls, outputs)
        state.rounds += 1
        return self._stream(state, lambda builder: builder.resume(outputs))

    async def cancel_run(self, *, thread_id: str, run_id: str) -> None:
        """Stop reading: the stream being read then ends with `thread.run.cancelled`. A run
        waiting for tool outputs has no stream, and is simply forgotten."""
        state = self.runs.find(run_id)
        if state is None:
            return
        state.cancel_requested = True
        if state.live is not None:
            await state.live.aclose()
        else:
            self.runs.drop(run_id)

    async def delete_thread(self, *, thread_id: str) -> None:
        """Nothing to delete: the conversation lives in the caller's database."""

    async def final_state(
        self, *, thread_id: str, run_id: str
    ) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
        return None  # the upstream keeps no runs: nothing can be asked after a cut stream

    # -- for subclasses --------------------------------------------------------------------

    def first_conversation(self, request: RunRequest) -> list[JsonObject]:
        raise NotImplementedError

    def continue_conversation(
        self, state: RunState, calls: list[ToolCall], outputs: dict[str, str]
    ) -> list[JsonObject]:
        raise NotImplementedError

    def body(self, state: RunState) -> JsonObject:
        raise NotImplementedError

    def translator(self, builder: RunBuilder) -> Translator:
        raise NotImplementedError

    # -- plumbing --------------------------------------------------------------------------

    def _stream(self, state: RunState, opening: Any) -> TranslatedStream:
        builder = RunBuilder(state, prompt_tokens=estimate_prompt_tokens(prompt_messages(state)))
        request = SSERequest(self.client, self.path, self.body(state))
        return TranslatedStream(
            request, state, self.translator(builder), opening=opening, registry=self.runs
        )


def prompt_messages(state: RunState) -> list[JsonObject]:
    """What a request sends, as messages, for usage estimates when the upstream reports none:
    the conversation, and the instructions where it does not carry them as a system message
    (Responses sends them beside it)."""
    instructions = state.request.instructions
    has_system = any(item.get("role") == "system" for item in state.conversation)
    system = (
        [{"role": "system", "content": instructions}] if instructions and not has_system else []
    )
    return system + state.conversation


def optional_fields(fields: dict[str, Any]) -> JsonObject:
    return {key: value for key, value in fields.items() if value is not None}
