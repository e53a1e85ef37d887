"""Which secret an assistant's requests may carry, and where they may go: the operator's say.

Assistants are edited in the admin by staff who need not be trusted with the server's
secrets. An assistant names an environment variable (`api_key_env`) whose value goes as the
bearer token to its `base_url`: unchecked, a staff user who could edit assistants only had the
server send its SECRET_KEY to a server of their own. So:

- `api_key_env` must be listed in UPSTREAM_KEY_VARIABLES or start with UPSTREAM_KEY_PREFIX,
  and is never a variable the app reads for itself (`config.env.READ`: SECRET_KEY,
  DATABASE_URL, REDIS_URL...) nor a database password;
- `base_url` is http or https, with a host and no credentials in it, and, when
  UPSTREAM_HOSTS is set, one of those hosts (`.example.com` also allows its subdomains).

Checked when an assistant is saved (`Assistant.clean`, so the admin form says why), and again
whenever a key is about to be sent: a row saved before these rules, or past the admin, sends
no key to a URL or from a variable they refuse.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from django.conf import settings
from django.http.request import validate_host

from config.env import READ as APP_VARIABLES

if TYPE_CHECKING:
    from chat.models import Assistant

logger = logging.getLogger(__name__)

# Secrets the app does not read itself but that sit in the same environment (compose's
# database password, libpq's).
RESERVED = frozenset({"POSTGRES_PASSWORD", "PGPASSWORD", "PGPASSFILE"})
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def key_env_problem(name: str) -> str | None:
    """Why `name` may not be an API key's variable; None when it may."""
    if not _NAME.fullmatch(name):
        return f"{name!r} is not an environment variable name."
    if name in APP_VARIABLES or name in RESERVED:
        return f"{name} is one of this server's own settings, never an API key."
    if name in settings.UPSTREAM_KEY_VARIABLES:
        return None
    prefix = settings.UPSTREAM_KEY_PREFIX
    if prefix and name.startswith(prefix) and name != prefix:
        return None
    return (
        f"{name} is not a variable the operator allows for API keys: the server's "
        "UPSTREAM_KEY_VARIABLES lists those"
        + (f", and names starting with {prefix} are allowed." if prefix else ".")
    )


def base_url_problem(url: str) -> str | None:
    """Why an assistant may not send requests to `url`; None when it may."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return f"{url!r} is not a URL."
    if parts.scheme not in ("http", "https") or not host:
        return "The upstream URL must start with http:// or https:// and name a host."
    if parts.username is not None or parts.password is not None:
        return "Put no credentials in the URL: name the key's variable in api_key_env."
    allowed = settings.UPSTREAM_HOSTS
    host = f"[{host}]" if ":" in host else host  # an IPv6 address, as ALLOWED_HOSTS has them
    if allowed and not validate_host(host, allowed):
        return f"{host} is not one of the upstream hosts the operator allows (UPSTREAM_HOSTS)."
    return None


def problems(assistant: Assistant) -> dict[str, str]:
    """Field name -> what is wrong with it, for `Assistant.clean`."""
    found = {
        "api_key_env": key_env_problem(assistant.api_key_env) if assistant.api_key_env else None,
        "base_url": base_url_problem(assistant.base_url) if assistant.base_url else None,
    }
    return {field: problem for field, problem in found.items() if problem}


def key_may_be_sent(assistant: Assistant) -> bool:
    """Whether the assistant's named key may go to its URL: what `problems` says, checked
    again at the moment of sending. Refusals are logged for the operator."""
    found = problems(assistant)
    if found:
        logger.warning("assistant %s: no API key sent: %s", assistant.pk, " ".join(found.values()))
    return not found
