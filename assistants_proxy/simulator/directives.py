"""Parse the ``/sim key=value flag ...`` directive at the start of a user message.

The directive steers one run of the simulator (length, pace, faults); whatever follows it is
the message the scripted reply answers. ``key=value`` words with an unknown key, bad values
and near-misses of a flag name (``stmap``) raise `DirectiveError`, which the API reports as a
400, so a typo never silently turns into a normal reply. The first other bare word starts the
message. docs/simulator.md lists every key.
"""

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

PREFIX = "/sim"
MIDWAY = -1  # fault position meaning "after half of the reply's deltas"
_HEAD = re.compile(r"^\s*/sim(?=\s|$)")


class DirectiveError(ValueError):
    """A directive the simulator does not understand; reported as HTTP 400."""


@dataclass(frozen=True)
class Directives:
    tokens: int | None = None
    rate: float | None = None
    drop_after: int | None = None
    status: int | None = None
    times: int | None = None
    error_event: int | None = None
    fail: int | None = None
    malformed: int | None = None
    stall: float | None = None
    code: bool = False
    stamp: bool = False
    first_token_delay: float | None = None
    refuse: bool = False
    reasoning: bool = False
    context: int | None = None
    nul: bool = False


def _int(low: int, high: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        value = int(raw)
        if not low <= value <= high:
            raise ValueError(f"must be between {low} and {high}")
        return value

    return parse


def _float(low: float, high: float) -> Callable[[str], float]:
    def parse(raw: str) -> float:
        value = float(raw)
        if not low <= value <= high:  # also rejects nan
            raise ValueError(f"must be between {low:g} and {high:g}")
        return value

    return parse


def _status(raw: str) -> int:
    if raw not in {"429", "500", "503"}:
        raise ValueError("must be 429, 500 or 503")
    return int(raw)


# key -> (field, parser of the value, value when written as a bare flag; None = value required)
_KEYS: dict[str, tuple[str, Callable[[str], Any] | None, Any]] = {
    "tokens": ("tokens", _int(1, 100_000), None),
    "rate": ("rate", _float(0.1, 1_000_000), None),
    "drop-after": ("drop_after", _int(0, 1_000_000), None),
    "status": ("status", _status, None),
    "times": ("times", _int(1, 1_000_000), None),
    "error-event": ("error_event", _int(0, 1_000_000), MIDWAY),
    "fail": ("fail", _int(0, 1_000_000), MIDWAY),
    "malformed": ("malformed", _int(0, 1_000_000), MIDWAY),
    "stall": ("stall", _float(0, 3600), None),
    "code": ("code", None, True),
    "stamp": ("stamp", None, True),
    "first-token-delay": ("first_token_delay", _float(0, 3600), None),
    "refuse": ("refuse", None, True),
    "reasoning": ("reasoning", None, True),
    "context": ("context", _int(1, 10_000_000), None),
    "nul": ("nul", None, True),
}


def parse_directives(text: str) -> tuple[Directives, str]:
    """Return the directives at the start of `text` and the rest of the message."""
    head = _HEAD.match(text)
    if head is None:
        return Directives(), text
    directives, rest = Directives(), text[head.end() :]
    while (word := _next_word(rest)) is not None and _is_directive(word):
        directives = _apply(directives, word)
        rest = rest.lstrip()[len(word) :]
    return directives, rest.strip()


def _next_word(rest: str) -> str | None:
    words = rest.split(maxsplit=1)
    return words[0] if words else None


def _is_directive(word: str) -> bool:
    if "=" in word or word in _KEYS:
        return True
    if difflib.get_close_matches(word.lower(), _KEYS, n=1, cutoff=0.8):
        raise DirectiveError(f"Unknown /sim flag {word!r}; known keys: {', '.join(_KEYS)}.")
    return False


def _apply(directives: Directives, word: str) -> Directives:
    key, has_value, raw = word.partition("=")
    if key not in _KEYS:
        raise DirectiveError(f"Unknown /sim key {key!r}; known keys: {', '.join(_KEYS)}.")
    field, parser, bare = _KEYS[key]
    if not has_value:
        if bare is None:
            raise DirectiveError(f"/sim {key} needs a value, as in {key}=N.")
        return replace(directives, **{field: bare})
    if parser is None:
        raise DirectiveError(f"/sim {key} is a flag and takes no value.")
    try:
        return replace(directives, **{field: parser(raw)})
    except ValueError as exc:
        raise DirectiveError(f"Bad value for /sim {key}: {raw!r} ({exc}).") from None
