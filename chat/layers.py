"""A channel layer that waits out a Redis outage (docs/deploy.md says why this layer, not
channels_redis's pub/sub one).

A consumer that receives from the channel layer dies with its socket (close code 1011) when
`receive` raises, which channels_redis does while Redis restarts. This layer retries instead,
with backoff, so that sockets stay open through a Redis restart; what they missed meanwhile
is control messages only (run frames come through the run's stream, see
`chat.engine.distributed`), and a socket renews its group membership at every heartbeat.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from channels_redis.core import RedisChannelLayer as _RedisChannelLayer
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

_OUTAGE = (RedisConnectionError, RedisTimeoutError, ConnectionError, OSError)
MAX_BACKOFF_SECONDS = 2.0


async def _receive_through_outages(receive: Any, channel: str) -> dict[str, Any]:
    backoff = 0.1
    while True:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise asyncio.CancelledError  # a retried command came back to a cancelled task
        try:
            message: dict[str, Any] = await receive(channel)
            return message
        except _OUTAGE as exc:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise  # a cancelled receive, not an outage
            logger.warning("channel layer: Redis unavailable (%s); retrying", exc)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)


class RedisChannelLayer(_RedisChannelLayer):  # type: ignore[misc]
    async def receive(self, channel: str) -> dict[str, Any]:
        return await _receive_through_outages(super().receive, channel)
