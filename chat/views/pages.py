"""The single-page app shell. The page itself loads everything else over the API."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from chat import selectors
from chat.errors import NotFound


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "chat/app.html", {"thread_id": None})


@login_required
def thread_page(request: HttpRequest, thread_id: int) -> HttpResponse:
    try:
        selectors.thread_get(user=request.user, thread_id=thread_id)
    except NotFound:
        raise Http404("No such thread.") from None
    return render(request, "chat/app.html", {"thread_id": thread_id})
