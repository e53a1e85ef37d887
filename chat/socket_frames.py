"""What a browser sends over a thread's socket, read strictly (docs/protocol.md).

A frame is a JSON object. Python's JSON reader also takes `NaN` and `Infinity` (and numbers
such as 1e999, which it reads as infinity), and raises RecursionError, not ValueError, on deep
nesting: each of those is "not a frame" here, answered with a `bad_frame` error, never a
traceback that closes the socket. Ids and seqs are whole numbers that fit the database's
64-bit integer columns; a bigger one would fail in the database driver instead.
"""

from __future__ import annotations

import json
import math
from typing import Any
from urllib.parse import parse_qs

MAX_WHOLE_NUMBER = 2**63 - 1  # the largest id the database stores


def parse_frame(raw: str) -> dict[str, Any] | None:
    """The frame as a dict; None when it is not a JSON object of finite numbers."""
    try:
        frame = json.loads(raw, parse_constant=_not_a_number, parse_float=_finite)
    except (ValueError, RecursionError):
        return None
    return frame if isinstance(frame, dict) else None


def resume_query(query_string: bytes) -> tuple[int | None, int | None] | None:
    """(run_id, after_seq) of a socket URL's `?run_id=R&after_seq=N`, each None when it is not
    a whole number; None when the URL asks for no resume. A missing after_seq means 0."""
    query = parse_qs(query_string.decode("latin-1"), keep_blank_values=True)
    if "run_id" not in query and "after_seq" not in query:
        return None
    return whole_number(query.get("run_id")), whole_number(query.get("after_seq", ["0"]))


def whole_number(value: Any) -> int | None:
    """`value` as an id or a seq (an int, or its digits from a query string); None otherwise."""
    if isinstance(value, list):  # parse_qs gives every query parameter as a list
        value = value[0] if value else None
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value) if len(value) <= len(str(MAX_WHOLE_NUMBER)) else None
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if 0 <= value <= MAX_WHOLE_NUMBER else None


def _not_a_number(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"{text} is out of range")
    return number
