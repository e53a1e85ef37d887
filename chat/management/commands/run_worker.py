"""`manage.py run_worker`: execute runs that web processes queue (RUN_EXECUTION=worker).

Start any number of them beside any number of daphne processes, all on the same Redis and
database. Each takes runs from the queue, streams them to Redis (where every web process can
relay them), holds a lease on each while it does, and settles runs left by a worker that died.
SIGTERM stops taking runs and waits for the ones in progress (a second SIGTERM exits at once:
their leases then run out and another worker settles them).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError
from redis.exceptions import RedisError

from chat.fanout import redis
from chat.models import Run
from chat.runs import get_engine
from chat.runs.leases import RunHost
from config.collector import settle_collector

logger = logging.getLogger("chat.worker")


async def _check() -> None:
    try:
        await redis.redis().ping()
        await Run.objects.aexists()
    except (RedisError, OSError, DatabaseError) as exc:
        raise CommandError(f"not ready: {exc}") from exc


class Command(BaseCommand):
    help = "Execute queued runs (RUN_EXECUTION=worker, needs REDIS_URL)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--grace",
            type=float,
            default=None,
            help="on SIGTERM, seconds to wait for runs in progress (default: until they end)",
        )
        parser.add_argument(
            "--check",
            action="store_true",
            help="only check that Redis and the database answer (exit status 0), then exit",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.REDIS_URL:
            raise CommandError("run_worker needs REDIS_URL: runs reach workers through Redis")
        if options["check"]:
            asyncio.run(_check())
            self.stdout.write("ok: Redis and the database answer")
            return
        settle_collector()  # as in the server: a full collection pauses every run's stream
        asyncio.run(self._serve(options["grace"]))

    async def _serve(self, grace: float | None) -> None:
        engine = get_engine()
        engine.is_worker = True
        host = RunHost(engine, consume_queue=True)
        host.start()
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()

        def on_signal() -> None:
            if stopping.is_set():
                logger.warning("second signal: exiting now; leases will be taken over")
                os._exit(1)
            stopping.set()

        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, on_signal)
        logger.info("run worker %s started", host.name)
        self.stdout.write(f"run worker {host.name} ready", ending="\n")
        self.stdout.flush()
        await stopping.wait()
        logger.info("run worker %s stopping: %d run(s) in progress", host.name, len(engine.tasks))
        await host.stop(grace=grace)
