"""Responses API frames, event for event as OpenAI's recorded streams have them.

`event:` line plus JSON whose `type` repeats the name and whose `sequence_number` counts
from 0; no `[DONE]`. A text reply is `response.created`, `in_progress`,
`output_item.added` (a message), `content_part.added`, `output_text.delta`...,
`output_text.done`, `content_part.done`, `output_item.done`, `response.completed` with the
usage. A function call is a `function_call` item with argument deltas; a refusal is a
`refusal` content part; a reasoning summary is a `reasoning` item before the message.
"""

import copy
import json

from assistants_proxy.ids import new_id

from .channel import Frame
from .turn_runner import Usage
from .turns import Turn
from .wire import JsonObject, now

_STATUS_EVENT = {"completed": "response.completed", "incomplete": "response.incomplete"}


def response_object(turn: Turn, previous_response_id: str | None) -> JsonObject:
    return {
        "id": new_id("resp"),
        "object": "response",
        "created_at": now(),
        "status": "in_progress",
        "background": False,
        "error": None,
        "incomplete_details": None,
        "instructions": turn.instructions,
        "max_output_tokens": turn.max_tokens,
        "max_tool_calls": None,
        "model": turn.model,
        "output": [],
        "parallel_tool_calls": True,
        "previous_response_id": previous_response_id,
        "prompt_cache_key": None,
        "reasoning": {"effort": None, "summary": None},
        "safety_identifier": None,
        "service_tier": "default",
        "store": True,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}, "verbosity": "medium"},
        "tool_choice": "auto",
        "tools": list(turn.tools),
        "top_logprobs": 0,
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": None,
        "user": None,
        "metadata": {},
    }


def usage_object(usage: Usage) -> JsonObject:
    return {
        "input_tokens": usage.prompt,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": usage.completion,
        "output_tokens_details": {"reasoning_tokens": usage.reasoning},
        "total_tokens": usage.prompt + usage.completion,
    }


