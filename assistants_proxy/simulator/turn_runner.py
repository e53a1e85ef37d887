"""Streams one turn of a stateless protocol: the script's plan, paced, with the ``/sim``
faults, through the protocol's renderer into the response's channel.

Unlike an Assistants run, a turn has no life beyond its connection (the protocols keep no
runs), so it stops as soon as the client goes away. The protocol-free parts live here;
`chat_wire` and `responses_wire` know what the frames look like.
"""

import time
from dataclasses import dataclass
from typing import Protocol

from assistants_proxy.ids import new_id

from .channel import END, EventChannel, Frame
from .directives import Directives
from .pacing import Pacer, Waker
from .runner import FAILURE_MESSAGE, fault_due
from .script import Plan
from .wire import JsonObject


@dataclass(frozen=True)
class Usage:
    prompt: int
    completion: int
    reasoning: int = 0


class Renderer(Protocol):
    done_frame: bytes

    def start(self) -> list[Frame]: ...
    def reasoning(self, token: str) -> list[Frame]: ...
    def text(self, token: str, *, refusal: bool, stamp: float | None) -> list[Frame]: ...
    def call(self, call_id: str, name: str) -> list[Frame]: ...
    def arguments(self, fragment: str) -> list[Frame]: ...
    def finish(self, reason: str, usage: Usage) -> list[Frame]: ...
    def error(self, message: str) -> list[Frame]: ...
    def fail(self, message: str) -> list[Frame]: ...
    def malformed(self) -> Frame: ...
    def body(self) -> JsonObject: ...


class _Gone(Exception):
    """The client disconnected, or a fault ended the stream."""


class TurnRunner:
    def __init__(
        self,
        plan: Plan,
        directives: Directives,
        renderer: Renderer,
        channel: EventChannel,
        *,
        prompt_tokens: int,
        max_tokens: int | None,
        rate: float,
        first_token_delay: float,
    ) -> None:
        self.plan, self.directives, self.renderer = plan, directives, renderer
        self.channel = channel
        self.prompt_tokens, self.max_tokens = prompt_tokens, max_tokens
        self.pacer = Pacer(directives.rate or rate, Waker())
        self.first_token_delay = directives.first_token_delay or first_token_delay
        self.completion = 0

    async def run(self) -> None:
        try:
            await self._run()
        except _Gone:
            pass
        finally:
            self.channel.put(END)

    async def _run(self) -> None:
        self._put(self.renderer.start())
        for token in self.plan.reasoning:
            await self._tick()
            self._token(self.renderer.reasoning(token))
        if self.plan.function_call is not None:
            await self._call()
            return
        await self._text()

    async def _call(self) -> None:
        call = self.plan.function_call
        assert call is not None
        await self._tick()
        self._put(self.renderer.call(new_id("call"), call.name))
        for fragment in call.fragments:
            await self._tick()
            self._token(self.renderer.arguments(fragment))
        self._put(self.renderer.finish("tool_calls", self._usage()))

    async def _text(self) -> None:
        tokens, reason = limit(self.plan.tokens, self.max_tokens)
        await self._pause(self.first_token_delay)
        for index, token in enumerate(tokens):
            await self._faults(index, len(tokens))
            await self._tick()
            stamp = time.time() if self.directives.stamp else None  # for latency benchmarks
            self._token(self.renderer.text(token, refusal=self.plan.refusal, stamp=stamp))
        await self._faults(len(tokens), len(tokens))
        self._put(self.renderer.finish(reason, self._usage()))

    async def _faults(self, index: int, total: int) -> None:
        directives = self.directives
        if directives.stall is not None and index == total // 2:
            await self._pause(directives.stall)
        if fault_due(directives.malformed, index, total):
            self.channel.put(self.renderer.malformed())
        if fault_due(directives.error_event, index, total):
            self._put(self.renderer.error(FAILURE_MESSAGE))
            raise _Gone
        if fault_due(directives.fail, index, total):
            self._put(self.renderer.fail("Sorry, something went wrong."))
            raise _Gone

    def _usage(self) -> Usage:
        reasoning = len(self.plan.reasoning)
        return Usage(self.prompt_tokens, self.completion, reasoning)

    def _put(self, frames: list[Frame]) -> None:
        for frame in frames:
            self.channel.put(frame)

    def _token(self, frames: list[Frame]) -> None:
        self._put(frames)
        self.completion += 1

    async def _tick(self) -> None:
        if not self.channel.attached:
            raise _Gone
        await self.pacer.tick()

    async def _pause(self, seconds: float) -> None:
        if seconds > 0:
            await self.pacer.pause(seconds)


def limit(tokens: tuple[str, ...], max_tokens: int | None) -> tuple[tuple[str, ...], str]:
    """The tokens a `max_tokens` cap lets through, and the finish reason that results."""
    if max_tokens is not None and len(tokens) > max_tokens:
        return tokens[:max_tokens], "length"
    return tokens, "stop"
