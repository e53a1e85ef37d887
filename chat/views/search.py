"""GET /api/search/ (docs/api.md): the user's messages and thread titles matching a query."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse

from chat.search import Hit, search
from chat.search.hits import snippet_parts
from chat.views.decorators import api_endpoint
from chat.views.http import query_int


def _search(request: HttpRequest) -> HttpResponse:
    hits = search(
        user=request.user,
        query=request.GET.get("q", ""),
        limit=query_int(request, "limit", 20),
    )
    return JsonResponse({"results": [hit_json(hit) for hit in hits]})


def hit_json(hit: Hit) -> dict[str, Any]:
    return {
        "thread_id": hit.thread_id,
        "thread_title": hit.thread_title,
        "message_id": hit.message_id,
        "run_id": hit.run_id,
        "role": hit.role,
        "snippet": snippet_parts(hit.snippet),
        "created_at": hit.created_at,
    }


search_view = api_endpoint(GET=_search)
