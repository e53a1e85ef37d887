"""A queued run's item on the worker queue: its id, and the context the web process that
queued it had just loaded (`store.RunContext`), so that the worker starts the run from it.

The web process builds the context anyway, in the request that starts the run. Loading it
again in the worker cost a join over four tables and two more queries per run: a tenth of a
worker's CPU at 200 streams. A context is taken as it was when the run was queued, as the
inline mode takes it; a run cancelled meanwhile is caught by the worker's claim
(`leases.RunHost`), and an item without a usable context (too large to queue, or queued by
an older version) is loaded from the database as before.

A worker of an earlier version drops an item it cannot read as a run id (the run then waits
for a sweep, RUN_LEASE_SECONDS at most): upgrade the workers before the web processes
(docs/deploy.md).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import fields
from typing import Any

from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS
from django.utils.dateparse import parse_datetime

from chat.models import Assistant
from chat.runs.store import RunContext

logger = logging.getLogger(__name__)

VERSION = 1
# Beyond this, the item is the run's id alone: a long history would make every queued
# run a large Redis value.
MAX_ITEM_BYTES = 64 * 1024


def item(run_id: int, ctx: RunContext | None) -> str:
    """The queue item for `run_id`, with `ctx` when it is given and small enough."""
    if ctx is None or _history_chars(ctx) > MAX_ITEM_BYTES:
        return str(run_id)  # not a long history encoded only to be dropped
    try:
        encoded = json.dumps(
            {"v": VERSION, "run": run_id, "context": _context_json(ctx)},
            default=_datetime_text,
            separators=(",", ":"),
        )
    except (TypeError, ValueError):
        logger.exception("run %s: its context cannot be queued; the worker loads it", run_id)
        return str(run_id)
    return encoded if len(encoded) <= MAX_ITEM_BYTES else str(run_id)


def _history_chars(ctx: RunContext) -> int:
    return sum(len(message.get("content") or "") for message in ctx.history)


def read(raw: bytes | str) -> tuple[int | None, RunContext | None]:
    """The run's id and its context from a queue item; (None, None) for an item that names
    no run, (id, None) when the context cannot be used."""
    try:
        value = json.loads(raw)
    except (TypeError, ValueError, UnicodeDecodeError):
        return None, None
    if isinstance(value, int) and not isinstance(value, bool):
        return value, None
    run_id = value.get("run") if isinstance(value, dict) else None
    if not isinstance(run_id, int) or isinstance(run_id, bool):
        return None, None
    return run_id, _context_or_none(run_id, value)


def _context_or_none(run_id: int, value: dict[str, Any]) -> RunContext | None:
    if value.get("v") != VERSION:
        return None
    try:
        ctx = _context_from(value["context"])
    except (KeyError, TypeError, ValueError, AttributeError, ValidationError):
        # ValidationError: a field's `to_python` refusing a value (an item queued before
        # the field's type changed).
        logger.warning("run %s: its queued context is unusable; loading it", run_id)
        return None
    return ctx if ctx.run_id == run_id else None


def _datetime_text(value: object) -> str:
    # Whole, to the microsecond (Django's JSON encoder keeps milliseconds).
    if isinstance(value, dt.datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _context_json(ctx: RunContext) -> dict[str, Any]:
    data = {f.name: getattr(ctx, f.name) for f in fields(ctx) if f.name != "assistant"}
    data["assistant"] = {
        f.attname: f.value_from_object(ctx.assistant) for f in Assistant._meta.concrete_fields
    }
    return data


def _context_from(data: dict[str, Any]) -> RunContext:
    values = dict(data)
    created = parse_datetime(values["user_created_at"])
    if created is None:
        raise ValueError("user_created_at")
    values["user_created_at"] = created
    values["assistant"] = _assistant_from(values["assistant"])
    return RunContext(**values)


def _assistant_from(data: dict[str, Any]) -> Assistant:
    """The assistant as the run saw it (its overrides applied), as if read from the
    database: each field's value through the field's own conversion."""
    concrete = Assistant._meta.concrete_fields
    values = [f.to_python(data[f.attname]) for f in concrete]
    return Assistant.from_db(DEFAULT_DB_ALIAS, [f.attname for f in concrete], values)
