"""The Assistants v2 events of one HTTP stream of a stateless run.

A protocol translator calls `text`, `tool_call`, `finish`, `fail` ... as its stream goes;
the builder opens and closes the run's steps and messages around those calls, in the order
OpenAI's Assistants streams have them (the seed: run created, queued, in_progress; a
message_creation step; message created, in_progress, deltas, completed; step completed with
usage; run completed with usage). Every event carries a copy of its object, so an event
already relayed never changes under the caller.

Refusals are streamed as ordinary text, and the message says so in its metadata
(``{"refusal": true}``). Reasoning summaries are not streamed: they are collected and put
in the message's metadata as ``"reasoning_summary"`` (a browser that does not know the key
shows the answer as usual, and the text of the answer stays only the answer).
"""

from __future__ import annotations

import copy
from typing import Any

from assistants_proxy.events import StreamEvent, make_event
from assistants_proxy.ids import is_openai_id, new_id
from assistants_proxy.upstreams import objects
from assistants_proxy.upstreams.objects import JsonObject, now
from assistants_proxy.upstreams.state import RunState, ToolCall
from assistants_proxy.usage import add_usage, estimate_usage, normalise_usage, run_usage

Events = list[StreamEvent]

# Protocol stop reasons that end a run as `incomplete`, with what the message and the run
# then say (Assistants: message reason max_tokens, run reason max_completion_tokens).
INCOMPLETE = {
    "length": ("max_tokens", "max_completion_tokens"),
    "max_output_tokens": ("max_tokens", "max_completion_tokens"),
    "content_filter": ("content_filter", "content_filter"),
}


