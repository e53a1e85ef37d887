"""Executes a run: emits its Assistants v2 events in the seed's order, paced, and keeps the
store's objects in step with what was emitted.

One `Runner` covers one HTTP stream of a run: `start` goes from ``thread.run.created`` to
completion or to ``thread.run.requires_action``; `resume` continues after tool outputs,
opening with the tool step's ``thread.run.step.completed`` as OpenAI's streams do. Faults
asked for by ``/sim`` directives (stall, malformed frame, error event, failure) happen at a
delta position; cancellation is checked at every token.
"""

import logging
import time
from collections.abc import Awaitable, Callable

from assistants_proxy.ids import new_id

from . import wire
from .channel import END, EventChannel, Frame
from .directives import MIDWAY
from .pacing import Pacer
from .script import CodeCall, FunctionCall
from .store import RunRecord, Store
from .tokens import count_tokens
from .wire import JsonObject

logger = logging.getLogger(__name__)

FAILURE_MESSAGE = "The server had an error while processing your request (simulated)."


class RunCancelled(Exception):
    """A cancel request reached the run; unwinds to `Runner._cancelled`."""


class RunStopped(Exception):
    """The run already emitted its own terminal events (failure, error event)."""


class Runner:
    def __init__(
        self,
        record: RunRecord,
        store: Store,
        channel: EventChannel,
        *,
        rate: float,
        first_token_delay: float,
    ) -> None:
        self.record, self.store, self.channel = record, store, channel
        self.run = record.run
        self.pacer = Pacer(record.directives.rate or rate, record.waker)
        self.first_token_delay = record.directives.first_token_delay or first_token_delay
        self.step: JsonObject | None = None  # the step in flight
        self.message: JsonObject | None = None  # the assistant message in flight
        self.completion_tokens = 0  # tokens of the step in flight, for partial usage

    async def start(self) -> None:
        await self._guard(self._start)

    async def resume(self, outputs: dict[str, str]) -> None:
        await self._guard(lambda: self._resume(outputs))

    async def _guard(self, body: Callable[[], Awaitable[None]]) -> None:
        try:
            await body()
        except RunCancelled:
            self._cancelled()
        except RunStopped:
            pass
        except Exception:  # a bug must not leave the run (and its thread) active forever
            logger.exception("simulated run %s crashed", self.record.id)
            self._fail(FAILURE_MESSAGE)
        finally:
            self.channel.put(END)

    # -- the flows ---------------------------------------------------------------------

    async def _start(self) -> None:
        self.emit("thread.run.created", self.run)
        self.emit("thread.run.queued", self.run)
        self._check_cancel()
        self._set_run_status("in_progress", started_at=wire.now())
        plan = self.record.plan
        if plan.code is not None:
            await self._code_step(plan.code)
        if plan.function_call is not None:
            await self._function_step(plan.function_call)
            return
        await self._message_step(self.record.prompt_tokens)
        self._complete()

    async def _resume(self, outputs: dict[str, str]) -> None:
        step = self.record.steps[-1]
        call = step["step_details"]["tool_calls"][0]
        call["function"]["output"] = outputs[call["id"]]
        arguments = len(wire_fragments(call))
        self.step, self.completion_tokens = step, arguments
        self._close_step("completed", self.record.prompt_tokens)
        self.run["required_action"] = None
        self._set_run_status("queued")
        self._set_run_status("in_progress")
        await self._message_step(self.record.prompt_tokens + arguments + _output_cost(outputs))
        self._complete()

    # -- steps -------------------------------------------------------------------------

    async def _code_step(self, code: CodeCall) -> None:
        call_id = new_id("call")
        self._open_step(wire.tool_calls([]))
        self._code_delta({"id": call_id, "code_interpreter": {"input": "", "outputs": []}})
        for fragment in code.fragments:
            await self._tick()
            self._code_delta({"code_interpreter": {"input": fragment}})
            self.completion_tokens += 1
        logs = {"index": 0, "type": "logs", "logs": code.logs}
        self._code_delta({"code_interpreter": {"outputs": [logs]}})
        self._step_details(wire.tool_calls([wire.code_call(call_id, code.input, code.logs)]))
        self._close_step("completed", self.record.prompt_tokens)

    async def _function_step(self, call: FunctionCall) -> None:
        call_id = new_id("call")
        self._open_step(wire.tool_calls([]))
        await self._tick()
        first = {"name": call.name, "arguments": "", "output": None}
        self._function_delta({"id": call_id, "function": first})
        for fragment in call.fragments:
            await self._tick()
            self._function_delta({"function": {"arguments": fragment}})
            self.completion_tokens += 1
        calls = [wire.function_call(call_id, call.name, call.arguments, None)]
        self._step_details(wire.tool_calls(calls))
        # The step stays in progress while the run waits, as in OpenAI's captures.
        self.run["required_action"] = wire.required_action(call_id, call.name, call.arguments)
        self._set_run_status("requires_action")

    async def _message_step(self, prompt_tokens: int) -> None:
        message = self._open_message()
        self._open_step(wire.message_creation(message["id"]))
        self.emit("thread.message.created", message)
        self.emit("thread.message.in_progress", message)
        await self._pause(self.first_token_delay)
        tokens = self.record.plan.tokens
        for index, token in enumerate(tokens):
            await self._faults(index, len(tokens))
            await self._tick()
            self._text_delta(token, first=index == 0)
        await self._faults(len(tokens), len(tokens))
        self._finish_message("completed")
        self._close_step("completed", prompt_tokens)

    # -- faults ------------------------------------------------------------------------

    async def _faults(self, index: int, total: int) -> None:
        directives = self.record.directives
        if directives.stall is not None and index == total // 2:
            await self._pause(directives.stall)
        if fault_due(directives.malformed, index, total):
            self.channel.put(Frame("malformed", _malformed_frame(self.message)))
        if fault_due(directives.error_event, index, total):
            self.emit("error", wire.error_event(FAILURE_MESSAGE))
            self._fail(FAILURE_MESSAGE, announce=False)
            raise RunStopped
        if fault_due(directives.fail, index, total):
            self._fail("Sorry, something went wrong.")
            raise RunStopped

    # -- terminal states -----------------------------------------------------------------

    def _complete(self) -> None:
        self._end_run("completed", completed_at=wire.now())

    def _cancelled(self) -> None:
        self._set_run_status("cancelling")
        self._finish_message("incomplete", reason="run_cancelled")
        self._close_step("cancelled", self.record.prompt_tokens)
        self._end_run("cancelled", cancelled_at=wire.now())

    def _fail(self, message: str, *, announce: bool = True) -> None:
        error = {"code": "server_error", "message": message}
        self._finish_message("incomplete", reason="run_failed", announce=announce)
        self._close_step("failed", self.record.prompt_tokens, error, announce=announce)
        self._end_run("failed", announce=announce, failed_at=wire.now(), last_error=error)

    def _end_run(self, status: str, *, announce: bool = True, **fields: object) -> None:
        self.run.update(fields, expires_at=None, usage=self._run_usage())
        self._set_run_status(status, announce=announce)

    def _run_usage(self) -> JsonObject:
        usages = [step["usage"] for step in self.record.steps if step["usage"]]
        prompt = sum(usage["prompt_tokens"] for usage in usages)
        completion = sum(usage["completion_tokens"] for usage in usages)
        return wire.usage(prompt, completion)

    # -- object updates, each followed by its event --------------------------------------

    def _set_run_status(self, status: str, *, announce: bool = True, **fields: object) -> None:
        self.run.update(fields, status=status)
        if announce:
            self.emit(f"thread.run.{status}", self.run)

    def _open_step(self, details: JsonObject) -> None:
        self.step = wire.step(run=self.run, details=details)
        self.completion_tokens = 0
        self.record.steps.append(self.step)
        self.emit("thread.run.step.created", self.step)
        self.emit("thread.run.step.in_progress", self.step)

    def _step_details(self, details: JsonObject) -> None:
        assert self.step is not None
        self.step["step_details"] = details

    def _close_step(
        self,
        status: str,
        prompt_tokens: int,
        error: JsonObject | None = None,
        announce: bool = True,
    ) -> None:
        step, self.step = self.step, None
        if step is None:
            return
        stamp = "completed_at" if status == "completed" else f"{status}_at"
        step.update(
            {stamp: wire.now()},
            status=status,
            last_error=error,
            usage=wire.usage(prompt_tokens, self.completion_tokens),
        )
        if announce:
            self.emit(f"thread.run.step.{status}", step)

    def _open_message(self) -> JsonObject:
        message = wire.message(
            thread_id=self.run["thread_id"],
            role="assistant",
            text="",
            run_id=self.run["id"],
            assistant_id=self.run["assistant_id"],
        )
        self.message = self.store.add_message(message)
        return message

    def _finish_message(self, status: str, reason: str = "", announce: bool = True) -> None:
        message, self.message = self.message, None
        if message is None:
            return
        stamp = "completed_at" if status == "completed" else "incomplete_at"
        message.update({stamp: wire.now()}, status=status)
        message["incomplete_details"] = {"reason": reason} if reason else None
        if not message["content"]:
            message["content"] = wire.text_content("")
        if announce:
            self.emit(f"thread.message.{status}", message)

    # -- deltas ------------------------------------------------------------------------

    def _text_delta(self, token: str, *, first: bool) -> None:
        assert self.message is not None
        data = wire.text_delta(self.message["id"], token, first=first)
        if self.record.directives.stamp:
            data["sim_emitted_at"] = time.time()  # read by the latency benchmark
        self.emit("thread.message.delta", data)
        self._append_text(self.message, token)
        self.completion_tokens += 1

    @staticmethod
    def _append_text(message: JsonObject, token: str) -> None:
        # Kept current so that a GET during the stream shows the text so far.
        if message["content"]:
            message["content"][0]["text"]["value"] += token
        else:
            message["content"] = wire.text_content(token)

    def _code_delta(self, fields: JsonObject) -> None:
        self._step_delta({"index": 0, "type": "code_interpreter", **fields})

    def _function_delta(self, fields: JsonObject) -> None:
        self._step_delta({"index": 0, "type": "function", **fields})

    def _step_delta(self, call: JsonObject) -> None:
        assert self.step is not None
        self.emit("thread.run.step.delta", wire.step_delta(self.step["id"], call))

    def emit(self, event: str, data: JsonObject) -> None:
        self.channel.put(Frame(event, wire.frame(event, data)))

    # -- time ----------------------------------------------------------------------------

    async def _tick(self) -> None:
        await self.pacer.tick()
        self._check_cancel()

    async def _pause(self, seconds: float) -> None:
        if seconds > 0:
            await self.pacer.pause(seconds)
        self._check_cancel()

    def _check_cancel(self) -> None:
        if self.record.cancel_requested:
            raise RunCancelled


def fault_due(position: int | None, index: int, total: int) -> bool:
    """Whether a fault at `position` (a delta count, or MIDWAY) fires before delta `index`."""
    if position is None:
        return False
    return index == (total // 2 if position == MIDWAY else min(position, total))


def _malformed_frame(message: JsonObject | None) -> bytes:
    # A delta cut off mid-JSON, as a crashing proxy might send it; it carries no text, so a
    # tolerant client that skips it still ends with the right message.
    message_id = message["id"] if message else "msg_"
    return (
        f'event: thread.message.delta\ndata: {{"id":"{message_id}","object":'
        '"thread.message.delta","delta":{"content":[{"index":0,"type":"text","text":\n\n'
    ).encode()


def wire_fragments(call: JsonObject) -> list[str]:
    return FunctionCall(call["function"]["name"], call["function"]["arguments"]).fragments


def _output_cost(outputs: dict[str, str]) -> int:
    return sum(count_tokens(output) + 4 for output in outputs.values())
