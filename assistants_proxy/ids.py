"""Object ids shaped like OpenAI's: a type prefix, an underscore and 24 alphanumerics."""

from __future__ import annotations

import re
import secrets
import string

_ALPHABET = string.ascii_letters + string.digits
ID_LENGTH = 24
_OPENAI_ID = re.compile(rf"[a-z]+_[A-Za-z0-9]{{{ID_LENGTH}}}")


def new_id(prefix: str) -> str:
    """Return e.g. ``run_s1X8yAjuUBlwhGrqiahzfnH7``: browsers and SDKs sometimes check it."""
    return f"{prefix}_" + "".join(secrets.choice(_ALPHABET) for _ in range(ID_LENGTH))


def is_openai_id(value: object, prefix: str) -> bool:
    return (
        isinstance(value, str)
        and value.startswith(prefix + "_")
        and bool(_OPENAI_ID.fullmatch(value))
    )
