"""Writes and reads of API keys (`chat.models.keys.ApiKey`): create, revoke, authenticate.

A key is shown once, when it is made; afterwards only its prefix is known here.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.utils import timezone

from chat.errors import InvalidInput, NotFound
from chat.models import ApiKey

KEY_PREFIX = "sk-chat-"
SHOWN_CHARS = 12  # of the key, kept to tell keys apart: "sk-chat-" and 4 random characters
NAME_MAX_CHARS = 100
# `last_used_at` is written at most this often per key: a write per request would double the
# cost of every poll of a run.
LAST_USED_RESOLUTION = timedelta(seconds=60)


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def api_key_create(*, user: User, name: str = "") -> tuple[ApiKey, str]:
    """A new key for `user`: the row and the key itself, which is never stored."""
    name = name.strip()
    if len(name) > NAME_MAX_CHARS:
        raise InvalidInput(f"The name is longer than {NAME_MAX_CHARS} characters.")
    raw = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey.objects.create(user=user, name=name, prefix=raw[:SHOWN_CHARS], hashed=_hash(raw))
    return key, raw


def api_key_revoke(*, user: User, key_id: int) -> ApiKey:
    """Revoke one of the user's keys (NotFound for anyone else's); revoking twice is fine."""
    try:
        key = ApiKey.objects.get(pk=key_id, user=user)
    except ApiKey.DoesNotExist:
        raise NotFound("No such key.") from None
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
    return key


def api_key_list(*, user: User) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(user=user).order_by("-created_at", "-pk")


def api_key_user(raw: str) -> User | None:
    """The active user whose unrevoked key `raw` is, or None; notes when it was used."""
    if not raw.startswith(KEY_PREFIX):
        return None  # not one of ours: no query
    found = (
        ApiKey.objects.select_related("user")
        .filter(hashed=_hash(raw), revoked_at=None, user__is_active=True)
        .first()
    )
    if found is None:
        return None
    now = timezone.now()
    if found.last_used_at is None or now - found.last_used_at >= LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=found.pk).update(last_used_at=now)
    return found.user