class ResponsesRenderer:
    done_frame = b""

    def __init__(self, turn: Turn, previous_response_id: str | None) -> None:
        self.response = response_object(turn, previous_response_id)
        self.sequence = 0
        self._item: JsonObject | None = None  # the output item being streamed
        self._pieces: list[str] = []  # its text, summary or arguments so far
        self._refusal = False  # the open message is a refusal

    @property
    def id(self) -> str:
        return str(self.response["id"])

    # -- the stream ----------------------------------------------------------------------

    def start(self) -> list[Frame]:
        return [
            self._response_event("response.created"),
            self._response_event("response.in_progress"),
        ]

    def reasoning(self, token: str) -> list[Frame]:
        frames = [] if self._open_is("reasoning") else self._open(_reasoning_item())
        summary = {"summary_index": 0}
        if not self._pieces:
            part = {"type": "summary_text", "text": ""}
            frames.append(
                self._item_event("response.reasoning_summary_part.added", **summary, part=part)
            )
        self._pieces.append(token)
        frames.append(
            self._item_event("response.reasoning_summary_text.delta", **summary, delta=token)
        )
        return frames

    def text(self, token: str, *, refusal: bool, stamp: float | None) -> list[Frame]:
        frames = [] if self._open_is("message") else self._open(_message_item())
        self._refusal = self._refusal or refusal
        if not self._pieces:
            frames.append(
                self._item_event(
                    "response.content_part.added", content_index=0, part=_part(refusal, "")
                )
            )
        self._pieces.append(token)
        if refusal:
            return [
                *frames,
                self._item_event("response.refusal.delta", content_index=0, delta=token),
            ]
        fields: JsonObject = {"content_index": 0, "delta": token, "logprobs": []}
        if stamp is not None:
            fields["sim_emitted_at"] = stamp
        return [*frames, self._item_event("response.output_text.delta", **fields)]

    def call(self, call_id: str, name: str) -> list[Frame]:
        item = {"id": new_id("fc"), "type": "function_call", "status": "in_progress"}
        return self._open({**item, "arguments": "", "call_id": call_id, "name": name})

    def arguments(self, fragment: str) -> list[Frame]:
        self._pieces.append(fragment)
        return [self._item_event("response.function_call_arguments.delta", delta=fragment)]

    def finish(self, reason: str, usage: Usage) -> list[Frame]:
        status = "incomplete" if reason == "length" else "completed"
        frames = self._close(status)
        self.response.update(status=status, usage=usage_object(usage))
        if status == "incomplete":
            self.response["incomplete_details"] = {"reason": "max_output_tokens"}
        return [*frames, self._response_event(_STATUS_EVENT[status])]

    def error(self, message: str) -> list[Frame]:
        fields = {"code": "server_error", "message": message, "param": None}
        return [self._event("error", fields)]

    def fail(self, message: str) -> list[Frame]:
        self.response.update(status="failed", error={"code": "server_error", "message": message})
        return [self._response_event("response.failed")]

    def malformed(self) -> Frame:
        # An event cut off mid-JSON, as a crashing proxy might send it; it carries no text.
        head = f'{{"type":"response.output_text.delta","sequence_number":{self.sequence},'
        return Frame("malformed", f"event: response.output_text.delta\ndata: {head}\n\n".encode())

    def body(self) -> JsonObject:
        return copy.deepcopy(self.response)

    # -- output items ----------------------------------------------------------------------

    def _open_is(self, kind: str) -> bool:
        return self._item is not None and self._item["type"] == kind

    def _open(self, item: JsonObject) -> list[Frame]:
        frames = self._close("completed")
        self._item, self._pieces = item, []
        return [
            *frames,
            self._event("response.output_item.added", self._indexed(item=copy.deepcopy(item))),
        ]

    def _close(self, status: str) -> list[Frame]:
        item = self._item
        if item is None:
            return []
        whole = "".join(self._pieces)
        frames = getattr(self, f"_close_{item['type']}")(item, whole)
        item["status"] = status
        if item["type"] == "reasoning":
            del item["status"]  # reasoning items carry no status
        frames.append(
            self._event("response.output_item.done", self._indexed(item=copy.deepcopy(item)))
        )
        self.response["output"].append(item)
        self._item = None
        return frames

    def _close_message(self, item: JsonObject, whole: str) -> list[Frame]:
        refusal, self._refusal = self._refusal, False
        part = _part(refusal, whole)
        done = (
            self._item_event("response.refusal.done", content_index=0, refusal=whole)
            if refusal
            else (
                self._item_event(
                    "response.output_text.done", content_index=0, text=whole, logprobs=[]
                )
            )
        )
        item["content"] = [part]
        return [done, self._item_event("response.content_part.done", content_index=0, part=part)]

    def _close_reasoning(self, item: JsonObject, whole: str) -> list[Frame]:
        part = {"type": "summary_text", "text": whole}
        item["summary"] = [part]
        return [
            self._item_event("response.reasoning_summary_text.done", summary_index=0, text=whole),
            self._item_event("response.reasoning_summary_part.done", summary_index=0, part=part),
        ]

    def _close_function_call(self, item: JsonObject, whole: str) -> list[Frame]:
        item["arguments"] = whole
        return [self._item_event("response.function_call_arguments.done", arguments=whole)]

    # -- events ----------------------------------------------------------------------------

    def _indexed(self, **fields: object) -> JsonObject:
        return {"output_index": len(self.response["output"]), **fields}

    def _item_event(self, kind: str, **fields: object) -> Frame:
        assert self._item is not None
        return self._event(kind, {"item_id": self._item["id"], **self._indexed(**fields)})

    def _response_event(self, kind: str) -> Frame:
        return self._event(kind, {"response": copy.deepcopy(self.response)})

    def _event(self, kind: str, fields: JsonObject) -> Frame:
        data = {"type": kind, "sequence_number": self.sequence, **fields}
        self.sequence += 1
        payload = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
        return Frame(kind, f"event: {kind}\ndata: {payload}\n\n".encode())


def _message_item() -> JsonObject:
    return {
        "id": new_id("msg"),
        "type": "message",
        "status": "in_progress",
        "content": [],
        "role": "assistant",
    }


def _reasoning_item() -> JsonObject:
    return {"id": new_id("rs"), "type": "reasoning", "summary": []}


def _part(refusal: bool, text: str) -> JsonObject:
    if refusal:
        return {"type": "refusal", "refusal": text}
    return {"type": "output_text", "annotations": [], "logprobs": [], "text": text}
