"""Share links (docs/api.md): make or revoke them through the API; the shared page itself
is for anyone holding the link, logged in or not, and answers the app's 404 once revoked."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache

from chat import sharing
from chat.errors import NotFound
from chat.views.decorators import api_endpoint
from chat.views.errors import not_found_page


def _share(request: HttpRequest, thread_id: int) -> HttpResponse:
    share = sharing.share_create(user=request.user, thread_id=thread_id)
    url = request.build_absolute_uri(reverse("shared", args=[share.token]))
    body = {"url": url, "token": share.token, "created_at": share.created_at}
    return JsonResponse(body, status=201)


def _revoke(request: HttpRequest, thread_id: int) -> HttpResponse:
    sharing.share_revoke(user=request.user, thread_id=thread_id)
    return HttpResponse(status=204)


@never_cache  # a revoked link must stop showing at once, from any cache
def shared_page(request: HttpRequest, token: str) -> HttpResponse:
    try:
        shared = sharing.shared_thread(token=token)
    except NotFound:
        return not_found_page(request)
    context = {"thread": shared.thread, "messages": shared.messages}
    return render(request, "chat/shared.html", context)


share = api_endpoint(POST=_share, DELETE=_revoke)
