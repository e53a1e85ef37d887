"""/v1/threads/{thread}/runs, create-and-run, tool outputs, cancel, and run steps."""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponseBase, JsonResponse

from chat import services as web_services
from chat.runs import get_engine
from chat.v1 import continuation, fields, lookups, starting, stream
from chat.v1.endpoint import BadParam, v1_endpoint
from chat.v1.ids import internal
from chat.v1.pagination import page_query, paginate
from chat.v1.shapes import run_object, step_object
from chat.views.http import read_json_object, request_owner


async def _create(request: HttpRequest, thread_id: str) -> HttpResponseBase:
    ask = starting.run_ask(read_json_object(request))
    return await starting.run_on_thread(request_owner(request), thread_id, ask)


async def _create_thread_and_run(request: HttpRequest) -> HttpResponseBase:
    body = read_json_object(request)
    ask = starting.run_ask(body)
    return await starting.thread_and_run(request_owner(request), body, ask)


def _list(request: HttpRequest, thread_id: str) -> HttpResponseBase:
    thread = lookups.thread_get(request.user, thread_id)
    page = paginate(
        thread.runs.select_related("assistant"),
        page_query(request),
        cursor_pk=lambda value: internal("run", value),
        render=run_object,
    )
    return JsonResponse(page)


def _retrieve(request: HttpRequest, thread_id: str, run_id: str) -> HttpResponseBase:
    return JsonResponse(run_object(lookups.run_get(request.user, thread_id, run_id)))


def _modify(request: HttpRequest, thread_id: str, run_id: str) -> HttpResponseBase:
    run = lookups.run_get(request.user, thread_id, run_id)
    run.metadata = fields.metadata(read_json_object(request))
    run.save(update_fields=["metadata"])
    return JsonResponse(run_object(run))


async def _cancel(request: HttpRequest, thread_id: str, run_id: str) -> HttpResponseBase:
    run = await sync_to_async(lookups.run_get)(request.user, thread_id, run_id)
    run = await sync_to_async(web_services.run_cancel_request)(run=run)
    if not await get_engine().cancel(run.pk):
        # No engine holds it: nothing else would ever end it (as the web API does).
        run = await sync_to_async(web_services.run_cancel_orphaned)(run=run)
    return JsonResponse(await sync_to_async(run_object)(run))


async def _submit_tool_outputs(
    request: HttpRequest, thread_id: str, run_id: str
) -> HttpResponseBase:
    body = read_json_object(request)
    outputs = _tool_outputs(body)
    run = await sync_to_async(lookups.run_get)(request.user, thread_id, run_id)
    follower = stream.RunFollower(get_engine().hub, run.thread_id, run.pk)
    try:
        if body.get("stream"):
            continuation.ensure_followable(run.pk)
        log, answered = await get_engine().submit_tool_outputs(run.pk, outputs)
    except Exception:
        follower.close()
        raise
    if body.get("stream"):
        names = starting.names_for(run)
        if log is None:  # another process executes it: its mirrored log, from the pause on
            return stream.response(continuation.after_pause(follower, names, answered))
        # Nothing of the continuation is in the log yet: the run resumes at the loop's next
        # turn.
        follower.log = log
        return stream.response(stream.events(follower, names, after_seq=log.last_seq))
    follower.close()
    await sync_to_async(run.refresh_from_db)()
    return JsonResponse(await sync_to_async(run_object)(run))


def _tool_outputs(body: dict[str, Any]) -> list[dict[str, str]]:
    given = body.get("tool_outputs")
    if not isinstance(given, list) or not given:
        raise BadParam("'tool_outputs' must be a non-empty list.", param="tool_outputs")
    outputs = []
    for index, item in enumerate(given):
        ok = isinstance(item, dict) and isinstance(item.get("tool_call_id"), str)
        if not ok or not isinstance(item.get("output", ""), str):
            where = f"tool_outputs[{index}]"
            raise BadParam(f"'{where}' needs a string tool_call_id and output.", param=where)
        output = fields.storable(item.get("output", ""), f"tool_outputs[{index}].output")
        outputs.append({"tool_call_id": item["tool_call_id"], "output": output})
    return outputs


def _steps(request: HttpRequest, thread_id: str, run_id: str) -> HttpResponseBase:
    run = lookups.run_get(request.user, thread_id, run_id)
    page = paginate(
        run.steps.all(),
        page_query(request),
        cursor_pk=lambda value: lookups.step_pk(run, value),
        render=lambda step: step_object(step, run=run),
    )
    return JsonResponse(page)


def _step(request: HttpRequest, thread_id: str, run_id: str, step_id: str) -> HttpResponseBase:
    run = lookups.run_get(request.user, thread_id, run_id)
    return JsonResponse(step_object(lookups.step_get(run, step_id), run=run))


runs = v1_endpoint(GET=_list, POST=_create)
thread_runs = v1_endpoint(POST=_create_thread_and_run)
run = v1_endpoint(GET=_retrieve, POST=_modify)
cancel = v1_endpoint(POST=_cancel)
submit_tool_outputs = v1_endpoint(POST=_submit_tool_outputs)
steps = v1_endpoint(GET=_steps)
step = v1_endpoint(GET=_step)
