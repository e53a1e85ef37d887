"""Deployment checks of our own, run by `manage.py check --deploy` beside Django's.

Registered from config/settings.py: config is not an app with a ready() hook, and the settings
module is the one thing every process imports.

A simulator mounted in the web process is a warning (config.W002): see config/simulator_mount.py.

A weak SECRET_KEY is an error here, not Django's warning (security.W009): with it, anyone can
forge session cookies and password-reset links. The settings module cannot refuse it at
import, because the test suite and `make run` run with short throwaway keys; compose runs
`check --deploy` before it migrates (docker-compose.yml), so a weak key stops the stack.

Django's middleware checks find its security, CSRF and clickjacking middleware by dotted path
in MIDDLEWARE, and skip the checks that depend on them (HSTS, the HTTPS redirect, secure CSRF
cookies...) when the path is absent. A subclass under another path (config/middleware.py)
would thus make `check --deploy` quietly clean. `check_middleware_dependent_settings` runs
those checks of Django's as if each subclass were its Django base; settings.py silences
Django's own W001-W003, which this module reports instead (config.W011-W013) with subclasses
accepted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from django.conf import settings
from django.core import checks
from django.core.checks.security import base as security_checks
from django.core.checks.security import csrf as csrf_checks
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.csrf import CsrfViewMiddleware
from django.middleware.security import SecurityMiddleware
from django.test.utils import override_settings
from django.utils.module_loading import import_string

# Django's own criteria for a key it calls weak (django/core/checks/security/base.py).
MIN_SECRET_KEY_LENGTH = 50
MIN_SECRET_KEY_UNIQUE_CHARACTERS = 5
INSECURE_PREFIX = "django-insecure-"
ONE_YEAR = 31536000  # the shortest max-age the HSTS preload list accepts


@checks.register(checks.Tags.security, deploy=True)
def check_secret_key_strength(**kwargs: Any) -> list[checks.CheckMessage]:
    key = str(settings.SECRET_KEY)
    weak = (
        len(key) < MIN_SECRET_KEY_LENGTH
        or len(set(key)) < MIN_SECRET_KEY_UNIQUE_CHARACTERS
        or key.startswith(INSECURE_PREFIX)
    )
    if not weak:
        return []
    return [
        checks.Error(
            f"SECRET_KEY is weak: it must be at least {MIN_SECRET_KEY_LENGTH} random "
            f"characters, with at least {MIN_SECRET_KEY_UNIQUE_CHARACTERS} different ones, "
            f"and not start with {INSECURE_PREFIX!r}.",
            hint='Generate one: python -c "import secrets; print(secrets.token_urlsafe(50))"',
            id="config.E001",
        )
    ]


@checks.register(checks.Tags.security, deploy=True)
def check_hsts_preload(**kwargs: Any) -> list[checks.CheckMessage]:
    if not settings.SECURE_HSTS_PRELOAD:
        return []
    if settings.SECURE_HSTS_SECONDS >= ONE_YEAR and settings.SECURE_HSTS_INCLUDE_SUBDOMAINS:
        return []
    return [
        checks.Warning(
            "SECURE_HSTS_PRELOAD is on, but the browsers' preload list only accepts "
            f"SECURE_HSTS_SECONDS >= {ONE_YEAR} with SECURE_HSTS_INCLUDE_SUBDOMAINS on.",
            id="config.W001",
        )
    ]


@checks.register(checks.Tags.security, deploy=True)
def check_simulator_mount(**kwargs: Any) -> list[checks.CheckMessage]:
    if not settings.SIMULATOR_MOUNT:
        return []
    return [
        checks.Warning(
            "SIMULATOR_MOUNT is on: the simulator upstream answers at /sim/ and executes in "
            "the web process, for every logged-in user.",
            hint="Set SIMULATOR_MOUNT=0; run the simulator as a service of its own "
            "(SIMULATOR_URL) if a deployment needs it.",
            id="config.W002",
        )
    ]


DJANGO_MIDDLEWARE = {
    SecurityMiddleware: "django.middleware.security.SecurityMiddleware",
    CsrfViewMiddleware: "django.middleware.csrf.CsrfViewMiddleware",
    XFrameOptionsMiddleware: "django.middleware.clickjacking.XFrameOptionsMiddleware",
}
# Django's checks that look for those paths in MIDDLEWARE.
MIDDLEWARE_DEPENDENT_CHECKS: list[Callable[..., Sequence[checks.CheckMessage]]] = [
    security_checks.check_security_middleware,
    security_checks.check_xframe_options_middleware,
    security_checks.check_sts,
    security_checks.check_sts_include_subdomains,
    security_checks.check_sts_preload,
    security_checks.check_content_type_nosniff,
    security_checks.check_ssl_redirect,
    security_checks.check_xframe_deny,
    security_checks.check_referrer_policy,
    security_checks.check_cross_origin_opener_policy,
    csrf_checks.check_csrf_middleware,
    csrf_checks.check_csrf_cookie_secure,
]
# Silenced in settings.py (they only match the dotted paths) and reported under our ids.
RENAMED = {"security.W001": "config.W011", "security.W002": "config.W012",
           "security.W003": "config.W013"}  # fmt: skip


def _as_django_paths(middleware: list[str]) -> Iterator[str]:
    """MIDDLEWARE with each subclass of Django's middleware named by its Django base."""
    for path in middleware:
        installed = import_string(path)
        bases = [
            django_path
            for cls, django_path in DJANGO_MIDDLEWARE.items()
            if isinstance(installed, type) and issubclass(installed, cls)
        ]
        yield bases[0] if bases else path


@checks.register(checks.Tags.security, deploy=True)
def check_middleware_dependent_settings(
    app_configs: Any = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    middleware = list(settings.MIDDLEWARE)
    as_django = list(_as_django_paths(middleware))
    with override_settings(MIDDLEWARE=as_django):
        found = [m for check in MIDDLEWARE_DEPENDENT_CHECKS for m in check(app_configs)]
    messages: list[checks.CheckMessage] = []
    for message in found:
        if message.id in RENAMED:
            text = f"{message.msg} (A subclass of that middleware counts.)"
            messages.append(checks.Warning(text, id=RENAMED[message.id]))
        elif as_django != middleware:
            # Django's own run of this check skipped it: the paths did not match.
            messages.append(message)
    return messages
