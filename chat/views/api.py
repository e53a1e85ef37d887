"""The JSON API under /api/ (contract: docs/api.md).

Views parse input, call one service or selector, and render JSON. The two that start runs are
async: the service commits in a worker thread, then `launch` hands the run to the engine in
the event loop, where the engine keeps its tasks.
"""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse, JsonResponse

from chat import selectors, services
from chat.models import Run, Thread
from chat.runs import get_engine
from chat.runs.store import RunContext, run_context
from chat.serializers import assistant_json, message_json, run_json, thread_json
from chat.thread_pages import DEFAULT_LIMIT, thread_page
from chat.views.decorators import api_endpoint
from chat.views.http import (
    optional_id,
    query_int,
    read_json_object,
    request_owner,
    required_str,
)


async def _thread_create(request: HttpRequest) -> HttpResponse:
    body = read_json_object(request)
    content = required_str(body, "content")
    assistant_id = optional_id(body, "assistant_id")
    assistant = None
    if assistant_id is not None:
        assistant = await sync_to_async(selectors.assistant_get)(assistant_id=assistant_id)
    owner = request_owner(request)

    def create() -> tuple[Thread, Run, RunContext]:
        thread, run = services.thread_create(owner=owner, content=content, assistant=assistant)
        return thread, run, run_context(run, run.user_message)

    # One hop to the database thread, and the engine starts from what it returned: every hop
    # and query here comes before the reply's first token.
    thread, run, context = await sync_to_async(create)()
    get_engine().launch(run.pk, context=context)
    body = {"thread": thread_json(thread), "assistant": assistant_json(thread.assistant)}
    return JsonResponse({**body, "run": run_json(run)}, status=201)


def _thread_list(request: HttpRequest) -> HttpResponse:
    page = thread_page(
        user=request.user,
        cursor=request.GET.get("cursor"),
        limit=query_int(request, "limit", DEFAULT_LIMIT),
    )
    threads = [thread_json(thread) for thread in page.threads]
    return JsonResponse({"threads": threads, "next_cursor": page.next_cursor})


def _thread_detail(request: HttpRequest, thread_id: int) -> HttpResponse:
    detail = selectors.thread_detail(user=request.user, thread_id=thread_id)
    return JsonResponse(
        {
            "thread": thread_json(detail.thread),
            "assistant": assistant_json(detail.thread.assistant),
            "leaf_id": detail.branch.message_ids[-1] if detail.branch.message_ids else None,
            "messages": [message_json(m, branch=detail.branch) for m in detail.messages],
            "runs": [
                run_json(run, steps=run.steps.all(), messages=detail.messages)
                for run in detail.runs
            ],
        }
    )


def _thread_rename(request: HttpRequest, thread_id: int) -> HttpResponse:
    title = required_str(read_json_object(request), "title")
    thread = selectors.thread_get(user=request.user, thread_id=thread_id)
    thread = services.thread_rename(thread=thread, title=title)
    return JsonResponse({"thread": thread_json(thread)})


async def _thread_delete(request: HttpRequest, thread_id: int) -> HttpResponse:
    thread, active = await sync_to_async(_thread_and_active_run)(request, thread_id)
    if active is not None:
        # Stop the reply first: deleting its thread must not leave it streaming upstream.
        await get_engine().cancel(active)
    await sync_to_async(services.thread_delete)(thread=thread)
    if thread.upstream_thread_id:
        get_engine().delete_upstream_thread(thread.assistant, thread.upstream_thread_id)
    return HttpResponse(status=204)


def _thread_and_active_run(request: HttpRequest, thread_id: int) -> tuple[Thread, int | None]:
    thread = selectors.thread_get(user=request.user, thread_id=thread_id)
    thread.assistant  # noqa: B018 - loaded here: the async caller cannot load it lazily
    active = thread.runs.filter(status__in=Run.ACTIVE_STATUSES).values_list("pk", flat=True)
    return thread, active.first()


async def _message_create(request: HttpRequest, thread_id: int) -> HttpResponse:
    content = required_str(read_json_object(request), "content")
    user_id = request_owner(request).id

    def start() -> tuple[Run, RunContext]:
        # One trip to the database thread: the thread found and locked, the run and message
        # written, and the engine's context built from the rows in hand.
        run = services.run_start_for(user_id=user_id, thread_id=thread_id, content=content)
        return run, run_context(run, run.user_message)

    run, context = await sync_to_async(start)()
    get_engine().launch(run.pk, context=context)
    return JsonResponse({"run": run_json(run)}, status=201)


async def _run_cancel(request: HttpRequest, thread_id: int, run_id: int) -> HttpResponse:
    run = await sync_to_async(selectors.run_get)(
        user=request.user, thread_id=thread_id, run_id=run_id
    )
    run = await sync_to_async(services.run_cancel_request)(run=run)
    if not await get_engine().cancel(run.pk):
        # No engine holds this run, so nothing else would ever end it and the thread would
        # stay blocked by the one-active-run constraint.
        run = await sync_to_async(services.run_cancel_orphaned)(run=run)
    return JsonResponse({"run": run_json(run)}, status=202)


def _usage(request: HttpRequest) -> HttpResponse:
    totals = selectors.usage_totals(user=request.user)
    return JsonResponse(
        {
            **totals,
            "days": selectors.usage_by_day(user=request.user),
            "models": selectors.usage_by_model(user=request.user),
        }
    )


def _assistant_list(request: HttpRequest) -> HttpResponse:
    assistants = selectors.assistant_list()
    return JsonResponse({"assistants": [assistant_json(item) for item in assistants]})


threads = api_endpoint(GET=_thread_list, POST=_thread_create)
thread = api_endpoint(GET=_thread_detail, PATCH=_thread_rename, DELETE=_thread_delete)
messages = api_endpoint(POST=_message_create)
run_cancel = api_endpoint(POST=_run_cancel)
usage = api_endpoint(GET=_usage)
assistants = api_endpoint(GET=_assistant_list)
