"""This app's ids as the Assistants API spells them: `asst_12`, `thread_3`, `run_5`.

Messages and steps are different: their rows are written by the run engine while the stream
is already out, so the stream names them by the upstream's ids (`msg_abc...`), and the API
keeps those names afterwards. A message or step the upstream never named (a user's message)
is `msg_<pk>` / `step_<pk>`. `UNNAMED` tells which is which when reading an id back.
"""

from __future__ import annotations

import re

from chat.errors import NotFound

PREFIXES = {"assistant": "asst", "thread": "thread", "run": "run"}
# One spelling per id (no leading zero, no sign): `thread_09` is not `thread_9`, so that an
# id read back is always the one the API wrote.
_LOCAL = re.compile(r"(?P<prefix>[a-z]+)_(?P<pk>[1-9][0-9]{0,17})")


def external(kind: str, pk: int | None) -> str | None:
    return None if pk is None else f"{PREFIXES[kind]}_{pk}"


def internal(kind: str, value: str) -> int:
    """The pk of an `asst_12`-style id; NotFound, as for a missing object, for any other."""
    match = _LOCAL.fullmatch(value)
    if match is None or match["prefix"] != PREFIXES[kind]:
        raise NotFound(f"No {kind} found with id '{value}'.")
    return int(match["pk"])


def named(prefix: str, pk: int, upstream_id: str) -> str:
    """A message's or step's API id: the upstream's name for it, or `<prefix>_<pk>`."""
    return upstream_id or f"{prefix}_{pk}"


def unnamed(prefix: str, value: str) -> int | None:
    """The pk in a `<prefix>_<pk>` id, None when `value` is an upstream's name."""
    match = _LOCAL.fullmatch(value)
    return int(match["pk"]) if match is not None and match["prefix"] == prefix else None
