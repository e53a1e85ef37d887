"""A thread's title from its first exchange, asked of the thread's assistant once the first
reply has ended, in a cheap, separate, non-streamed request (`assistants_proxy.titles`).

It never delays the reply: the engine starts it in the background after the run's end was
announced. When it fails, or the protocol has no cheap request, or the user renamed the
thread meanwhile, the title stays the first line of the first message (`title_from`).
Every tab on the thread is told (`thread.titled`), and its sidebar refreshes.
"""

from __future__ import annotations

import asyncio
import logging

from channels.db import database_sync_to_async

from assistants_proxy.errors import AssistantsError
from assistants_proxy.titles import ask_title, cut_title
from chat.fanout.runlog import Hub
from chat.models import Message, Run, Thread
from chat.runs import store
from chat.runs.upstream import upstream_for, upstream_http

logger = logging.getLogger(__name__)

TITLE_SECONDS = 20.0  # a title is a nicety: an upstream slower than this keeps the fallback
TITLED = "thread.titled"  # handled by ThreadConsumer.thread_titled


def title_from(content: str) -> str:
    """A thread's first title: its first line, cut (the fallback when no better one comes)."""
    return cut_title(content.splitlines()[0].strip())


async def title_after_first_reply(ctx: store.RunContext, hub: Hub) -> None:
    reply = await database_sync_to_async(_completed_reply)(ctx.run_id)
    if reply is None:
        return
    try:
        async with upstream_http() as http:
            client = upstream_for(ctx.assistant, http).client  # type: ignore[attr-defined]
            asked = ask_title(
                client,
                protocol=ctx.assistant.protocol,
                model=ctx.assistant.model,
                message=ctx.user_text,
                reply=reply,
            )
            title = await asyncio.wait_for(asked, TITLE_SECONDS)
    except (AssistantsError, TimeoutError, ValueError, LookupError) as exc:
        logger.info("thread %s: no title from the upstream (%s)", ctx.thread_id, exc)
        return
    if title and await database_sync_to_async(_retitle)(ctx.thread_id, ctx.user_text, title):
        await hub.announce(ctx.thread_id, {"type": TITLED, "title": title})


def _completed_reply(run_id: int) -> str | None:
    """The text of the run's reply, if the run completed with one."""
    if not Run.objects.filter(pk=run_id, status=Run.Status.COMPLETED).exists():
        return None
    replies = Message.objects.filter(run_id=run_id, role=Message.Role.ASSISTANT).exclude(content="")
    return "\n\n".join(replies.order_by("pk").values_list("content", flat=True)) or None


def _retitle(thread_id: int, first_message: str, title: str) -> bool:
    # Conditional: a title the user gave meanwhile is theirs. Not bumped in the list.
    fallback = title_from(first_message)
    return bool(Thread.objects.filter(pk=thread_id, title=fallback).update(title=title))
