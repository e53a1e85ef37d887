"""A channel layer that waits out a Redis outage (docs/deploy.md says why this layer, not
channels_redis's pub/sub one).

A consumer that receives from the channel layer dies with its socket (close code 1011) when
`receive` raises, which channels_redis does while Redis restarts. This layer retries instead,
with backoff, so that sockets stay open through a Redis restart; what they missed meanwhile
is control messages only (run frames come through the run's stream, see `chat.fanout.redis`),
and a socket renews its group membership at every heartbeat.
"""

from __future__ import annotations

from typing import Any

from channels_redis.core import RedisChannelLayer as _RedisChannelLayer
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from chat.fanout.redis import retry_through_outages

# Only the failures of an outage: any other error is a bug, and must surface.
_OUTAGE = (RedisConnectionError, RedisTimeoutError, OSError)


class RedisChannelLayer(_RedisChannelLayer):  # type: ignore[misc]
    async def receive(self, channel: str) -> dict[str, Any]:
        receive = super().receive
        message: dict[str, Any] = await retry_through_outages(
            lambda: receive(channel), what="channel layer", errors=_OUTAGE
        )
        return message
