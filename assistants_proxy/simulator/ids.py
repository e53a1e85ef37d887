"""Object ids shaped like OpenAI's: a type prefix, an underscore and 24 alphanumerics."""

import secrets
import string

_ALPHABET = string.ascii_letters + string.digits
ID_LENGTH = 24


def new_id(prefix: str) -> str:
    """Return e.g. ``run_s1X8yAjuUBlwhGrqiahzfnH7``; clients sometimes validate the shape."""
    return f"{prefix}_" + "".join(secrets.choice(_ALPHABET) for _ in range(ID_LENGTH))
