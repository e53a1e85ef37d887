"""A continued reply (`Run.continues`) starts with the text it goes on from.

The upstream is sent that text as the start of its answer and streams only the rest. So that
the accumulator, the checkpoints, the final save and every tab hold the whole reply, the
relay adds one delta with the old text when the reply's message opens, and puts the old text
back in front of the message's final object, which the upstream fills with the rest alone.
"""

from __future__ import annotations

import copy

from assistants_proxy.events import StreamEvent, make_event

_DONE = ("thread.message.completed", "thread.message.incomplete")


class Prefill:
    def __init__(self, text: str) -> None:
        self.text = text
        self.message_id: str | None = None  # the reply that starts with it, once opened

    def opening(self, event: StreamEvent) -> StreamEvent | None:
        """After the reply's `thread.message.created`: the delta with the old text."""
        if not self.text or self.message_id is not None:
            return None
        if event.name != "thread.message.created" or event.data.get("role") == "user":
            return None
        self.message_id = str(event.data.get("id", ""))
        part = {"index": 0, "type": "text", "text": {"value": self.text}}
        data = {"id": self.message_id, "object": "thread.message.delta"}
        return make_event("thread.message.delta", {**data, "delta": {"content": [part]}})

    def whole(self, event: StreamEvent) -> StreamEvent:
        """The reply's final object with the old text in front of the upstream's."""
        if event.name not in _DONE or event.data.get("id") != self.message_id:
            return event
        data = copy.deepcopy(event.data)
        texts = [p for p in data.get("content") or [] if isinstance(p, dict) and "text" in p]
        if not texts:
            return event  # no content: the accumulator keeps what the deltas built
        text = texts[0]["text"]
        text["value"] = self.text + str(text.get("value") or "")
        return make_event(event.name, data)
