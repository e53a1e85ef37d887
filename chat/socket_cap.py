"""How many sockets each user has open: at most WS_MAX_SOCKETS_PER_USER (a browser tab holds
one per open chat). Without a cap one account could hold hundreds of connections.

With REDIS_URL set the count is shared by every server process: a sorted set per user in
Redis, one entry per socket whose score is when it lapses. A socket renews its entry at every
heartbeat and removes it when it closes; the entry of a socket whose process died lapses after
three heartbeats, so a crash does not leave a user locked out. Without Redis (one process) the
count is this process's. If Redis cannot be reached, sockets are let in (and that is logged):
an outage must not lock everyone out.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections import defaultdict

from django.conf import settings

from chat.fanout import redis as fanout_redis

logger = logging.getLogger(__name__)

# KEYS[1] the user's set; ARGV: now, lapses at, socket, cap, key ttl (ms). 1 when admitted.
_ADMIT = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if not redis.call('ZSCORE', KEYS[1], ARGV[3])
   and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then
  return 0
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1
"""
_open_here: defaultdict[int, set[str]] = defaultdict(set)


async def admit(user_id: int, socket: str) -> bool:
    """Count the socket in, if the user has fewer than the cap open."""
    cap = settings.WS_MAX_SOCKETS_PER_USER
    if not fanout_redis.enabled():
        sockets = _open_here[user_id]
        if socket not in sockets and len(sockets) >= cap:
            return False
        sockets.add(socket)
        return True
    now, lapse = time.time(), _lapse_seconds()
    try:
        args = (now, now + lapse, socket, cap, int(lapse * 1000))
        return bool(await fanout_redis.redis().eval(_ADMIT, 1, _key(user_id), *args))
    except fanout_redis.OUTAGE as exc:
        logger.warning("user %s: socket let in uncounted (%s)", user_id, type(exc).__name__)
        return True


async def renew(user_id: int, socket: str) -> None:
    if not fanout_redis.enabled():
        return
    with contextlib.suppress(*fanout_redis.OUTAGE):  # it lapses; the next heartbeat renews it
        pipe = fanout_redis.redis().pipeline(transaction=False)
        pipe.zadd(_key(user_id), {socket: time.time() + _lapse_seconds()})
        pipe.pexpire(_key(user_id), int(_lapse_seconds() * 1000))
        await pipe.execute()


async def release(user_id: int, socket: str) -> None:
    if not fanout_redis.enabled():
        _open_here[user_id].discard(socket)
        if not _open_here[user_id]:
            del _open_here[user_id]
        return
    with contextlib.suppress(*fanout_redis.OUTAGE):  # then it lapses
        await fanout_redis.redis().zrem(_key(user_id), socket)


def _key(user_id: int) -> str:
    return f"{settings.REDIS_KEY_PREFIX}:user:{user_id}:sockets"


def _lapse_seconds() -> float:
    return 3 * float(settings.WS_HEARTBEAT_SECONDS)
