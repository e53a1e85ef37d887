"""/v1/assistants: a user's own assistants (`catalogue` says which upstream answers them)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse

from chat.v1 import lookups, services
from chat.v1.endpoint import v1_endpoint
from chat.v1.ids import internal
from chat.v1.pagination import page_query, paginate
from chat.v1.shapes import assistant_object
from chat.views.http import read_json_object, request_owner


def _create(request: HttpRequest) -> HttpResponse:
    owner = request_owner(request)
    assistant = services.assistant_create(owner=owner, body=read_json_object(request))
    return JsonResponse(assistant_object(assistant))


def _list(request: HttpRequest) -> HttpResponse:
    page = paginate(
        lookups.assistants_of(request.user),
        page_query(request),
        cursor_pk=lambda value: internal("assistant", value),
        render=assistant_object,
    )
    return JsonResponse(page)


def _retrieve(request: HttpRequest, assistant_id: str) -> HttpResponse:
    return JsonResponse(assistant_object(lookups.assistant_get(request.user, assistant_id)))


def _modify(request: HttpRequest, assistant_id: str) -> HttpResponse:
    assistant = lookups.assistant_get(request.user, assistant_id)
    assistant = services.assistant_modify(assistant=assistant, body=read_json_object(request))
    return JsonResponse(assistant_object(assistant))


def _delete(request: HttpRequest, assistant_id: str) -> HttpResponse:
    services.assistant_delete(assistant=lookups.assistant_get(request.user, assistant_id))
    return JsonResponse({"id": assistant_id, "object": "assistant.deleted", "deleted": True})


assistants = v1_endpoint(GET=_list, POST=_create)
assistant = v1_endpoint(GET=_retrieve, POST=_modify, DELETE=_delete)
