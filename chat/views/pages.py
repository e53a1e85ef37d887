"""The single-page app shell. The page itself loads everything else over the API."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from chat import selectors
from chat.errors import NotFound
from chat.views.errors import not_found_page


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "chat/app.html", {"thread_id": None})


@login_required
def thread_page(request: HttpRequest, thread_id: int) -> HttpResponse:
    try:
        selectors.thread_get(user=request.user, thread_id=thread_id)
    except NotFound:
        # The app's page, not Django's debug 404 that DEBUG would show for Http404.
        return not_found_page(request)
    return render(request, "chat/app.html", {"thread_id": thread_id})
