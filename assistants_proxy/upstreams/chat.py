"""`ChatCompletionsUpstream`: runs over ``POST /chat/completions`` with ``stream: true``.

Every request carries the whole conversation: the instructions as a system message, the
history, and on continuation the assistant message with its `tool_calls` followed by one
``role: "tool"`` message per call, quoting the call's id.
"""

from __future__ import annotations

from typing import Any

from assistants_proxy.upstreams.base import RunRequest, tool_choice
from assistants_proxy.upstreams.builder import RunBuilder
from assistants_proxy.upstreams.chat_translate import ChatTranslator
from assistants_proxy.upstreams.state import RunState, ToolCall
from assistants_proxy.upstreams.stateless import JsonObject, StatelessUpstream, optional_fields


class ChatCompletionsUpstream(StatelessUpstream):
    protocol = "chat_completions"
    path = "/chat/completions"

    def first_conversation(self, request: RunRequest) -> list[JsonObject]:
        system = [{"role": "system", "content": request.instructions}]
        history = [{"role": m["role"], "content": m["content"]} for m in request.messages]
        return (system if request.instructions else []) + history

    def continue_conversation(
        self, state: RunState, calls: list[ToolCall], outputs: dict[str, str]
    ) -> list[JsonObject]:
        listed = [
            {
                "id": call.upstream_id,
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments},
            }
            for call in calls
        ]
        # Every call needs its tool message, or the upstream answers 400.
        results = [
            {
                "role": "tool",
                "tool_call_id": call.upstream_id,
                "content": outputs.get(call.call_id, ""),
            }
            for call in calls
        ]
        # `content` is an empty string: llama.cpp's server rejects null (and an omitted one),
        # and OpenAI accepts both.
        assistant = {"role": "assistant", "content": "", "tool_calls": listed}
        return [*state.conversation, assistant, *results]

    def body(self, state: RunState) -> JsonObject:
        request = state.request
        body: JsonObject = {
            "model": request.model,
            "messages": state.conversation,
            "stream": True,
            # Without it OpenAI sends no usage at all in a stream.
            "stream_options": {"include_usage": True},
        }
        tools = [{"type": "function", "function": t["function"]} for t in request.function_tools]
        # `max_tokens`, not `max_completion_tokens`: every compatible server reads it.
        optional: dict[str, Any] = {
            "tools": tools or None,
            "tool_choice": tool_choice(state.tool_choice(), nested=True) if tools else None,
            "temperature": request.temperature,
            "top_p": request.top_p,
            "max_tokens": request.max_tokens,
        }
        return body | optional_fields(optional)

    def translator(self, builder: RunBuilder) -> ChatTranslator:
        return ChatTranslator(builder)