class RunBuilder:
    def __init__(self, state: RunState, *, prompt_tokens: int) -> None:
        self.state = state
        self.run = state.run
        self.prompt_tokens = prompt_tokens  # what this request sent, for estimated usage
        self.message: JsonObject | None = None
        self.message_step: JsonObject | None = None
        self.tool_step: JsonObject | None = None
        self.finished = False
        self._text: list[str] = []
        self._generated: list[str] = []  # all text, arguments and reasoning of this stream
        self._reasoning: list[str] = []
        self._refusal = False
        self._calls: dict[Any, tuple[int, ToolCall]] = {}  # protocol's call key -> position

    # -- the run's lifecycle ---------------------------------------------------------------

    def start(self) -> Events:
        events = [self._emit("thread.run.created", self.run)]
        events.append(self._emit("thread.run.queued", self.run))
        return events + self._set_status("in_progress", started_at=now())

    def resume(self, outputs: dict[str, str]) -> Events:
        """The continuation opens as Assistants' does: the tool step completes, with the
        outputs and the usage of the request that asked for them, then queued, in_progress."""
        step, state = self.state.tool_step, self.state
        events: Events = []
        if step is not None:
            for call in step["step_details"]["tool_calls"]:
                call["function"]["output"] = outputs.get(call["id"])
            events += self._close_step(step, "completed", state.tool_step_usage)
        state.tool_step, state.tool_step_usage, state.calls = None, None, []
        self.run["required_action"] = None
        return events + self._set_status("queued") + self._set_status("in_progress")

    def set_model(self, model: Any) -> None:
        if isinstance(model, str) and model:
            self.run["model"] = model  # the upstream's exact model, e.g. with a date suffix

    # -- what the model produces -----------------------------------------------------------

    def text(self, fragment: Any, *, refusal: bool = False) -> Events:
        if not isinstance(fragment, str) or not fragment:
            return []
        events = self._open_message() if self.message is None else []
        assert self.message is not None
        self._refusal = self._refusal or refusal
        delta = objects.text_delta(self.message["id"], fragment, first=not self._text)
        self._text.append(fragment)
        self._generated.append(fragment)
        return [*events, make_event("thread.message.delta", delta)]

    def reasoning(self, fragment: Any) -> Events:
        if isinstance(fragment, str):
            self._reasoning.append(fragment)
            self._generated.append(fragment)
        return []

    def tool_call(self, key: Any, upstream_id: Any, name: Any) -> Events:
        """A new function call (`key` is the protocol's handle on it: Chat's tool index,
        Responses' item id). Text before it was a whole message of its own."""
        events = self._close_message("completed") if self.message is not None else []
        if self.tool_step is None:
            self.tool_step = objects.step(self.run, objects.tool_calls([]))
            events += self._open_step(self.tool_step)
        upstream = str(upstream_id or "")
        call_id = upstream if is_openai_id(upstream, "call") else new_id("call")
        call = ToolCall(call_id, upstream or call_id, str(name or ""))
        position = len(self._calls)
        self._calls[key] = (position, call)
        first = {"name": call.name, "arguments": "", "output": None}
        return [*events, self._step_delta(position, id=call_id, function=first)]

    def tool_arguments(self, key: Any, fragment: Any) -> Events:
        found = self._calls.get(key)
        if found is None or not isinstance(fragment, str) or not fragment:
            return []
        position, call = found
        call.fragments.append(fragment)
        self._generated.append(fragment)
        return [self._step_delta(position, function={"arguments": fragment})]

    def tool_arguments_so_far(self, key: Any) -> str | None:
        found = self._calls.get(key)
        return None if found is None else found[1].arguments

    # -- how the stream ends ---------------------------------------------------------------

    def finish(self, reason: str | None, usage: dict[str, Any] | None) -> Events:
        """The upstream finished this turn: `reason` is its stop reason, `usage` its raw
        usage (None: not reported, so it is estimated)."""
        if self.finished:  # a run ends once, whatever else the stream says
            return []
        stream_usage = self._stream_usage(usage)
        self.state.usage = add_usage(self.state.usage, stream_usage)
        if reason in INCOMPLETE:
            return self._incomplete(reason, stream_usage)
        if self._calls:  # some servers say "stop" even when they called a tool
            return self._requires_action(stream_usage)
        events = self._open_message() if self.message is None else []  # an empty reply
        events += self._close_message("completed", stream_usage)
        return events + self._end("completed", completed_at=now())

    def fail(self, error: dict[str, Any]) -> Events:
        if self.finished:
            return []
        last_error = {
            "code": str(error.get("code") or "server_error"),
            "message": str(error.get("message") or "the upstream reported an error"),
        }
        self.state.usage = add_usage(self.state.usage, self._stream_usage(None))
        events = self._abandon("failed", "run_failed", last_error)
        return events + self._end("failed", failed_at=now(), last_error=last_error)

    def cancel(self) -> Events:
        """The caller stopped the run: the text so far stays, in an incomplete message."""
        if self.finished:
            return []
        self.state.usage = add_usage(self.state.usage, self._stream_usage(None))
        events = self._set_status("cancelling")
        events += self._abandon("cancelled", "run_cancelled", None)
        return events + self._end("cancelled", cancelled_at=now())

    def _requires_action(self, usage: dict[str, Any]) -> Events:
        events = self._close_message("completed") if self.message is not None else []
        calls = [call for _, call in sorted(self._calls.values(), key=lambda pair: pair[0])]
        listed = [objects.function_call(c.call_id, c.name, c.arguments, None) for c in calls]
        assert self.tool_step is not None
        self.tool_step["step_details"] = objects.tool_calls(listed)
        # The tool step stays in progress while the run waits, as in OpenAI's captures.
        self.state.tool_step, self.state.tool_step_usage = self.tool_step, usage
        self.state.calls = calls
        self.run["required_action"] = objects.required_action(listed)
        self.finished = True
        return events + self._set_status("requires_action")

    def _incomplete(self, reason: str, usage: dict[str, Any]) -> Events:
        message_reason, run_reason = INCOMPLETE[reason]
        events: Events = []
        if self.tool_step is not None:  # arguments cut off: the call cannot be made
            events += self._close_step(self.tool_step, "completed", None)
        if self.message is None and self.tool_step is None:
            events += self._open_message()
        if self.message is not None:
            events += self._close_message("incomplete", usage, reason=message_reason)
        return events + self._end("incomplete", incomplete_details={"reason": run_reason})

    def _abandon(self, step_status: str, reason: str, error: JsonObject | None) -> Events:
        events: Events = []
        if self.message is not None:
            events += self._finish_message("incomplete", reason=reason)
        for step in (self.message_step, self.tool_step):
            if step is not None:
                events += self._close_step(step, step_status, None, error)
        self.message_step = self.tool_step = None
        return events

    def _end(self, status: str, **fields: Any) -> Events:
        usage = self.state.usage
        self.run.update(fields, expires_at=None, required_action=None)
        self.run["usage"] = run_usage(usage) if usage else None
        self.finished = True
        return self._set_status(status)

    # -- objects ---------------------------------------------------------------------------

    def _open_message(self) -> Events:
        self.message = message = objects.message(self.run)
        message["metadata"].update(self._message_metadata())
        self.message_step = objects.step(self.run, objects.message_creation(message["id"]))
        events = self._open_step(self.message_step)
        events.append(self._emit("thread.message.created", message))
        return [*events, self._emit("thread.message.in_progress", message)]

    def _close_message(
        self, status: str, usage: dict[str, Any] | None = None, *, reason: str | None = None
    ) -> Events:
        events = self._finish_message(status, reason=reason)
        step, self.message_step = self.message_step, None
        return events + (self._close_step(step, "completed", usage) if step else [])

    def _finish_message(self, status: str, *, reason: str | None) -> Events:
        message, self.message = self.message, None
        assert message is not None
        stamp = "completed_at" if status == "completed" else "incomplete_at"
        message.update({stamp: now()}, status=status)
        message["incomplete_details"] = {"reason": reason} if reason else None
        message["content"] = objects.text_content("".join(self._text))
        message["metadata"].update(self._message_metadata())
        self._text, self._refusal = [], False
        return [self._emit(f"thread.message.{status}", message)]

    def _message_metadata(self) -> JsonObject:
        metadata: JsonObject = {}
        if self._refusal:
            metadata["refusal"] = True
        if self._reasoning:
            metadata["reasoning_summary"] = "".join(self._reasoning)
        return metadata

    def _open_step(self, step: JsonObject) -> Events:
        return [
            self._emit("thread.run.step.created", step),
            self._emit("thread.run.step.in_progress", step),
        ]

    def _close_step(
        self,
        step: JsonObject,
        status: str,
        usage: dict[str, Any] | None,
        error: JsonObject | None = None,
    ) -> Events:
        stamp = "completed_at" if status == "completed" else f"{status}_at"
        step.update({stamp: now()}, status=status, last_error=error)
        step["usage"] = run_usage(usage) if usage else None
        return [self._emit(f"thread.run.step.{status}", step)]

    def _step_delta(self, position: int, **fields: Any) -> StreamEvent:
        assert self.tool_step is not None
        call = {"index": position, "type": "function", **fields}
        return make_event("thread.run.step.delta", objects.step_delta(self.tool_step["id"], call))

    def _set_status(self, status: str, **fields: Any) -> Events:
        self.run.update(fields, status=status)
        return [self._emit(f"thread.run.{status}", self.run)]

    def _stream_usage(self, raw: dict[str, Any] | None) -> dict[str, Any]:
        usage = normalise_usage(raw)
        if usage is not None:
            return usage
        completion = "".join(self._generated)
        return estimate_usage(prompt_tokens=self.prompt_tokens, completion_text=completion)

    @staticmethod
    def _emit(name: str, data: JsonObject) -> StreamEvent:
        return make_event(name, copy.deepcopy(data))
