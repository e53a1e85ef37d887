"""Chat Completions frames, chunk for chunk as OpenAI's recorded streams have them.

`data:` lines only, no `event:` line; every chunk repeats id, created, model and
fingerprint; the first delta carries the role; with `stream_options.include_usage` every
chunk has `"usage": null` and one last chunk with `choices: []` carries the usage; then
`data: [DONE]`. The `obfuscation` padding OpenAI adds is left out (clients ignore it).
A refusal streams in `delta.refusal`; a reasoning summary in `delta.reasoning_content`, as
vLLM and DeepSeek send it (OpenAI's Chat Completions streams no reasoning).
"""

import json
import secrets
import string

from .channel import Frame
from .turn_runner import Usage
from .turns import Turn
from .wire import JsonObject, now

DONE = b"data: [DONE]\n\n"
FINGERPRINT = "fp_simulator"
_ALPHANUMERIC = string.ascii_letters + string.digits


def completion_id() -> str:
    return "chatcmpl-" + "".join(secrets.choice(_ALPHANUMERIC) for _ in range(29))


def usage_object(usage: Usage) -> JsonObject:
    return {
        "prompt_tokens": usage.prompt,
        "completion_tokens": usage.completion,
        "total_tokens": usage.prompt + usage.completion,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": usage.reasoning,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


class ChatRenderer:
    done_frame = DONE

    def __init__(self, turn: Turn) -> None:
        self.turn = turn
        self.id, self.created = completion_id(), now()
        self._started = False
        self._content: list[str] = []
        self._refusal: list[str] = []
        self._call: JsonObject | None = None
        self._finish: tuple[str, Usage] | None = None

    # -- the stream ----------------------------------------------------------------------

    def start(self) -> list[Frame]:
        return []  # the role comes with the first delta, whose shape depends on what it is

    def reasoning(self, token: str) -> list[Frame]:
        return [*self._role(content=""), self._frame({"reasoning_content": token})]

    def text(self, token: str, *, refusal: bool, stamp: float | None) -> list[Frame]:
        (self._refusal if refusal else self._content).append(token)
        role = self._role(content=None, refusal="") if refusal else self._role(content="")
        chunk = self._chunk({"refusal" if refusal else "content": token})
        if stamp is not None:
            chunk["sim_emitted_at"] = stamp
        return [*role, _frame(chunk, "chat.completion.delta")]

    def call(self, call_id: str, name: str) -> list[Frame]:
        function = {"name": name, "arguments": ""}
        self._call = {"id": call_id, "type": "function", "function": function}
        first = {"index": 0, **self._call, "function": dict(function)}
        if not self._started:
            return self._role(content=None, tool_calls=[first])
        return [self._frame({"tool_calls": [first]})]

    def arguments(self, fragment: str) -> list[Frame]:
        assert self._call is not None
        self._call["function"]["arguments"] += fragment
        return [self._frame({"tool_calls": [{"index": 0, "function": {"arguments": fragment}}]})]

    def finish(self, reason: str, usage: Usage) -> list[Frame]:
        self._finish = (reason, usage)
        frames = [*self._role(content=""), _frame(self._chunk({}, finish_reason=reason))]
        if self.turn.include_usage:
            frames.append(_frame({**self._chunk({}), "choices": [], "usage": usage_object(usage)}))
        return frames

    def error(self, message: str) -> list[Frame]:
        error = {"message": message, "type": "server_error", "param": None, "code": "server_error"}
        return [_frame({"error": error}, "error")]

    def fail(self, message: str) -> list[Frame]:
        return self.error(message)  # Chat Completions has no failed state: an error chunk

    def malformed(self) -> Frame:
        # A chunk cut off mid-JSON, as a crashing proxy might send it; it carries no text.
        head = f'data: {{"id":"{self.id}","object":"chat.completion.chunk","choices":'
        return Frame("malformed", (head + '[{"index":0,"delta":{"content":\n\n').encode())

    # -- the whole answer (stream: false) -------------------------------------------------

    def body(self) -> JsonObject:
        assert self._finish is not None
        reason, usage = self._finish
        message: JsonObject = {
            "role": "assistant",
            "content": "".join(self._content) if not self._refusal else None,
            "refusal": "".join(self._refusal) or None,
            "annotations": [],
        }
        if self._call is not None:
            message["tool_calls"] = [self._call]
        choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": reason}
        return {**self._head("chat.completion"), "choices": [choice], "usage": usage_object(usage)}

    # -- chunks ----------------------------------------------------------------------------

    def _role(self, **first: object) -> list[Frame]:
        if self._started:
            return []
        self._started = True
        delta = {"role": "assistant", **first}
        delta.setdefault("refusal", None)
        return [self._frame(delta)]

    def _frame(self, delta: JsonObject) -> Frame:
        return _frame(self._chunk(delta))

    def _chunk(self, delta: JsonObject, finish_reason: str | None = None) -> JsonObject:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        chunk = {**self._head("chat.completion.chunk"), "choices": [choice]}
        if self.turn.include_usage:
            chunk["usage"] = None
        return chunk

    def _head(self, kind: str) -> JsonObject:
        return {
            "id": self.id,
            "object": kind,
            "created": self.created,
            "model": self.turn.model,
            "service_tier": "default",
            "system_fingerprint": FINGERPRINT,
        }


def _frame(data: JsonObject, event: str = "chat.completion.chunk") -> Frame:
    payload = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return Frame(event, f"data: {payload}\n\n".encode())
