"""The key with which this app's own runs reach the simulator it mounts at /sim.

The mounted simulator serves only logged-in users and this app (`config/simulator_mount.py`).
A run is no browser: it sends this key, derived from SECRET_KEY, as its bearer token whenever
its assistant names no URL (`Assistant.api_key`). Nothing to configure or store: every process
of a deployment derives the same key, and it changes with SECRET_KEY. It is an HMAC, so
it tells whoever receives it (a simulator run elsewhere, at SIMULATOR_URL) nothing of
SECRET_KEY.
"""

from __future__ import annotations

import hmac

from django.utils.crypto import salted_hmac

_SALT = "chat.simulator_key"


def simulator_key() -> str:
    return salted_hmac(_SALT, "mounted simulator", algorithm="sha256").hexdigest()


def is_simulator_key(offered: str) -> bool:
    return hmac.compare_digest(offered.encode(), simulator_key().encode())
