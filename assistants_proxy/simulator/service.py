"""The simulator's operations, free of HTTP: create threads, messages and runs, resume runs
with tool outputs, cancel them. Handlers translate requests into these calls.

Every run executes in its own asyncio task whatever the request asked for: ``stream: true``
attaches an `EventChannel` the response relays, ``stream: false`` attaches nothing. So a
dropped or closed connection never stops a run, and the store ends authoritative.
"""

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from . import bodies, wire
from .channel import EventChannel, Frame
from .directives import parse_directives
from .errors import BadRequest, InjectedFailure, context_exceeded
from .runner import Runner
from .script import estimate_prompt_tokens, plan_reply
from .settings import Settings
from .store import RunRecord, Store
from .wire import JsonObject


@dataclass
class Simulator:
    settings: Settings = field(default_factory=Settings)
    store: Store = field(default_factory=Store)
    tasks: "set[asyncio.Task[None]]" = field(default_factory=set)

    # -- threads and messages ------------------------------------------------------------

    def create_thread(self, body: JsonObject) -> JsonObject:
        messages = bodies.new_messages(body, "messages")
        thread = self.store.add_thread(wire.thread(metadata=bodies.object_field(body, "metadata")))
        for message in messages:
            self._add_message(thread["id"], message)
        return thread

    def create_message(self, thread_id: str, body: JsonObject) -> JsonObject:
        self.store.thread(thread_id)
        message = bodies.new_message(body)
        self.store.ensure_idle(thread_id, "add messages to")
        return self._add_message(thread_id, message)

    def _add_message(self, thread_id: str, new: bodies.NewMessage) -> JsonObject:
        message = wire.message(
            thread_id=thread_id, role=new.role, text=new.text, run_id=None, assistant_id=None
        )
        message["metadata"] = new.metadata
        return self.store.add_message(message)

    # -- runs ----------------------------------------------------------------------------

    def create_thread_and_run(self, body: JsonObject, channel: EventChannel) -> RunRecord:
        thread_body = bodies.object_field(body, "thread")
        messages = bodies.new_messages(thread_body, "messages")
        self.inject_failure(_last_user_text(m.text for m in messages if m.role == "user"))
        self.store.assistant(bodies.string_field(body, "assistant_id"))
        thread = self.create_thread(thread_body)
        channel.put(Frame("thread.created", wire.frame("thread.created", thread)))
        return self._start_run(thread["id"], body, channel)

    def create_run(self, thread_id: str, body: JsonObject, channel: EventChannel) -> RunRecord:
        self.store.thread(thread_id)
        extra = bodies.new_messages(body, "additional_messages")
        self.store.assistant(bodies.string_field(body, "assistant_id"))
        self.store.ensure_idle(thread_id, "create a run on")
        texts = [m.text for m in extra if m.role == "user"] or self._user_texts(thread_id)
        self.inject_failure(_last_user_text(texts))
        for message in extra:
            self._add_message(thread_id, message)
        return self._start_run(thread_id, body, channel)

    def _start_run(self, thread_id: str, body: JsonObject, channel: EventChannel) -> RunRecord:
        assistant = self.store.assistant(body["assistant_id"])
        run = wire.run(thread_id=thread_id, assistant=assistant, params=body)
        directives, text = parse_directives(_last_user_text(self._user_texts(thread_id)))
        plan = plan_reply(
            text,
            tokens=directives.tokens,
            code=directives.code,
            default_tokens=self.settings.default_tokens,
            refuse=directives.refuse,
            nul=directives.nul,
        )
        prompt = self._prompt_tokens(thread_id, run)
        if directives.context is not None and prompt > directives.context:
            raise context_exceeded(directives.context, prompt)
        record = self.store.add_run(RunRecord(run, text, directives, plan, prompt))
        self.launch(self._runner(record, channel).start())
        return record

    def submit_tool_outputs(
        self, thread_id: str, run_id: str, body: JsonObject, channel: EventChannel
    ) -> RunRecord:
        record = self.store.run(thread_id, run_id)
        outputs = bodies.tool_outputs(body)
        _check_outputs(record, outputs)
        record.plan = plan_reply(record.user_text, tool_outputs=tuple(outputs.values()))
        self.launch(self._runner(record, channel).resume(outputs))
        return record

    def cancel_run(self, thread_id: str, run_id: str) -> JsonObject:
        record = self.store.run(thread_id, run_id)
        if not record.active:
            status = record.run["status"]
            raise BadRequest(f"Cannot cancel run with status '{status}'.", param="run_id")
        record.cancel_requested = True
        if record.run["status"] == "requires_action":
            return _cancel_paused(record)
        record.run["status"] = "cancelling"
        record.waker.wake()  # the runner finishes the cancellation within one token
        return dict(record.run)

    # -- helpers -------------------------------------------------------------------------

    def _runner(self, record: RunRecord, channel: EventChannel) -> Runner:
        settings = self.settings
        return Runner(
            record,
            self.store,
            channel,
            rate=settings.rate,
            first_token_delay=settings.first_token_delay,
        )

    def launch(self, work: Coroutine[Any, Any, None]) -> None:
        # Keep a reference: the event loop holds tasks only weakly.
        task = asyncio.get_running_loop().create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def _user_texts(self, thread_id: str) -> list[str]:
        messages = self.store.thread_messages(thread_id)
        return [_message_text(m) for m in messages if m["role"] == "user"]

    def _prompt_tokens(self, thread_id: str, run: JsonObject) -> int:
        texts = [_message_text(m) for m in self.store.thread_messages(thread_id)]
        return estimate_prompt_tokens(texts, run["instructions"], run["tools"] or [])

    def inject_failure(self, text: str) -> None:
        """``/sim status=429 times=K``: fail the first K attempts with this exact message."""
        directives, _ = parse_directives(text)
        if directives.status is None:
            return
        self.store.attempts[text] += 1
        if directives.times is None or self.store.attempts[text] <= directives.times:
            raise InjectedFailure(directives.status)

    async def shutdown(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


def _message_text(message: JsonObject) -> str:
    return "".join(part["text"]["value"] for part in message["content"] if part["type"] == "text")


def _last_user_text(texts: Any) -> str:
    texts = list(texts)
    return texts[-1] if texts else ""


def _check_outputs(record: RunRecord, outputs: dict[str, str]) -> None:
    status = record.run["status"]
    if status != "requires_action":
        raise BadRequest(f'Runs in status "{status}" do not accept tool outputs.', param="run_id")
    action = record.run["required_action"]["submit_tool_outputs"]["tool_calls"]
    missing = [call["id"] for call in action if call["id"] not in outputs]
    if missing:
        raise BadRequest(f"Expected tool outputs for call_ids {missing}.", param="tool_outputs")


def _cancel_paused(record: RunRecord) -> JsonObject:
    """A run waiting for tool outputs has no task to stop: cancel it on the spot."""
    answer = dict(record.run, status="cancelling")
    now = wire.now()
    for step in record.steps:
        if step["status"] == "in_progress":
            step.update(status="cancelled", cancelled_at=now)
    record.run.update(status="cancelled", cancelled_at=now, expires_at=None, required_action=None)
    return answer
