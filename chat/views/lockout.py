"""What a locked-out log-in gets (django-axes' AXES_LOCKOUT_CALLABLE), on the site's log-in
page and the admin's alike: a page saying why and for how long, 429, and Retry-After."""

from __future__ import annotations

import math
from typing import Any

from axes.helpers import get_cool_off
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def locked_out(request: HttpRequest, *args: Any) -> HttpResponse:
    # `*args`: axes passes (response, credentials), or (credentials) from its async path.
    seconds = math.ceil(get_cool_off(request).total_seconds())
    context = {"minutes": math.ceil(seconds / 60), "limit": settings.AXES_FAILURE_LIMIT}
    response = render(request, "registration/locked_out.html", context, status=429)
    response["Retry-After"] = str(seconds)
    return response
