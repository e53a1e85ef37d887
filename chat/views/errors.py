"""A CSRF failure view that answers the API in JSON.

Enable with the setting `CSRF_FAILURE_VIEW = "chat.views.errors.csrf_failure"`; pages keep
Django's HTML answer.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.csrf import csrf_failure as django_csrf_failure

from chat.views.http import error_response


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    if request.path.startswith("/api/"):
        return error_response(403, "csrf_failed", f"CSRF check failed: {reason}")
    return django_csrf_failure(request, reason)
