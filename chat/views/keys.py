"""The user's API keys page: create one (shown once, on the page that made it) and revoke."""

from __future__ import annotations

import contextlib

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from chat import api_keys
from chat.errors import ServiceError
from chat.views.http import request_owner


@never_cache  # the page that shows a new key must never be kept by a cache
@login_required
@require_http_methods(["GET", "POST"])
def keys_page(request: HttpRequest) -> HttpResponse:
    user = request_owner(request)
    context: dict[str, object] = {"new_key": None, "error": None}
    if request.method == "POST":
        try:
            _, context["new_key"] = api_keys.api_key_create(
                user=user, name=request.POST.get("name", "")
            )
        except ServiceError as exc:
            context["error"] = exc.message
    context["keys"] = api_keys.api_key_list(user=user)
    return render(request, "chat/api_keys.html", context)


@login_required
@require_http_methods(["POST"])
def key_revoke(request: HttpRequest, key_id: int) -> HttpResponse:
    # Someone else's or gone: the list shows the user's own keys as they are.
    with contextlib.suppress(ServiceError):
        api_keys.api_key_revoke(user=request_owner(request), key_id=key_id)
    return redirect("api-keys")
