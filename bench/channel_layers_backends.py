"""The two channels_redis layers the benchmark compares: how one is made, closed and cleaned up,
and the phases its messages are sent in."""

from __future__ import annotations

from typing import Any

# channels_redis' own classes. The app wraps their receive() (chat/layers.py) to retry through
# a Redis outage instead of raising into the consumer; here a receiver counts what raised
# (`reconnect_receive_errors`) and carries on, which is what that wrapper does.
LAYERS = {
    "RedisChannelLayer": "channels_redis.core.RedisChannelLayer",
    "RedisPubSubChannelLayer": "channels_redis.pubsub.RedisPubSubChannelLayer",
}
# What config/settings.py passes to RedisChannelLayer; the pub/sub layer has no such knobs.
CORE_CONFIG = {"capacity": 1500, "expiry": 60}
PHASES = ("latency", "burst", "reconnect")
END = "bench.end"
# A receiver gives up on a phase this long after its last delivery: lost messages must not
# hang the benchmark.
SILENCE_TIMEOUT = 10.0


def make_layer(backend: str, url: str, prefix: str) -> Any:
    module_name, _, class_name = LAYERS[backend].rpartition(".")
    module = __import__(module_name, fromlist=[class_name])
    config: dict[str, Any] = {"hosts": [url], "prefix": prefix}
    if backend == "RedisChannelLayer":
        config.update(CORE_CONFIG)
    return getattr(module, class_name)(**config)


async def close(layer: Any) -> None:
    # Not RedisChannelLayer.flush(): that deletes every key of the prefix, including the
    # messages other processes have not received yet.
    if hasattr(layer, "close_pools"):
        await layer.close_pools()
    else:
        await layer.flush()  # the pub/sub layer keeps nothing in Redis: this only unsubscribes


async def delete_keys(backend: str, url: str, prefix: str) -> None:
    if backend == "RedisChannelLayer":
        await make_layer(backend, url, prefix).flush()
