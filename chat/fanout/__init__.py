"""Run logs and their delivery to sockets: in memory (`runlog.Hub`), or across processes
through Redis (`redis_hub.DistributedHub`). Imports nothing else from `chat`."""

from __future__ import annotations

from chat.fanout import redis
from chat.fanout.redis_hub import DistributedHub
from chat.fanout.runlog import Hub


def make_hub() -> Hub:
    """This process's hub: the distributed one when REDIS_URL is set."""
    return DistributedHub() if redis.enabled() else Hub()
