"""The queue of SSE frames between a run (producer) and one HTTP response (consumer).

A run is not its connection: it keeps going when the client disconnects or the simulator
drops the connection on purpose, so the store ends with the authoritative final state. The
consumer side can therefore vanish; `detach` makes later frames go nowhere instead of
piling up in memory.
"""

import asyncio
from typing import NamedTuple


class Frame(NamedTuple):
    event: str
    payload: bytes


END = Frame("<end>", b"")  # the run's part of this HTTP stream is over: send done, close
GONE = Frame("<gone>", b"")  # the client went away: stop relaying


class EventChannel:
    def __init__(self) -> None:
        self._queue: asyncio.Queue[Frame] = asyncio.Queue()
        self.attached = True

    def put(self, frame: Frame) -> None:
        if self.attached:
            self._queue.put_nowait(frame)

    async def get(self) -> Frame:
        return await self._queue.get()

    def interrupt(self) -> None:
        """Wake the consumer because the client disconnected."""
        self._queue.put_nowait(GONE)

    def detach(self) -> None:
        self.attached = False


class NullChannel(EventChannel):
    """For runs created with ``stream: false``: the run executes, nobody listens."""

    def __init__(self) -> None:
        super().__init__()
        self.attached = False
