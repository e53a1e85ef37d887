"""The relay benchmark's two relays: the app's logged-in clients, the baseline relay's process,
and a measured load on each."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psutil
import websockets

from bench import harness
from bench.relay_load import Phase, in_batches, measured, message, one_run

# -- the app ------------------------------------------------------------------------------


class AppClients:
    """Logged-in clients, one thread and one open socket per stream."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.http: Any = None
        self.threads: list[int] = []
        self.sockets: list[Any] = []

    async def grow(self, streams: int) -> None:
        self.http = self.http or await harness.login(self.base)
        count = streams - len(self.threads)
        if count <= 0:
            return
        new = await in_batches([self._thread() for _ in range(count)])
        # The socket opens once the thread's first run has ended, so that no frame of it is
        # waiting on the socket when a load starts.
        await in_batches([self._idle(thread_id) for thread_id in new])
        self.sockets += await in_batches([harness.open_socket(self.http, t) for t in new])
        self.threads += new

    async def _thread(self) -> int:
        body = await harness.post_json(self.http, "/api/threads/", {"content": message(1, 1000)})
        return int(body["thread"]["id"])  # type: ignore[index]

    async def _idle(self, thread_id: int) -> None:
        while True:
            runs = (await self.http.get(f"/api/threads/{thread_id}/")).json()["runs"]
            if runs[-1]["status"] in ("completed", "failed", "cancelled", "incomplete"):
                return
            await asyncio.sleep(0.1)

    async def load(self, phase: Phase) -> None:
        await self.grow(phase.streams)
        body: dict[str, object] = {"content": message(phase.tokens, phase.rate)}

        async def client(i: int) -> None:
            path = f"/api/threads/{self.threads[i]}/messages/"
            await asyncio.sleep(phase.offset(i))
            for _ in range(phase.runs):
                await one_run(
                    self.sockets[i], phase, lambda: harness.post_json(self.http, path, body)
                )

        await asyncio.gather(*(client(i) for i in range(phase.streams)))

    async def close(self) -> None:
        await asyncio.gather(*(s.close() for s in self.sockets))
        if self.http is not None:
            await self.http.aclose()


# -- the baseline -------------------------------------------------------------------------


@contextmanager
def baseline(sim_url: str) -> Iterator[tuple[str, psutil.Process]]:
    port = harness.free_port()
    command = [sys.executable, "-m", "bench.baseline_relay", "--port", str(port),
               "--upstream", sim_url]  # fmt: skip
    proc = subprocess.Popen(command, cwd=harness.ROOT, env=dict(os.environ))
    try:
        harness.wait_port(port)
        yield f"ws://127.0.0.1:{port}", psutil.Process(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# -- a measured load on each ---------------------------------------------------------------


async def app_phase(app: AppClients, proc: psutil.Process, phase: Phase) -> Phase:
    await app.grow(phase.streams)
    return await measured(proc, phase, lambda: app.load(phase))


async def baseline_phase(url: str, proc: psutil.Process, phase: Phase) -> Phase:
    """One connection per client, opened before the measured part, as the app's sockets are."""
    connect = lambda: websockets.connect(url, max_size=None, compression=None)  # noqa: E731
    sockets = await in_batches([connect() for _ in range(phase.streams)])
    text = message(phase.tokens, phase.rate)

    async def client(socket: Any, offset: float) -> None:
        await asyncio.sleep(offset)
        for _ in range(phase.runs):
            await one_run(socket, phase, lambda: socket.send(text))

    async def clients() -> None:
        await asyncio.gather(*(client(s, phase.offset(i)) for i, s in enumerate(sockets)))

    await measured(proc, phase, clients)
    await asyncio.gather(*(s.close() for s in sockets))
    return phase
