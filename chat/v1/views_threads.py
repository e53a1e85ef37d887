"""/v1/threads and their messages."""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse, JsonResponse

from chat import services as web_services
from chat.models import Run, Thread
from chat.runs import get_engine
from chat.v1 import lookups, services
from chat.v1.endpoint import v1_endpoint
from chat.v1.pagination import page_query, paginate
from chat.v1.shapes import message_object, thread_object
from chat.views.http import read_json_object, request_owner


def _create(request: HttpRequest) -> HttpResponse:
    owner, body = request_owner(request), read_json_object(request)
    # Until a run names its assistant, the default one answers (the web chat shows it).
    assistant = web_services._default_assistant()
    thread = services.thread_create(owner=owner, body=body, assistant=assistant)
    return JsonResponse(thread_object(thread))


def _retrieve(request: HttpRequest, thread_id: str) -> HttpResponse:
    return JsonResponse(thread_object(lookups.thread_get(request.user, thread_id)))


def _modify(request: HttpRequest, thread_id: str) -> HttpResponse:
    thread = lookups.thread_get(request.user, thread_id)
    thread = services.thread_modify(thread=thread, body=read_json_object(request))
    return JsonResponse(thread_object(thread))


async def _delete(request: HttpRequest, thread_id: str) -> HttpResponse:
    thread, active = await sync_to_async(_thread_and_active_run)(request, thread_id)
    if active is not None:
        await get_engine().cancel(active)  # its reply must not go on streaming upstream
    await sync_to_async(web_services.thread_delete)(thread=thread)
    if thread.upstream_thread_id:
        get_engine().delete_upstream_thread(thread.assistant, thread.upstream_thread_id)
    return JsonResponse({"id": thread_id, "object": "thread.deleted", "deleted": True})


def _thread_and_active_run(request: HttpRequest, thread_id: str) -> tuple[Thread, int | None]:
    thread = lookups.thread_get(request.user, thread_id)
    active = thread.runs.filter(status__in=Run.ACTIVE_STATUSES).values_list("pk", flat=True)
    return thread, active.first()


def _message_create(request: HttpRequest, thread_id: str) -> HttpResponse:
    thread = lookups.thread_get(request.user, thread_id)
    message = services.message_create(thread=thread, body=read_json_object(request))
    return JsonResponse(message_object(message, assistant_id=thread.assistant_id))


def _message_list(request: HttpRequest, thread_id: str) -> HttpResponse:
    thread = lookups.thread_get(request.user, thread_id)
    rows = lookups.messages_of(thread, run_id=request.GET.get("run_id") or None)
    page = paginate(
        rows,
        page_query(request),
        cursor_pk=lambda value: lookups.message_pk(thread, value),
        render=lambda message: message_object(message, assistant_id=thread.assistant_id),
    )
    return JsonResponse(page)


def _message_retrieve(request: HttpRequest, thread_id: str, message_id: str) -> HttpResponse:
    thread = lookups.thread_get(request.user, thread_id)
    message = lookups.message_get(thread, message_id)
    return JsonResponse(message_object(message, assistant_id=thread.assistant_id))


def _message_modify(request: HttpRequest, thread_id: str, message_id: str) -> HttpResponse:
    thread = lookups.thread_get(request.user, thread_id)
    message = lookups.message_get(thread, message_id)
    message = services.message_modify(message=message, body=read_json_object(request))
    return JsonResponse(message_object(message, assistant_id=thread.assistant_id))


def _message_delete(request: HttpRequest, thread_id: str, message_id: str) -> HttpResponse:
    thread = lookups.thread_get(request.user, thread_id)
    services.message_delete(message=lookups.message_get(thread, message_id))
    return JsonResponse({"id": message_id, "object": "thread.message.deleted", "deleted": True})


threads = v1_endpoint(POST=_create)
thread = v1_endpoint(GET=_retrieve, POST=_modify, DELETE=_delete)
messages = v1_endpoint(GET=_message_list, POST=_message_create)
message = v1_endpoint(GET=_message_retrieve, POST=_message_modify, DELETE=_message_delete)
