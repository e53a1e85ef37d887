"""What the channel layer benchmark watches and does on Redis: connections held, CPU used, and
the kill of a process's connections."""

from __future__ import annotations

import contextlib
import threading

import psutil
import redis


def redis_connections(proc: psutil.Process, port: int) -> int:
    return sum(1 for c in proc.net_connections("tcp") if c.raddr and c.raddr.port == port)


def redis_cpu(client: redis.Redis) -> float:
    info = client.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


class ConnectionSampler:
    """The most Redis connections each watched process held, sampled in a thread."""

    def __init__(self, pids: list[int], port: int) -> None:
        self.procs = [psutil.Process(pid) for pid in pids]
        self.port = port
        self.peak = [0 for _ in pids]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> ConnectionSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            for i, proc in enumerate(self.procs):
                with contextlib.suppress(psutil.Error):
                    self.peak[i] = max(self.peak[i], redis_connections(proc, self.port))


def kill_connections(client: redis.Redis, pids: list[int], port: int) -> int:
    """Have Redis close every connection these processes hold; how many it closed."""
    addresses = {
        f"{c.laddr.ip}:{c.laddr.port}"
        for pid in pids
        for c in psutil.Process(pid).net_connections("tcp")
        if c.raddr and c.raddr.port == port
    }
    killed = 0
    for entry in client.client_list():
        if entry["addr"] in addresses:
            killed += int(client.client_kill_filter(_id=entry["id"]))
    return killed
