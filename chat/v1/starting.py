"""Starting a run over the API, streamed or not: the run is committed in one hop to the
database thread (with a new thread and messages, for create-and-run), then handed to the
engine; a streamed answer subscribes to the run's log before the engine starts it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.http import HttpResponseBase, JsonResponse

from chat import services as web_services
from chat.models import Run, Thread
from chat.runs import client_tools, get_engine
from chat.runs.store import RunContext, run_context
from chat.v1 import fields, lookups, run_options, services, stream
from chat.v1.endpoint import BadParam
from chat.v1.ids import external
from chat.v1.shapes import run_object, thread_object
from chat.v1.wire import RunNames, object_event


@dataclass(frozen=True)
class RunAsk:
    """What a run-creating request asked for, read before any write."""

    assistant_id: str
    metadata: dict[str, str]
    additional_messages: list[Any]
    stream: bool
    overrides: dict[str, Any]
    model: Any


def run_ask(body: dict[str, Any]) -> RunAsk:
    assistant_id = fields.required_text(body, "assistant_id", limit=200)
    extra = body.get("additional_messages") or []
    if not isinstance(extra, list):
        raise BadParam("'additional_messages' must be a list.", param="additional_messages")
    if not isinstance(body.get("stream", False), bool | None):
        raise BadParam("'stream' must be true or false.", param="stream")
    stream = bool(body.get("stream"))
    changes = run_options.overrides(body)
    return RunAsk(assistant_id, fields.metadata(body), extra, stream, changes, body.get("model"))


def names_for(run: Run) -> RunNames:
    assistant = run.assistant
    return RunNames(
        run=external("run", run.pk) or "",
        thread=external("thread", run.thread_id) or "",
        assistant=external("assistant", run.assistant_id) or "",
        client_answers=lambda data: client_tools.client_answers(
            assistant, client_tools.required_calls(data)
        ),
    )


def _start(user: User, thread: Thread, ask: RunAsk) -> tuple[Run, RunContext]:
    """In the caller's transaction: the run on the thread's messages as they stand."""
    assistant = lookups.assistant_get(user, ask.assistant_id, own=False)
    changes = run_options.with_assistant(dict(ask.overrides), assistant, ask.model)
    for index, item in enumerate(ask.additional_messages):
        services.message_create(thread=thread, body=item, param=f"additional_messages[{index}]")
    run = web_services.run_start_on_messages(
        user_id=user.pk, thread_id=thread.pk, assistant=assistant
    )
    if ask.metadata or changes:
        run.metadata, run.overrides = ask.metadata, changes
        run.save(update_fields=["metadata", "overrides"])
    return run, run_context(run, run.user_message)


async def run_on_thread(user: User, thread_id: str, ask: RunAsk) -> HttpResponseBase:
    def start() -> tuple[Run, RunContext]:
        with transaction.atomic():
            return _start(user, lookups.thread_get(user, thread_id), ask)

    run, context = await sync_to_async(start)()
    return _launch(run, context, ask.stream)


async def thread_and_run(user: User, body: dict[str, Any], ask: RunAsk) -> HttpResponseBase:
    thread_body = body.get("thread") or {}
    if not isinstance(thread_body, dict):
        raise BadParam("'thread' must be an object.", param="thread")

    def start() -> tuple[Thread, Run, RunContext]:
        with transaction.atomic():  # a refused run leaves no thread behind
            assistant = lookups.assistant_get(user, ask.assistant_id, own=False)
            thread = services.thread_create(owner=user, body=thread_body, assistant=assistant)
            return thread, *_start(user, thread, ask)

    thread, run, context = await sync_to_async(start)()
    prelude = object_event("thread.created", thread_object(thread))
    return _launch(run, context, ask.stream, prelude=prelude)


def _launch(run: Run, context: RunContext, streamed: bool, prelude: str = "") -> HttpResponseBase:
    engine = get_engine()
    if not streamed:
        engine.launch(run.pk, context=context)
        return JsonResponse(run_object(run))
    follower = stream.RunFollower(engine.hub, run.thread_id, run.pk)  # before the first frame
    engine.launch(run.pk, context=context)
    if settings.RUN_EXECUTION == "worker":
        follower.find_log()  # a worker executes it: follow the mirror of its stream
    chunks = stream.events(follower, names_for(run), after_seq=0, prelude=prelude)
    return stream.response(chunks)
