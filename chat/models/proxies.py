"""Proxy models: other views of users and runs, for the admin."""

from __future__ import annotations

from django.contrib.auth.models import User

from chat.models.threads import Run


class UserUsage(User):
    """A read-only admin view of token usage per user (see `chat.admin`)."""

    class Meta:
        proxy = True
        verbose_name = "usage per user"
        verbose_name_plural = "usage per user"


class LiveRun(Run):
    """The admin's board of active runs, and each run's inspector (`chat.admin_pages`)."""

    class Meta:
        proxy = True
        verbose_name = "live run"
        verbose_name_plural = "live runs"
