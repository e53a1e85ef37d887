"""Waiting out a Redis outage (`chat.fanout.redis.retry_through_outages`): a task cancelled
while its command fails ends as cancelled, not with the command's error."""

from __future__ import annotations

import asyncio

import pytest
from redis.exceptions import TimeoutError as RedisTimeoutError

from chat.fanout.redis import retry_through_outages


async def a_read_that_fails_when_cancelled() -> None:
    # As redis-py's read may end when the task is cancelled while its socket timeout runs.
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError:
        raise RedisTimeoutError("Timeout reading from 127.0.0.1:6379") from None


async def test_a_cancelled_command_ends_its_task_as_cancelled() -> None:
    task = asyncio.ensure_future(
        retry_through_outages(a_read_that_fails_when_cancelled, what="test")
    )
    await asyncio.sleep(0.01)
    task.cancel()
    # Channels awaits a consumer's cancelled receive and lets only CancelledError pass.
    with pytest.raises(asyncio.CancelledError):
        await task
