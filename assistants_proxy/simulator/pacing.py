"""Token pacing against a monotonic schedule, with a sleep that cancellation can cut short.

Token i of a reply is due at ``start + i / rate``. Sleeping ``1 / rate`` after each token
would add every scheduling delay to all later tokens; with hundreds of concurrent streams
that drift is easily 10 %. Against a schedule a late token is followed by on-time ones.
"""

import asyncio


class Waker:
    """Sleeps until a loop-clock deadline unless `wake` is called first (run cancelled)."""

    def __init__(self) -> None:
        self._future: asyncio.Future[None] | None = None
        self.woken = False

    async def sleep_until(self, deadline: float) -> None:
        if self.woken:
            return
        loop = asyncio.get_running_loop()
        self._future = future = loop.create_future()
        timer = loop.call_at(deadline, _resolve, future)
        try:
            await future
        finally:
            timer.cancel()
            self._future = None

    async def sleep(self, seconds: float) -> None:
        await self.sleep_until(asyncio.get_running_loop().time() + seconds)

    def wake(self) -> None:
        self.woken = True
        if self._future is not None:
            _resolve(self._future)


def _resolve(future: "asyncio.Future[None]") -> None:
    if not future.done():
        future.set_result(None)


class Pacer:
    """Hands out the due times of successive tokens at `rate` per second."""

    def __init__(self, rate: float, waker: Waker) -> None:
        self.interval = 1.0 / rate
        self.waker = waker
        self._due: float | None = None

    async def tick(self) -> None:
        """Wait for the next token's slot; the first token is due at once."""
        now = asyncio.get_running_loop().time()
        if self._due is None:
            self._due = now
        if self._due > now:
            await self.waker.sleep_until(self._due)
        self._due += self.interval

    async def pause(self, seconds: float) -> None:
        """Go silent for `seconds`, then resume the schedule without a burst of late tokens."""
        await self.waker.sleep(seconds)
        if self._due is not None:
            self._due = max(self._due, asyncio.get_running_loop().time())
