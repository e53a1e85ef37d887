"""API keys: a user's bearer tokens for the Assistants API under /v1/ (`chat.api_keys`).

Only a hash of each key is stored. A key is 32 random bytes, so a plain SHA-256 is enough to
make a stolen table useless (a slow password hash protects guessable secrets, which these are
not) and it lets one indexed lookup find the key on every request.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ApiKey(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys"
    )
    name = models.CharField(max_length=100, blank=True)
    # The key's first characters, shown so that a user can tell their keys apart.
    prefix = models.CharField(max_length=16)
    hashed = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
