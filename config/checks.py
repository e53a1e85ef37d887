"""Deployment checks of our own, run by `manage.py check --deploy` beside Django's.

Registered from config/settings.py: config is not an app with a ready() hook, and the settings
module is the one thing every process imports.

A weak SECRET_KEY is an error here, not Django's warning (security.W009): with it, anyone can
forge session cookies and password-reset links. The settings module cannot refuse it at
import, because the test suite and `make run` run with short throwaway keys; compose runs
`check --deploy` before it migrates (docker-compose.yml), so a weak key stops the stack.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks

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
