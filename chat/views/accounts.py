"""Sign-up. Log-in, log-out and password changes are Django's own views (log-ins throttled by
django-axes, see config/settings.py); sign-ups are limited per address (chat.signup_limit)."""

from __future__ import annotations

import math

from django.contrib.auth import login
from django.contrib.auth.forms import UserCreationForm
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from chat.signup_limit import take_signup_place


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("home")
    form: UserCreationForm[User] = UserCreationForm(
        request.POST if request.method == "POST" else None
    )
    if form.is_valid():
        wait = take_signup_place(request)
        if wait is not None:
            return _too_many_signups(request, form, wait)
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect("home")
    return render(request, "registration/signup.html", {"form": form})


def _too_many_signups(
    request: HttpRequest, form: UserCreationForm[User], wait: int
) -> HttpResponse:
    minutes = math.ceil(wait / 60)
    form.add_error(
        None,
        "Too many accounts were created from your address in the last hour. "
        f"Try again in {minutes} minute{'s' if minutes != 1 else ''}.",
    )
    response = render(request, "registration/signup.html", {"form": form}, status=429)
    response["Retry-After"] = str(wait)
    return response
