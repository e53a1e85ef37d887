"""`ResponsesUpstream`: runs over ``POST /responses`` with ``stream: true``.

Two ways to carry the history, chosen by the request:

- stateless (the default, works with every server): `input` is the whole conversation as
  role/content messages; a continuation repeats it, adds the `function_call` items and one
  `function_call_output` per call;
- server-held (the request has `previous_response_id`): `input` is only the new user
  message, chained to the previous response; a continuation sends only the
  `function_call_output` items, chained to the response that asked for them.

Each run puts its response id in the run's metadata (`response_id`), for the caller to
chain the next turn.
"""

from __future__ import annotations

from typing import Any

from assistants_proxy.upstreams.base import RunRequest, tool_choice
from assistants_proxy.upstreams.builder import RunBuilder
from assistants_proxy.upstreams.responses_translate import ResponsesTranslator
from assistants_proxy.upstreams.state import RunState, ToolCall
from assistants_proxy.upstreams.stateless import JsonObject, StatelessUpstream, optional_fields


class ResponsesUpstream(StatelessUpstream):
    protocol = "responses"
    path = "/responses"

    def first_conversation(self, request: RunRequest) -> list[JsonObject]:
        messages = request.messages[-1:] if request.previous_response_id else request.messages
        return [{"role": m["role"], "content": m["content"]} for m in messages]

    def continue_conversation(
        self, state: RunState, calls: list[ToolCall], outputs: dict[str, str]
    ) -> list[JsonObject]:
        results = [
            {
                "type": "function_call_output",
                "call_id": call.upstream_id,
                "output": outputs.get(call.call_id, ""),
            }
            for call in calls
        ]
        if _chained(state):
            return results
        made = [
            {
                "type": "function_call",
                "call_id": call.upstream_id,
                "name": call.name,
                "arguments": call.arguments,
            }
            for call in calls
        ]
        return [*state.conversation, *made, *results]

    def body(self, state: RunState) -> JsonObject:
        request = state.request
        previous = state.response_id if _continuing(state) else request.previous_response_id
        body: JsonObject = {"model": request.model, "input": state.conversation, "stream": True}
        tools = [_tool(t["function"]) for t in request.function_tools]
        optional: dict[str, Any] = {
            "instructions": request.instructions,
            "previous_response_id": previous if _chained(state) else None,
            "tools": tools or None,
            "tool_choice": tool_choice(state.tool_choice(), nested=False) if tools else None,
            "temperature": request.temperature,
            "top_p": request.top_p,
            "max_output_tokens": request.max_tokens,
        }
        return body | optional_fields(optional)

    def translator(self, builder: RunBuilder) -> ResponsesTranslator:
        return ResponsesTranslator(builder, builder.state)


def _chained(state: RunState) -> bool:
    return bool(state.request.previous_response_id)


def _continuing(state: RunState) -> bool:
    return state.response_id is not None


def _tool(function: dict[str, Any]) -> JsonObject:
    """Responses function tools are flat (no `function` wrapper), and `strict` must be
    said: the Responses API takes an omitted `strict` as true, which rejects the loose
    schemas Chat and Assistants tools commonly have."""
    tool: JsonObject = {"type": "function", "name": function["name"]}
    for key in ("description", "parameters"):
        if function.get(key) is not None:
            tool[key] = function[key]
    tool["strict"] = bool(function.get("strict", False))
    return tool
