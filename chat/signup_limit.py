"""Sign-ups per address: at most SIGNUPS_PER_HOUR new accounts from one address in a clock
hour. Without it, new accounts were a way around every per-user limit (RUNS_PER_MINUTE).

Counted in Django's cache: Redis when REDIS_URL is set, so every process shares the count;
the process's memory otherwise (one process). The count goes up before the account is made,
so two sign-ups at once cannot both take the last place. When the cache cannot be reached,
sign-ups go on (and the failure is logged): a Redis outage must not close the site to new users.
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from redis.exceptions import RedisError

from config.client_ip import client_ip

logger = logging.getLogger(__name__)
WINDOW_SECONDS = 3600


def take_signup_place(request: HttpRequest) -> int | None:
    """None when this address may make another account now; else the seconds to wait."""
    now = time.time()
    window = int(now // WINDOW_SECONDS)
    key = f"{settings.REDIS_KEY_PREFIX}:signups:{client_ip(request)}:{window}"
    try:
        cache.add(key, 0, timeout=WINDOW_SECONDS)
        taken = cache.incr(key)
    except (RedisError, OSError) as exc:
        logger.warning("sign-up limit not applied, the cache failed: %s", type(exc).__name__)
        return None
    if taken <= settings.SIGNUPS_PER_HOUR:
        return None
    return max(1, int((window + 1) * WINDOW_SECONDS - now))
