"""`TranslatedStream`: one HTTP stream of a stateless protocol, read as Assistants v2 events.

Opening it sends the request (retried, as the Assistants client does, only before anything
was read: an HTTP error surfaces as `HTTPStatusError` from `async with`). Iterating yields
the run's opening events, then whatever the protocol's translator makes of each server-sent
event, and always ends with `done`, like an Assistants stream:

- at the translator's terminal event (completed, incomplete, failed, requires_action);
- at a cancel (`cancel_run` closes the response, which wakes a read waiting for the next
  chunk at once): `thread.run.cancelling`, the partial message as incomplete, cancelled;
- at the end of the bytes without a terminal event: `thread.run.failed` (a server that
  closes a stream cleanly mid-reply would otherwise leave the run open forever).

A stall or a broken connection still raises (`StallError`, `TransportError`), as with the
Assistants client, so the caller's handling is the same whatever the protocol.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from types import TracebackType
from typing import Protocol

from assistants_proxy.client import SSERequest, skip_malformed
from assistants_proxy.errors import MalformedEventError, TransportError
from assistants_proxy.events import DoneEvent, StreamEvent
from assistants_proxy.sse import ServerSentEvent
from assistants_proxy.upstreams.builder import Events, RunBuilder
from assistants_proxy.upstreams.state import RunRegistry, RunState

STREAM_ENDED = {
    "code": "stream_ended",
    # Shown to users as is: one plain sentence, like every error a run reports.
    "message": "The model's answer stopped before it was finished. Try again.",
}


class Translator(Protocol):
    builder: RunBuilder

    def feed(self, sse: ServerSentEvent) -> Events: ...

    def end(self) -> Events: ...


class TranslatedStream:
    def __init__(
        self,
        request: SSERequest,
        state: RunState,
        translator: Translator,
        *,
        opening: Callable[[RunBuilder], Events],
        registry: RunRegistry,
    ) -> None:
        self._request = request
        self._state = state
        self._translator = translator
        self._opening = opening
        self._registry = registry
        self._opened = False
        self.skipped_events = 0  # malformed events passed over

    async def __aenter__(self) -> TranslatedStream:
        await self._request.open()
        self._opened = True
        self._state.live = self._request
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._state.live is self._request:
            self._state.live = None
        await self._request.aclose()
        # Only a run waiting for tool outputs is continued later; any other is over.
        if self._state.run.get("status") != "requires_action":
            self._registry.drop(self._state.id)

    def __aiter__(self) -> AsyncIterator[StreamEvent]:
        return self._events()

    async def _events(self) -> AsyncIterator[StreamEvent]:
        if not self._opened:
            raise RuntimeError("use `async with` before iterating the stream")
        builder = self._translator.builder
        for event in self._opening(builder):
            yield event
        async for event in self._translated(builder):
            yield event
        if not builder.finished:
            for event in self._ending(builder):
                yield event
        yield DoneEvent()

    async def _translated(self, builder: RunBuilder) -> AsyncIterator[StreamEvent]:
        try:
            async for sse in self._request.events():
                if self._state.cancel_requested:
                    return
                try:
                    events = self._translator.feed(sse)
                except MalformedEventError as exc:
                    self.skipped_events += skip_malformed(exc)
                    continue
                if builder.finished:
                    self._request.finished = True  # the rest of the body can be read
                for event in events:
                    yield event
                if builder.finished:
                    return
        except TransportError:
            if not self._state.cancel_requested:
                raise  # a cancel closes the response under the read: that is no failure

    def _ending(self, builder: RunBuilder) -> Events:
        if self._state.cancel_requested:
            return builder.cancel()
        return self._translator.end()
