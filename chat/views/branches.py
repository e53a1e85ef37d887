"""The JSON API of branches (docs/api.md): a reply made again, a message edited and sent
again, a switch to another version. The two that start runs hand them to the engine as
`api._message_create` does; every change tells the thread's other tabs to reload it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse, JsonResponse

from chat import branch_services
from chat.errors import InvalidInput
from chat.models import Run
from chat.runs import get_engine
from chat.runs.store import RunContext, run_context
from chat.serializers import run_json, thread_json
from chat.views.decorators import api_endpoint
from chat.views.http import optional_id, read_json_object, request_owner, required_str

BRANCH_SWITCHED = "branch.switched"  # handled by ThreadConsumer.branch_switched


def _on_message(start: Callable[..., Run]) -> Callable[..., Any]:
    """A view starting a run on the message named in the URL (regenerate, continue)."""

    async def view(request: HttpRequest, thread_id: int, message_id: int) -> HttpResponse:
        user_id = request_owner(request).id
        return await _launch(
            thread_id, lambda: start(user_id=user_id, thread_id=thread_id, message_id=message_id)
        )

    return view


async def _resend(request: HttpRequest, thread_id: int, message_id: int) -> HttpResponse:
    content = required_str(read_json_object(request), "content")
    user_id = request_owner(request).id
    return await _launch(
        thread_id,
        lambda: branch_services.message_resend_for(
            user_id=user_id, thread_id=thread_id, message_id=message_id, content=content
        ),
    )


async def _launch(thread_id: int, start: Callable[[], Run]) -> HttpResponse:
    def started() -> tuple[Run, RunContext]:
        run = start()
        return run, run_context(run, run.user_message)

    run, context = await sync_to_async(started)()
    get_engine().launch(run.pk, context=context)
    leaf_id = run.user_message.pk
    await get_engine().hub.announce(thread_id, {"type": BRANCH_SWITCHED, "leaf_id": leaf_id})
    return JsonResponse({"run": run_json(run), "message_id": leaf_id}, status=201)


async def _select(request: HttpRequest, thread_id: int) -> HttpResponse:
    message_id = optional_id(read_json_object(request), "message_id")
    if message_id is None:
        raise InvalidInput("'message_id' must be an integer.", code="invalid_message_id")
    user_id = request_owner(request).id
    thread = await sync_to_async(branch_services.branch_select_for)(
        user_id=user_id, thread_id=thread_id, message_id=message_id
    )
    message = {"type": BRANCH_SWITCHED, "leaf_id": thread.leaf_id}
    await get_engine().hub.announce(thread_id, message)
    return JsonResponse({"thread": thread_json(thread), "leaf_id": thread.leaf_id})


regenerate = api_endpoint(POST=_on_message(branch_services.run_regenerate_for))
resend = api_endpoint(POST=_resend)
continue_reply = api_endpoint(POST=_on_message(branch_services.run_continue_for))
select = api_endpoint(POST=_select)
